"""Evidence against the map costs no request: evaluations with and without it, end to end.

The same burst as bench_evaluations (signed webhooks -> `coi-bot serve` in its own process -> one
GraphQL snapshot -> verdict -> check run -> reviewer request) is run twice on fresh simulators:

- without: `policy.evidence: ignore`, and nobody's profile shows a company or an organization;
- with: `policy.evidence: warn`, every profile shows a company and public organizations, and the
  approving colleague's profile names a company the map does not give them (synthetic data), so
  every check run carries a "The map may be out of date" section.

Profiles are read inside the one snapshot query in both cases, so the requests per evaluation
must be equal; the time per evaluation must stay within 10 %.

    uv run python bench/bench_evidence.py [--prs 200] [--workers 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from githubsim.simulator import GitHubSimulator

from bot.affiliations.index import AffiliationMap
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

SECRET = "bench-secret"
TIME_TOLERANCE = 0.10


def map_with_evidence(policy: str, folder: Path) -> Path:
    """The bundled map with `policy.evidence` set (its policy block ends the file)."""
    text = BUNDLED_MAP.read_text(encoding="utf-8").rstrip("\n") + f"\n  evidence: {policy}\n"
    path = folder / f"affiliations-{policy}.yml"
    path.write_text(text, encoding="utf-8")
    return path


def show_profiles(
    sim: GitHubSimulator, amap: AffiliationMap, colleague: str, day: datetime
) -> None:
    """Every person's profile shows their mapped company; the colleague's shows another one."""
    names = sorted(amap.company_name(c) for c in amap.document.companies)
    for login in amap.document.people:
        mapped = sorted(amap.company_name(c) for c in amap.companies_of(login, day.date()))
        company = mapped[0] if mapped else None
        if login == colleague:
            company = next(name for name in names if name not in mapped)
        sim.set_profile(login, company=company, organizations=["StackStorm", f"{login}-lab"])


async def run(evidence: str, map_path: Path, prs: int, workers: int) -> tuple[float, float]:
    """(milliseconds per evaluation, GitHub requests per evaluation) for one burst."""
    loaded = load_map_file(map_path)
    assert loaded.map is not None
    today = datetime.now(UTC)
    cast = choose_cast(loaded.map, today=today)
    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=SECRET)
    await sim.start()
    bot = BotProcess(
        sim,
        private_key_pem=private_pem,
        webhook_secret=SECRET,
        bundled_map=map_path,
        env={"COI_WORKERS": str(workers)},
    )
    try:
        await bot.start()
        repo_name = seed_repository(sim, loaded.map, install=False)
        if evidence != "ignore":
            show_profiles(sim, loaded.map, cast.colleague, today)
        numbers = await open_reviewed_pulls(  # the App is not installed yet: nothing announced
            sim, repo_name, author=cast.author, reviewer=cast.colleague, count=prs + 1
        )
        installation = sim.add_installation(OWNER)

        def payload(number: int) -> dict[str, object]:
            return labeled_payload(
                sim, repo_name, number, installation=installation, sender=cast.author
            )

        warm_up = numbers.pop(0)  # token, map and the simulator's schema, before the clock
        assert await sim.deliver("pull_request", payload(warm_up)) == 202
        deadline = time.perf_counter() + 60
        while not sim.check_run_store:
            if time.perf_counter() > deadline:
                raise RuntimeError("the warm-up PR was not judged in 60 s")
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.5)  # its reviewer request lands before the count starts
        sim.reset_calls()
        started = time.perf_counter()
        statuses = await asyncio.gather(*(sim.deliver("pull_request", payload(n)) for n in numbers))
        assert set(statuses) == {202}, statuses
        while len(sim.check_run_store) - 1 < prs:
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"only {len(sim.check_run_store) - 1} of {prs} PRs judged")
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.5)  # the last reviewer requests, written after the check runs
        summaries = [run.summary or "" for run in sim.check_run_store.values()]
        shown = sum("The map may be out of date" in summary for summary in summaries)
        expected = 0 if evidence == "ignore" else prs + 1
        assert shown == expected, f"{shown} check runs show the section, expected {expected}"
        assert sim.violations == [], sim.violations
        return elapsed / prs * 1000, len(sim.calls) / prs
    finally:
        await bot.stop()
        await sim.close()


async def measure(prs: int, workers: int, rounds: int) -> dict[str, tuple[float, float]]:
    best: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        maps = {policy: map_with_evidence(policy, Path(folder)) for policy in ("ignore", "warn")}
        for _ in range(rounds):  # alternate, so that a noisy moment hits both alike
            for policy, path in maps.items():
                ms, requests = await run(policy, path, prs, workers)
                print(f"  {policy:>6}: {ms:.2f} ms per evaluation, {requests:.2f} requests each")
                if policy not in best or ms < best[policy][0]:
                    best[policy] = (ms, requests)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    best = asyncio.run(measure(args.prs, args.workers, args.rounds))
    (without_ms, without_requests), (with_ms, with_requests) = best["ignore"], best["warn"]
    print(f"without evidence: {without_ms:.2f} ms per evaluation, {without_requests:.2f} requests")
    print(f"with evidence:    {with_ms:.2f} ms per evaluation, {with_requests:.2f} requests")
    same = with_requests == without_requests
    ratio = with_ms / without_ms - 1
    within = ratio <= TIME_TOLERANCE
    print(f"requests per evaluation equal: {'PASS' if same else 'FAIL'}")
    print(
        f"time per evaluation {ratio:+.1%} (limit +{TIME_TOLERANCE:.0%}): "
        f"{'PASS' if within else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
