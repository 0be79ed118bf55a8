"""Latency from a review to its check, end to end: `coi-bot serve` in its own process, the
simulator in this one, over loopback HTTP.

For each of N pull requests (a major change by a TSC member), two reviews are submitted one after
the other, each a signed `pull_request_review` (submitted) webhook:

- a colleague of the author approves: the bot writes the check and requests an independent
  reviewer (the request path);
- that reviewer approves: the bot writes the passing check and asks nobody (the common path).

The latency of one review is the time from sending its webhook to the simulator answering the
check-run write. Then 50 webhooks on one PR in one burst, counting its evaluations (GraphQL
snapshots). The GitHub calls of each path are printed per evaluation, by operation, from the
simulator's call log.

    uv run python bench/bench_latency.py [--prs 100] [--workers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from githubsim.simulator import Call, GitHubSimulator

from bot.affiliations.loader import load_map_file
from bot.demo import OWNER, REPO, choose_cast, seed_repository
from bot.stage import APP_ID, BUNDLED_MAP, BotProcess, generate_app_key

TARGET_P50_MS = 50.0
TARGET_P99_MS = 250.0
BURST = 50
MAX_BURST_EVALUATIONS = 2
SECRET = "bench-secret"
QUIET_SECONDS = 0.1  # the bot has finished a step when GitHub hears nothing from it this long
STEP_TIMEOUT = 30.0
CHECK_RUN_WRITES = {"checks/create", "checks/update"}


class TimedCalls(list[Call]):
    """The simulator's call log, with the moment each call was answered."""

    def __init__(self) -> None:
        super().__init__()
        self.answered_at: list[float] = []

    def append(self, call: Call) -> None:
        self.answered_at.append(time.perf_counter())
        super().append(call)

    def clear(self) -> None:
        self.answered_at.clear()
        super().clear()


@dataclass
class Step:
    latency_ms: float
    calls: list[Call]


def operation(call: Call) -> str:
    if call.kind == "graphql":
        return f"GraphQL {call.query_name}"
    return f"{call.method} {call.operation_id}"


def timed_calls(sim: GitHubSimulator) -> TimedCalls:
    calls = sim.calls
    assert isinstance(calls, TimedCalls), "run() gives the simulator a TimedCalls log"
    return calls


async def quiet(calls: TimedCalls, since: int) -> None:
    """Wait until the bot has made a call after `since` and then none for QUIET_SECONDS."""
    deadline = time.perf_counter() + STEP_TIMEOUT
    seen = since
    last_change = time.perf_counter()
    while True:
        now = time.perf_counter()
        if len(calls) != seen:
            seen, last_change = len(calls), now
        elif seen > since and now - last_change >= QUIET_SECONDS:
            return
        if now > deadline:
            raise RuntimeError(f"the bot did not finish a step within {STEP_TIMEOUT:.0f} s")
        await asyncio.sleep(0.002)


async def timed_review(sim: GitHubSimulator, repo: str, number: int, reviewer: str) -> Step:
    calls = timed_calls(sim)
    since = len(calls)
    sent = time.perf_counter()
    await sim.submit_review(repo, number, reviewer=reviewer)
    await quiet(calls, since)
    step_calls = calls[since:]
    written = [
        at
        for call, at in zip(step_calls, calls.answered_at[since:], strict=True)
        if call.operation_id in CHECK_RUN_WRITES
    ]
    if not written:
        raise RuntimeError(f"the review on #{number} left the check as it was")
    return Step((written[0] - sent) * 1000, step_calls)


def per_evaluation(steps: Iterable[Step]) -> tuple[int, dict[str, float]]:
    counts: Counter[str] = Counter()
    evaluations = 0
    for step in steps:
        counts.update(operation(call) for call in step.calls)
        evaluations += sum(1 for call in step.calls if call.query_name == "Snapshot")
    return evaluations, {name: n / max(evaluations, 1) for name, n in sorted(counts.items())}


