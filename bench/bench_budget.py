"""Budget: what `coi-bot serve` spends of one installation's GitHub rate limits.

An organisation of `--repos` repositories x `--prs` open PRs is built in the simulator (which
charges GraphQL points by GitHub's formula and REST requests with free 304s), every PR's check
already current, as after the bot has judged everything. The real `coi-bot serve` then runs in
its own process, its reconciler every `--period` seconds. Measured, from the simulator's records:

1. the start cycle (every repository listed once);
2. a steady reconciler cycle (nothing happening), and per hour at the default 10-minute period;
3. a review event (its evaluation), and the reconciler cycle after it;
4. a full re-evaluation (a release with new verdict rules: every check's rules version is made
   old and the bot restarted), for `--minutes`, with the GraphQL budget set just above half its
   limit so that the reserve for live events is reached inside the window: check-run writes, REST
   secondary points and GraphQL points in any 60 s, and the lowest budget left.

Targets (PASS/FAIL): a steady reconciler at most 5 % of 5,000 points an hour; at most 1 point and
1 REST request per evaluation on the common path; a full re-evaluation never above the secondary
limits (900 REST points, 2,000 GraphQL points a minute) and never below half the primary budget.

    uv run python bench/bench_budget.py [--repos 100] [--prs 50] [--minutes 2] [--period 20]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from githubsim.simulator import Call, GitHubSimulator
from githubsim.state import CheckRun

from bot.affiliations.loader import load_map_file
from bot.demo import Cast, choose_cast
from bot.github.checks import RULES_VERSION, stamped_external_id
from bot.github.map_source import git_blob_sha
from bot.stage import APP_ID, BUNDLED_MAP, BotProcess, generate_app_key

SECRET = "bench-secret"
OWNER = "StackStorm"
PRIMARY_LIMIT = 5_000  # points (GraphQL) and requests (REST) an hour, one installation
STEADY_SHARE_TARGET = 0.05
REST_SECONDARY_PER_MINUTE = 900  # 1 per GET, 5 per write
GRAPHQL_SECONDARY_PER_MINUTE = 2_000
LIVE_RESERVE = 0.5
DEFAULT_PERIOD_MINUTES = 10
WRITES = ("POST", "PATCH", "PUT", "DELETE")
# What the reconciler sends; the rest after a webhook is the evaluation's.
RECONCILER_OPERATIONS = {
    "apps/list-installations",
    "apps/list-repos-accessible-to-installation",
    "pulls/list",
}
RECONCILER_QUERIES = {"MapBlobs", "OpenPullRequests"}


@dataclass(frozen=True, slots=True)
class Spent:
    points: int  # GraphQL points charged
    requests: int  # REST requests charged (a 304 is free)
    not_modified: int
    graphql_calls: int
    rest_calls: int

    @classmethod
    def of(cls, calls: Sequence[Call]) -> Spent:
        return cls(
            points=sum(c.points for c in calls if c.kind == "graphql"),
            requests=sum(c.points for c in calls if c.kind == "rest"),
            not_modified=sum(1 for c in calls if c.status == 304),
            graphql_calls=sum(1 for c in calls if c.kind == "graphql"),
            rest_calls=sum(1 for c in calls if c.kind == "rest"),
        )

    def line(self) -> str:
        return (
            f"{self.points:,} points ({self.graphql_calls:,} GraphQL calls), "
            f"{self.requests:,} REST requests ({self.rest_calls:,} calls, "
            f"{self.not_modified:,} answered 304)"
        )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def is_cycle_start(call: Call) -> bool:
    return call.operation_id == "apps/list-installations"


def cycle_starts(sim: GitHubSimulator, since: int) -> list[int]:
    return [i for i in range(since, len(sim.calls)) if is_cycle_start(sim.calls[i])]


async def wait_for(check: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {seconds:.0f} s")
        await asyncio.sleep(0.1)


async def quiet(sim: GitHubSimulator, *, seconds: float = 1.5, within: float = 120.0) -> None:
    """Until the simulator has answered nothing for `seconds`."""
    deadline = time.monotonic() + within
    seen, since = len(sim.calls), time.monotonic()
    while time.monotonic() - since < seconds and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        if len(sim.calls) != seen:
            seen, since = len(sim.calls), time.monotonic()


def seed_current_check(sim: GitHubSimulator, repo: str, number: int, *, name: str) -> None:
    """The run the bot would have written on the PR's head: completed, under today's rules,
    decided by the bundled map (its summary's last line names the map's blob)."""
    target = sim.repos[repo.lower()]
    head = sim.head_sha(repo, number)
    suite = sim.suite_for(target, head)
    now = sim.now()
    blob = git_blob_sha(BUNDLED_MAP.read_bytes())
    run = CheckRun(
        id=sim.next_id(),
        node_id=f"CR_{number}",
        repo=target.full_name,
        suite_id=suite.id,
        app_id=sim.app_id,
        name=name,
        head_sha=head,
        status="completed",
        conclusion="success",
        started_at=now,
        completed_at=now,
        external_id=stamped_external_id("seeded"),
        title="seeded",
        summary=f"Seeded.\n\nDecided by the map `config/affiliations.yml` at blob `{blob}` "
        "(bundled).",
    )
    sim.check_run_store[run.id] = run


async def build(sim: GitHubSimulator, cast: Cast, repos: int, prs: int) -> list[str]:
    loaded = load_map_file(BUNDLED_MAP)
    assert loaded.map is not None
    sim.add_installation(OWNER)
    for login, person in sorted(loaded.map.document.people.items()):
        sim.add_user(login, email=person.emails[0] if person.emails else None)
    names = [f"{OWNER}/repo{i:03}" for i in range(repos)]
    check_name = loaded.map.policy.check_name
    for full_name in names:
        sim.add_repo(OWNER, full_name.split("/")[1], files={"README.md": "# repo\n"})
        for login in loaded.map.tsc_members():
            sim.set_permission(full_name, login, "write")
        for i in range(prs):
            number = await sim.open_pull_request(
                full_name,
                author=cast.author,
                title=f"Change {i}",
                files={cast.major_path.replace("change.py", f"change{i}.py"): "x = 1\n"},
            )
            seed_current_check(sim, full_name, number, name=check_name)
    return names


def fresh_budgets(sim: GitHubSimulator) -> None:
    for installation in sim.installations:
        for resource in ("core", "graphql"):
            sim.set_rate_limit_remaining(installation, PRIMARY_LIMIT, resource=resource)


def independent_reviewer(cast: Cast) -> str:
    """A TSC member of another known company than the author's."""
    loaded = load_map_file(BUNDLED_MAP)
    assert loaded.map is not None
    today = datetime.now(UTC).date()
    for login in sorted(loaded.map.tsc_members()):
        companies = loaded.map.companies_of(login, today)
        if login != cast.author and companies and cast.company not in companies:
            return login
    raise RuntimeError("the bundled map has no TSC member outside the author's company")


