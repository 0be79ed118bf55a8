"""Evaluations per second, end to end: `coi-bot serve` in its own process judging PRs that the
simulator holds, driven by signed webhooks, over loopback HTTP.

Each evaluation is the production path: webhook -> queue -> installation token (cached) -> the map
(ETag) -> ONE GraphQL snapshot -> verdict -> check-run write -> reviewer request when one is due.
The simulator runs in this process and the bot in another, as GitHub and the bot do.

    uv run python bench/bench_evaluations.py [--prs 300] [--workers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bot.affiliations.loader import load_map_file
from bot.demo import OWNER, REPO, choose_cast, seed_repository
from bot.sim.harness import APP_ID, BUNDLED_MAP, generate_app_key
from bot.sim.simulator import GitHubSimulator

TARGET_PER_SECOND = 100.0
SECRET = "bench-secret"
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if process.returncode is not None:
                raise RuntimeError("the bot exited at start")
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("the bot did not become healthy")


async def run(prs: int, workers: int) -> tuple[float, int]:
    loaded = load_map_file(BUNDLED_MAP)
    assert loaded.map is not None
    cast = choose_cast(loaded.map, today=datetime.now(UTC))
    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=SECRET)
    await sim.start()
    port = free_port()
    env = {
        **os.environ,
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_PRIVATE_KEY": private_pem,
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "GITHUB_API_URL": sim.url,
        "GITHUB_GRAPHQL_URL": sim.graphql_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "COI_MAP": str(BUNDLED_MAP),
        "COI_WORKERS": str(workers),
    }
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url, bot)
        sim.webhook_url = f"{url}/webhook"
        repo_name = seed_repository(sim, loaded.map, install=False)
        numbers = []
        for i in range(prs):  # the App is not installed yet: nothing is announced
            number = await sim.open_pull_request(
                repo_name,
                author=cast.author,
                title=f"Change {i}",
                files={f"st2common/st2common/mod{i}.py": "x = 1\n" * (i % 40 + 1)},
            )
            await sim.submit_review(repo_name, number, reviewer=cast.colleague)
            numbers.append(number)
        installation = sim.add_installation(OWNER)
        repo = sim.find_repo(OWNER, REPO)
        assert repo is not None

        def payload(number: int) -> dict[str, object]:
            pull = sim.pull(repo_name, number)
            return {
                "action": "labeled",
                "number": number,
                "label": {"name": "bench"},
                "pull_request": sim.pull_json(repo, pull),
                "repository": sim.repo_json(repo),
                "installation": {"id": installation},
                "sender": {"login": cast.author},
            }

        sim_cpu_before = time.process_time()
        started = time.perf_counter()
        statuses = await asyncio.gather(*(sim.deliver("pull_request", payload(n)) for n in numbers))
        assert set(statuses) == {202}, statuses
        while True:
            done = len(sim.check_run_store)  # one run per PR; cheap to read while it works
            if done == prs:
                break
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"only {done} of {prs} PRs were judged in 120 s")
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        sim_cpu = time.process_time() - sim_cpu_before
        print(f"simulator CPU per evaluation: {sim_cpu / prs * 1000:.1f} ms")
        snapshots = sum(1 for c in sim.calls if c.query_name == "Snapshot")
        print(f"PRs: {prs}; GraphQL snapshots: {snapshots}; tokens minted: {sim.tokens_minted}")
        print(f"requests GitHub would refuse: {len(sim.violations)}")
        return prs / elapsed, snapshots
    finally:
        bot.terminate()
        await asyncio.wait_for(bot.wait(), timeout=15)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"bot CPU in all (start-up included): {children.ru_utime + children.ru_stime:.2f} s")
        await sim.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    rate, _ = asyncio.run(run(args.prs, args.workers))
    verdict = "PASS" if rate >= TARGET_PER_SECOND else "FAIL"
    print(f"evaluations per second: {rate:.0f} (target >= {TARGET_PER_SECOND:.0f}): {verdict}")


if __name__ == "__main__":
    main()
