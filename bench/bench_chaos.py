"""Replicas under fire, full size: 2,000 deliveries over 200 PRs to three `coi-bot serve`
processes on one Redis behind a round-robin door, `kill -9` of a random replica every few
seconds (started again), Redis restarted once (bot.chaos). Prints what was lost (nothing, or
it says FAIL), how long the work took to converge, and Redis's memory: bytes per pending
delivery, bytes and keys per delivery ID, and what is left once the work is done.

    uv run python bench/bench_chaos.py [--prs 200] [--events 10] [--kill-every 3]

Starts its own redis-server on a free loopback port with an append-only file (fsync always),
so that the restart keeps the stream; stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from githubsim.simulator import GitHubSimulator  # noqa: E402

from bot.chaos import MAP, SECRET, Chaos, ChaosReport, seed  # noqa: E402
from bot.stage import APP_ID, generate_app_key  # noqa: E402

PROBE_ENTRIES = 100


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Redis:
    def __init__(self, binary: str, directory: str) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", self.directory],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.process = None


async def bytes_per_pending_delivery(url: str, body: bytes) -> float:
    """What one unfinished delivery of this size costs in the stream (entry and its radix
    node share), measured on a scratch stream."""
    client = aioredis.Redis.from_url(url)
    try:
        for index in range(PROBE_ENTRIES):
            await client.xadd(
                "probe:work",
                {b"event": b"pull_request", b"delivery": f"{index:036d}".encode(), b"body": body},
            )
        size = int(await client.memory_usage("probe:work", samples=0) or 0)
        await client.delete("probe:work")
        return size / PROBE_ENTRIES
    finally:
        await client.aclose()


async def run(args: argparse.Namespace, redis: Redis) -> tuple[ChaosReport, float, int]:
    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=SECRET)
    await sim.start()
    seed(sim)
    with tempfile.TemporaryDirectory() as directory:
        bundled = Path(directory) / "bundled.yml"
        bundled.write_text(MAP)

        async def restart_redis() -> None:
            redis.stop()
            await asyncio.sleep(0.5)
            redis.start()

        chaos = Chaos(
            sim,
            redis_url=redis.url,
            restart_redis=restart_redis,
            private_key_pem=private_pem,
            bundled_map=bundled,
            graphql_delay_seconds=args.graphql_delay,
        )
        try:
            await chaos.start()
            report = await chaos.run(
                prs=args.prs,
                events_per_pr=args.events,
                kill_every_seconds=args.kill_every,
                converge_seconds=600.0,
            )
        finally:
            await chaos.close()
            await sim.close()
    body = max((d.body for d in sim.deliveries), key=len)
    return report, await bytes_per_pending_delivery(redis.url, body), len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=200)
    parser.add_argument("--events", type=int, default=10, help="deliveries per PR")
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds, on average")
    parser.add_argument("--graphql-delay", type=float, default=0.2, help="seconds per query")
    args = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed: apt-get install redis-server")
    with tempfile.TemporaryDirectory() as directory:
        redis = Redis(binary, directory)
        redis.start()
        try:
            report, pending_bytes, body_bytes = asyncio.run(run(args, redis))
        finally:
            redis.stop()
    print(f"PRs:                         {report.prs}")
    print(f"deliveries sent:             {report.deliveries}")
    print(f"  answers:                   {dict(sorted(report.statuses.items()))}")
    print(f"  refused (5xx or none):     {report.refused} (GitHub records them; redeliverer off)")
    print(f"replicas killed (kill -9):   {report.kills}")
    print(f"redis restarts:              {report.redis_restarts}")
    print(f"sending took:                {report.sending_seconds:.1f} s")
    print(f"converged after sending in:  {report.converged_seconds:.1f} s")
    print(f"wrong final checks:          {len(report.wrong_checks)} {report.wrong_checks or ''}")
    print(f"202 kept in memory:          {len(report.unclaimed)} (Redis slow or down: no claim)")
    print(f"PRs asked reviewers twice:   {len(report.duplicate_requests)}")
    print(f"stream entries left:         {report.stream_left}")
    print(f"most unfinished at once:     {report.memory_peak_backlog}")
    print(f"bytes per pending delivery:  {pending_bytes:.0f} (largest body {body_bytes} bytes)")
    print(f"keys per delivery ID:        1, {report.bytes_per_delivery_key:.0f} bytes, 3 days")
    print(f"delivery ID keys at the end: {report.delivery_keys}")
    print(f"other keys at the end:       {dict(sorted(report.other_keys.items()))}")
    growth = report.memory_after - report.memory_before
    print(
        f"redis used_memory:           {report.memory_before} -> {report.memory_after} bytes "
        f"({growth / max(report.delivery_keys, 1):.0f} bytes per delivery ID kept)"
    )
    print("PASS" if report.passed else "FAIL")


if __name__ == "__main__":
    main()
