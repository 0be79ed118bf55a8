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
import resource
import time
from datetime import UTC, datetime

from githubsim.simulator import GitHubSimulator

from bot.affiliations.loader import load_map_file
from bot.demo import OWNER, choose_cast, seed_repository
from bot.stage import (
    APP_ID,
    BUNDLED_MAP,
    BotProcess,
    generate_app_key,
    labeled_payload,
    open_reviewed_pulls,
)

TARGET_PER_SECOND = 100.0
SECRET = "bench-secret"


async def run(prs: int, workers: int) -> tuple[float, int]:
    loaded = load_map_file(BUNDLED_MAP)
    assert loaded.map is not None
    cast = choose_cast(loaded.map, today=datetime.now(UTC))
    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=SECRET)
    await sim.start()
    bot = BotProcess(
        sim,
        private_key_pem=private_pem,
        webhook_secret=SECRET,
        env={"COI_WORKERS": str(workers)},
    )
    try:
        await bot.start()
        repo_name = seed_repository(sim, loaded.map, install=False)
        numbers = await open_reviewed_pulls(  # the App is not installed yet: nothing announced
            sim, repo_name, author=cast.author, reviewer=cast.colleague, count=prs + 1
        )
        installation = sim.add_installation(OWNER)

        def payload(number: int) -> dict[str, object]:
            return labeled_payload(
                sim, repo_name, number, installation=installation, sender=cast.author
            )

        # A running bot holds its token and map, and GitHub has no cold start (the simulator
        # builds GitHub's schema on its first GraphQL request): judge one PR before the clock.
        warm_up = numbers.pop(0)
        assert await sim.deliver("pull_request", payload(warm_up)) == 202
        warm_deadline = time.perf_counter() + 60
        while not sim.check_run_store:
            if time.perf_counter() > warm_deadline:
                raise RuntimeError("the warm-up PR was not judged in 60 s")
            await asyncio.sleep(0.005)

        sim_cpu_before = time.process_time()
        started = time.perf_counter()
        statuses = await asyncio.gather(*(sim.deliver("pull_request", payload(n)) for n in numbers))
        assert set(statuses) == {202}, statuses
        while True:
            done = len(sim.check_run_store) - 1  # one run per PR; cheap to read while it works
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
        await bot.stop()
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
