"""Round trips and time of one evaluation's coordination on Redis (issue 15).

    uv run python bench/bench_redis.py [--evaluations 2000]

Starts its own redis-server on a free loopback port (no persistence; stopped at the end) and
runs, per evaluation, what a replica asks Redis for one delivery: claim the delivery and append it
(one script), read it back, acknowledge and delete it, take the PR's lease, release it. Round
trips are the commands the Coordinator counted (coi_redis_commands_total); time is wall clock per
evaluation, sequential, so it is latency, not throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.metrics import Metrics  # noqa: E402
from bot.replicas import Acceptance, Coordinator, ReleaseOutcome  # noqa: E402

OPERATIONS = ("accept", "read", "ack", "acquire_pr", "release_pr")
BODY = b'{"action": "synchronize", "number": 7}' * 100  # ~4 KB, a small delivery


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def evaluation(coordinator: Coordinator, number: int) -> None:
    delivery = f"bench-{number}"
    accepted = await coordinator.deliveries.accept(
        "pull_request", delivery, BODY, body_guid=f"body-{delivery}", max_backlog=1000
    )
    assert accepted is Acceptance.KEPT
    [work] = await coordinator.stream.read("bench", count=1)
    assert work.delivery == delivery
    await coordinator.stream.ack([work.entry_id])
    pr = f"octo/widgets#{number % 500}"
    assert await coordinator.pr_leases.acquire(pr, "bench", 30_000)
    assert await coordinator.pr_leases.release(pr, "bench", 30_000) is ReleaseOutcome.RELEASED


def commands(metrics: Metrics) -> dict[str, float]:
    return {
        operation: metrics.registry.get_sample_value(
            "coi_redis_commands_total", {"operation": operation}
        )
        or 0.0
        for operation in OPERATIONS
    }


async def measure(url: str, evaluations: int) -> None:
    metrics = Metrics()
    coordinator = Coordinator.from_url(url, metrics=metrics)
    try:
        await evaluation(coordinator, -1)  # warm up: connect, load scripts, create the group
        before = commands(metrics)
        seconds = []
        for number in range(evaluations):
            started = time.perf_counter()
            await evaluation(coordinator, number)
            seconds.append(time.perf_counter() - started)
        after = commands(metrics)
    finally:
        await coordinator.aclose()
    per_operation = {op: (after[op] - before[op]) / evaluations for op in OPERATIONS}
    print(f"{evaluations} evaluations against redis-server on loopback")
    for operation, trips in per_operation.items():
        print(f"  {operation:<15} {trips:.2f} round trips")
    print(f"  {'total':<15} {sum(per_operation.values()):.2f} round trips per evaluation")
    ordered = sorted(seconds)
    print(
        f"  time per evaluation: median {statistics.median(seconds) * 1000:.3f} ms, "
        f"p99 {ordered[int(len(ordered) * 0.99)] * 1000:.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=2000)
    options = parser.parse_args()
    if options.evaluations <= 0:
        parser.error("--evaluations must be positive")
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        server = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        sys.exit("redis-server did not start")
                    time.sleep(0.02)
            asyncio.run(measure(f"redis://127.0.0.1:{port}", options.evaluations))
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
