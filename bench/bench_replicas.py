"""Evaluations per second with 1, 2 and 3 replicas on one Redis, and Redis round trips per
evaluation, end to end: `coi-bot serve` processes with REDIS_URL against the simulator.

    uv run python bench/bench_replicas.py [--prs 150] [--replicas 1 2 3] [--workers 8]

Starts its own redis-server on a free loopback port (no persistence; stopped at the end). A
round-robin door hands each signed delivery to the next replica; whichever replica reads it from
the shared stream evaluates it under the PR's lease. Round trips are the replicas' own count
(coi_redis_commands_total, summed over replicas, over the timed burst) divided by the
evaluations they ran (coi_evaluations_total); idle blocking reads and stale claims are included.
On 2 cores the rate is expected flat: the replicas share the CPU with the simulator.
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
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from githubsim.simulator import GitHubSimulator  # noqa: E402

from bot.affiliations.loader import load_map_file  # noqa: E402
from bot.demo import OWNER, choose_cast, seed_repository  # noqa: E402
from bot.stage import (  # noqa: E402
    APP_ID,
    BUNDLED_MAP,
    BotProcess,
    Door,
    generate_app_key,
    labeled_payload,
    open_reviewed_pulls,
)

SECRET = "bench-secret"
QUIET = {"COI_RECONCILE_MINUTES": "60", "COI_REDELIVER_MINUTES": "60"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def metric(session: aiohttp.ClientSession, url: str, name: str) -> float:
    async with session.get(f"{url}/metrics") as response:
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


async def by_operation(
    bots: list[BotProcess], metric_name: str = "coi_redis_commands_total"
) -> Counter[str]:
    """Redis commands (or errors) per operation, summed over the replicas."""
    counts: Counter[str] = Counter()
    async with aiohttp.ClientSession() as session:
        for bot in bots:
            async with session.get(f"{bot.url}/metrics") as response:
                text = await response.text()
            for line in text.splitlines():
                if line.startswith(metric_name + "{"):
                    labels, value = line.rsplit(" ", 1)
                    counts[labels.split('"')[1]] += int(float(value))
    return counts


async def totals(bots: list[BotProcess]) -> tuple[float, float]:
    """(Redis commands, evaluations) summed over the replicas."""
    async with aiohttp.ClientSession() as session:
        commands = [await metric(session, b.url, "coi_redis_commands_total") for b in bots]
        evaluations = [await metric(session, b.url, "coi_evaluations_total") for b in bots]
    return sum(commands), sum(evaluations)


async def run(replicas: int, prs: int, workers: int, redis_url: str) -> tuple[float, float]:
    loaded = load_map_file(BUNDLED_MAP)
    assert loaded.map is not None
    cast = choose_cast(loaded.map, today=datetime.now(UTC))
    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=SECRET)
    await sim.start()
    env = {**QUIET, "REDIS_URL": redis_url, "COI_WORKERS": str(workers)}
    bots = [
        BotProcess(sim, private_key_pem=private_pem, webhook_secret=SECRET, env=env)
        for _ in range(replicas)
    ]
    door = Door()
    try:
        await asyncio.gather(*(bot.start(healthy_within=120) for bot in bots))
        door.targets = [f"{bot.url}/webhook" for bot in bots]
        sim.webhook_url = None  # the PRs exist before the App is installed: nothing announced
        repo_name = seed_repository(sim, loaded.map, install=False)
        numbers = await open_reviewed_pulls(
            sim, repo_name, author=cast.author, reviewer=cast.colleague, count=prs + 1
        )
        installation = sim.add_installation(OWNER)
        sim.webhook_url = await door.start()

        def payload(number: int) -> dict[str, object]:
            return labeled_payload(
                sim, repo_name, number, installation=installation, sender=cast.author
            )

        # Every replica warms its token and map before the clock: one PR each.
        warm = [numbers.pop(0) for _ in range(1)]
        for number in warm:
            for _ in bots:
                status = await sim.deliver("pull_request", payload(number))
                assert status == 202, (status, sim.deliveries[-1].response_body)
        deadline = time.perf_counter() + 60
        while len(sim.check_run_store) < len(warm):
            if time.perf_counter() > deadline:
                raise RuntimeError("the warm-up PR was not judged in 60 s")
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)
        commands_before, evaluations_before = await totals(bots)
        operations_before = await by_operation(bots)
        errors_before = await by_operation(bots, "coi_redis_errors_total")
        started = time.perf_counter()
        statuses = await asyncio.gather(*(sim.deliver("pull_request", payload(n)) for n in numbers))
        assert set(statuses) == {202}, statuses
        while len(sim.check_run_store) - len(warm) < prs:
            if time.perf_counter() - started > 180:
                raise RuntimeError(f"only {len(sim.check_run_store)} PRs judged in 180 s")
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        # a check run is written before its evaluation is counted: wait for the count
        while True:
            commands_after, evaluations_after = await totals(bots)
            evaluations = evaluations_after - evaluations_before
            if evaluations >= prs or time.perf_counter() - started > 180:
                break
            await asyncio.sleep(0.05)
        operations = await by_operation(bots)
        operations.subtract(operations_before)
        print("  redis commands in the burst:", dict(sorted(operations.items())))
        errors = await by_operation(bots, "coi_redis_errors_total")
        errors.subtract(errors_before)
        # a timeout (0.5 s) on a starved CPU counts here: that delivery went the in-memory way
        print("  redis errors in the burst:", {op: n for op, n in sorted(errors.items()) if n})
        print(
            f"replicas: {replicas}; PRs: {prs}; evaluations run: {evaluations:.0f}; "
            f"requests GitHub would refuse: {len(sim.violations)}"
        )
        return prs / elapsed, (commands_after - commands_before) / max(evaluations, 1)
    finally:
        await asyncio.gather(*(bot.stop() for bot in bots))
        await door.close()
        await sim.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=150)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed: apt-get install redis-server")
    results = []
    for count in args.replicas:
        with tempfile.TemporaryDirectory() as directory:
            port = free_port()
            server = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", directory],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                time.sleep(0.3)
                url = f"redis://127.0.0.1:{port}"
                results.append((count, *asyncio.run(run(count, args.prs, args.workers, url))))
            finally:
                server.terminate()
                server.wait()
    print(f"{'replicas':>8} {'evaluations/s':>14} {'redis round trips/evaluation':>29}")
    for count, rate, trips in results:
        print(f"{count:>8} {rate:>14.0f} {trips:>29.1f}")


if __name__ == "__main__":
    main()