def print_calls(path: str, steps: list[Step]) -> None:
    evaluations, per = per_evaluation(steps)
    print(f"GitHub calls per evaluation, {path} ({len(steps)} reviews, {evaluations} evaluations):")
    for name, mean in per.items():
        print(f"  {mean:5.2f}  {name}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def burst_evaluations(sim: GitHubSimulator, repo_name: str, number: int) -> int:
    calls = timed_calls(sim)
    repo = sim.find_repo(OWNER, REPO)
    assert repo is not None
    installation = sim.installation_for(repo)
    assert installation is not None
    pull = sim.pull(repo_name, number)
    payload: dict[str, Any] = {
        "action": "labeled",
        "number": number,
        "label": {"name": "bench"},
        "pull_request": sim.pull_json(repo, pull),
        "repository": sim.repo_json(repo),
        "installation": {"id": installation.id},
        "sender": {"login": pull.author},
    }
    since = len(calls)
    statuses = await asyncio.gather(*(sim.deliver("pull_request", payload) for _ in range(BURST)))
    assert set(statuses) == {202}, statuses
    await quiet(calls, since)
    return sum(1 for call in calls[since:] if call.query_name == "Snapshot")


async def run(prs: int, workers: int) -> tuple[list[Step], list[Step], int]:
    loaded = load_map_file(BUNDLED_MAP)
    assert loaded.map is not None
    cast = choose_cast(loaded.map, today=datetime.now(UTC))
    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=SECRET)
    sim.calls = TimedCalls()
    await sim.start()
    bot = BotProcess(
        sim, private_key_pem=private_pem, webhook_secret=SECRET, env={"COI_WORKERS": str(workers)}
    )
    try:
        await bot.start()
        repo_name = seed_repository(sim, loaded.map)
        numbers = []
        for i in range(prs + 1):
            since = len(sim.calls)
            numbers.append(
                await sim.open_pull_request(
                    repo_name,
                    author=cast.author,
                    title=f"Change {i}",
                    files={cast.major_path.replace(".py", f"{i}.py"): "x = 1\n"},
                )
            )
            await quiet(timed_calls(sim), since)
        # The first review warms the bot's token and map and the simulator's GraphQL schema.
        warm_up = numbers.pop(0)
        await timed_review(sim, repo_name, warm_up, cast.colleague)
        requesting, common = [], []
        for number in numbers:
            requesting.append(await timed_review(sim, repo_name, number, cast.colleague))
            asked = sim.review_requests(repo_name, number)
            if len(asked) != 1:
                raise RuntimeError(f"#{number}: expected one requested reviewer, got {asked}")
            common.append(await timed_review(sim, repo_name, number, asked[0]))
        burst = await burst_evaluations(sim, repo_name, numbers[0])
        if sim.violations:
            print(f"requests GitHub would refuse: {len(sim.violations)}")
        return requesting, common, burst
    finally:
        await bot.stop()
        await sim.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    requesting, common, burst = asyncio.run(run(args.prs, args.workers))
    print_calls("common path (no reviewer needed)", common)
    print_calls("request path (the bot requests a reviewer)", requesting)
    verdicts = [
        print_latency(label, steps)
        for label, steps in (
            ("common path", common),
            ("request path", requesting),
            ("both", [*common, *requesting]),
        )
    ]
    burst_ok = burst <= MAX_BURST_EVALUATIONS
    print(
        f"evaluations of a {BURST}-event burst on one PR: {burst} "
        f"(target <= {MAX_BURST_EVALUATIONS}): {'PASS' if burst_ok else 'FAIL'}"
    )
    print(f"overall: {'PASS' if all(verdicts) and burst_ok else 'FAIL'}")


def print_latency(label: str, steps: list[Step]) -> bool:
    values = [step.latency_ms for step in steps]
    p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
    passed = p50 < TARGET_P50_MS and p99 < TARGET_P99_MS
    print(
        f"review -> check, {label} ({len(values)} reviews): "
        f"p50 {p50:.1f} ms (target < {TARGET_P50_MS:.0f}), "
        f"p99 {p99:.1f} ms (target < {TARGET_P99_MS:.0f}): {'PASS' if passed else 'FAIL'}"
    )
    return passed


if __name__ == "__main__":
    main()