async def review_event(
    sim: GitHubSimulator, repo: str, number: int, reviewer: str
) -> tuple[Spent, int]:
    """What the evaluation of one approval spends (reconciler calls meanwhile left out)."""
    before = len(sim.calls)
    await sim.submit_review(repo, number, reviewer=reviewer, state="APPROVED")
    await quiet(sim)
    calls = sim.calls[before:]
    evaluation = [
        c
        for c in calls
        if c.operation_id not in RECONCILER_OPERATIONS and c.query_name not in RECONCILER_QUERIES
    ]
    return Spent.of(evaluation), sum(1 for c in calls if c.query_name == "Snapshot")


def busiest_minute(calls: Sequence[Call], weight: Callable[[Call], int]) -> int:
    """The largest total of `weight` over the calls of any 60 s window."""
    best, start, total = 0, 0, 0
    for end, call in enumerate(calls):
        total += weight(call)
        while calls[start].at <= call.at - 60:
            total -= weight(calls[start])
            start += 1
        best = max(best, total)
        del end
    return best


async def run(args: argparse.Namespace) -> bool:
    loaded = load_map_file(BUNDLED_MAP)
    assert loaded.map is not None
    cast = choose_cast(loaded.map, today=datetime.now(UTC))
    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=SECRET)
    await sim.start()
    began = time.monotonic()
    names = await build(sim, cast, args.repos, args.prs)
    total_prs = args.repos * args.prs
    print(
        f"organisation: {args.repos} repositories x {args.prs} open PRs = {total_prs:,} PRs, "
        f"built in {time.monotonic() - began:.0f} s",
        flush=True,
    )
    sim.deliveries.clear()  # the PRs predate the App: no failed delivery to ask again
    fresh_budgets(sim)
    env = {
        "COI_RECONCILE_MINUTES": str(args.period / 60),
        "COI_REDELIVER_MINUTES": "600",
        "COI_RECONCILE_MAX_PER_CYCLE": str(total_prs),
    }
    bot = BotProcess(sim, private_key_pem=private_pem, webhook_secret=SECRET, env=env)
    results: list[tuple[str, bool]] = []
    try:
        mark = len(sim.calls)
        await bot.start(healthy_within=120)
        # 1 and 2: the start cycle, then a steady one.
        await wait_for(
            lambda: len(cycle_starts(sim, mark)) >= 3,
            seconds=args.period * 3 + 600,
            what="three reconciler cycles",
        )
        first, second, third = cycle_starts(sim, mark)[:3]
        start = Spent.of(sim.calls[first:second])
        steady = Spent.of(sim.calls[second:third])
        per_hour = 60 // DEFAULT_PERIOD_MINUTES
        steady_share = steady.points * per_hour / PRIMARY_LIMIT
        print(f"start cycle (every repository listed): {start.line()}")
        print(f"steady cycle: {steady.line()}")
        print(
            f"  per hour at one cycle every {DEFAULT_PERIOD_MINUTES} min: "
            f"{steady.points * per_hour:,} points ({steady_share:.2%} of {PRIMARY_LIMIT:,}), "
            f"{steady.requests * per_hour:,} REST requests "
            f"({steady.requests * per_hour / PRIMARY_LIMIT:.2%})"
        )
        ok = steady_share <= STEADY_SHARE_TARGET
        ok = ok and steady.requests * per_hour / PRIMARY_LIMIT <= STEADY_SHARE_TARGET
        results.append(("steady reconciler <= 5 % of the hour's budget", ok))

        # 3: review events and the cycle after them.
        await wait_for(
            lambda: len(cycle_starts(sim, third + 1)) >= 1,
            seconds=args.period + 600,
            what="the next cycle",
        )
        await quiet(sim)
        repo = names[0]
        for number, reviewer, who in (
            (1, independent_reviewer(cast), "an independent TSC member"),
            (2, cast.colleague, "a colleague: a reviewer is asked"),
        ):
            evaluation, snapshots = await review_event(sim, repo, number, reviewer)
            conclusion = sim.check_runs(repo, sim.head_sha(repo, number))[-1]["conclusion"]
            print(
                f"review event ({reviewer} approves {repo}#{number} by {cast.author}, {who}): "
                f"{snapshots} evaluation(s), {evaluation.line()}; check {conclusion}"
            )
            if number == 1:
                results.append(
                    (
                        "review event (common path): <= 1 point and 1 REST request",
                        snapshots == 1 and evaluation.points <= 1 and evaluation.requests <= 1,
                    )
                )
        after_review = len(sim.calls)
        await wait_for(
            lambda: len(cycle_starts(sim, after_review)) >= 2,
            seconds=args.period * 2 + 600,
            what="the cycle after the review",
        )
        one, two = cycle_starts(sim, after_review)[:2]
        print(f"reconciler cycle after the review: {Spent.of(sim.calls[one:two]).line()}")

        # 4: a release with new verdict rules: every check was written under older ones.
        await bot.stop()
        for check in sim.check_run_store.values():
            check.external_id = stamped_external_id("seeded", version=RULES_VERSION + "-old")
        sim.deliveries.clear()
        fresh_budgets(sim)
        headroom = int(140 * max(args.minutes - 0.25, 0.5))
        reserve_edge = int(PRIMARY_LIMIT * LIVE_RESERVE) + headroom
        for installation in sim.installations:
            sim.set_rate_limit_remaining(installation, reserve_edge, resource="graphql")
        lowest = {"graphql": reserve_edge, "core": PRIMARY_LIMIT}

        async def sample() -> None:
            while True:
                for installation in sim.installations:
                    for resource in lowest:
                        left = sim.rate_limit_status(installation, resource)["remaining"]
                        lowest[resource] = min(lowest[resource], left)
                await asyncio.sleep(0.2)

        sampler = asyncio.create_task(sample())
        mark = len(sim.calls)
        began = time.monotonic()
        await bot.start(healthy_within=120)
        await asyncio.sleep(args.minutes * 60)
        sampler.cancel()
        window = sim.calls[mark:]
        elapsed = time.monotonic() - began
        evaluations = sum(1 for c in window if c.query_name == "Snapshot")
        writes = busiest_minute(
            window, lambda c: int(c.kind == "rest" and c.method in WRITES and c.status < 400)
        )
        rest_secondary = busiest_minute(
            window, lambda c: (5 if c.method in WRITES else 1) if c.kind == "rest" else 0
        )
        graphql_minute = busiest_minute(window, lambda c: c.points if c.kind == "graphql" else 0)
        spent_all = Spent.of(window)
        print(
            f"full re-evaluation (new rules), {elapsed / 60:.1f} min observed, the GraphQL budget "
            f"starting at {reserve_edge:,} of {PRIMARY_LIMIT:,}: {evaluations:,} evaluations, "
            f"{spent_all.line()}"
        )
        print(
            f"  busiest minute: {writes} check-run writes, {rest_secondary} REST secondary points"
            f" (limit {REST_SECONDARY_PER_MINUTE}), {graphql_minute} GraphQL points (limit "
            f"{GRAPHQL_SECONDARY_PER_MINUTE:,})"
        )
        print(
            f"  lowest budget left: {lowest['graphql']:,} points, {lowest['core']:,} requests "
            f"(floor {int(PRIMARY_LIMIT * LIVE_RESERVE):,} each)"
        )
        per_pr = (spent_all.points / evaluations) if evaluations else 0.0
        hours = total_prs * per_pr / (PRIMARY_LIMIT * LIVE_RESERVE)
        print(
            f"  whole organisation: {total_prs:,} PRs at 140 a minute = "
            f"{total_prs / 140:.0f} min of pacing; at {per_pr:.2f} points per evaluation "
            f"(listing included) ~{total_prs * per_pr:,.0f} points: {hours:.1f} hour(s) of the "
            "half-budget left to re-evaluations"
        )
        results.append(
            (
                "full re-evaluation within the secondary limits",
                rest_secondary <= REST_SECONDARY_PER_MINUTE
                and graphql_minute <= GRAPHQL_SECONDARY_PER_MINUTE,
            )
        )
        floor = PRIMARY_LIMIT * LIVE_RESERVE
        results.append(
            (
                "full re-evaluation never below half the primary budget",
                lowest["graphql"] >= floor and lowest["core"] >= floor,
            )
        )
    finally:
        await bot.stop()
        await sim.close()
    for name, ok in results:
        print(f"{verdict(ok)}: {name}")
    return all(ok for _, ok in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--prs", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=2.0, help="full re-evaluation window")
    parser.add_argument("--period", type=float, default=20.0, help="reconciler period, seconds")
    args = parser.parse_args()
    raise SystemExit(0 if asyncio.run(run(args)) else 1)


if __name__ == "__main__":
    main()
