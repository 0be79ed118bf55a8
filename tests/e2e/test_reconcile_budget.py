"""The reconciler within GitHub's budget: a quiet installation costs nothing, changes are found
where they happened, many repairs are paced, live events keep half the hour, GitHub's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.github.pacing import EVALUATION_BURST, RESERVE_MARGIN, Pacer
from bot.jobs.reconciler import QUEUE_BUSY_WAIT, Reconciler
from bot.stage import Stage
from bot.web.app import REPAIR_KEY
from bot.web.state import METRICS_KEY, SCHEDULER_KEY
from tests.e2e.conftest import MAP, OWNER, REPO, Clock, count, latest_check, seed

MAP_PATH = ".github/affiliations.yml"
MAP_WITHOUT_MAJOR_PATHS = MAP.replace('major: {paths: ["core/**"]}', "major: {paths: []}")


def reconciler(stage: Stage, **options: Any) -> Reconciler:
    assert stage.app is not None
    assert stage.settings is not None
    sources = stage.app[REPAIR_KEY]
    return Reconciler(
        sources.github,
        sources.maps,
        stage.app[SCHEDULER_KEY].schedule,
        stage.app[METRICS_KEY],
        graphql_url=stage.settings.graphql_url,
        max_per_cycle=options.pop("max_per_cycle", 100),
        rate_limit_floor=options.pop("rate_limit_floor", 10),
        **options,
    )


async def unheard(stage: Stage, change: Awaitable[Any]) -> Any:
    """Make a change on GitHub (a coroutine not started yet) whose webhook the bot never gets."""
    url, stage.sim.webhook_url = stage.sim.webhook_url, None
    try:
        return await change
    finally:
        stage.sim.webhook_url = url


def spent(stage: Stage, since: int) -> dict[str, Any]:
    """What the calls after `since` cost against the primary limits, as GitHub counts."""
    calls = stage.sim.calls[since:]
    return {
        "points": sum(c.points for c in calls if c.kind == "graphql"),
        "requests": sum(c.points for c in calls if c.kind == "rest"),
        "listings": sum(1 for c in calls if c.query_name == "OpenPullRequests"),
        "not_modified": sum(1 for c in calls if c.status == 304),
    }


async def next_second() -> None:
    """GitHub keeps whole seconds: a listing in a later second than a change surely saw it; in
    the same second, the reconciler lists the repository again at its next cycle."""
    await asyncio.sleep(1.05)


async def open_pull(stage: Stage, repo: str = REPO, **options: Any) -> int:
    number: int = await stage.sim.open_pull_request(
        repo, author="alice", title="t", files={"core/x.py": "x\n"}, **options
    )
    return number


async def test_a_quiet_installation_costs_one_point_a_cycle_and_no_request(
    stage: Stage,
) -> None:
    stage.sim.add_repo(OWNER, "gadgets", files={"README.md": "g\n"})
    await open_pull(stage)
    await open_pull(stage, f"{OWNER}/gadgets")
    await stage.settle()
    await next_second()
    cycle = reconciler(stage)
    first = await cycle.reconcile_once()
    await stage.settle()
    assert (first.quiet, first.repaired) == (0, 0), "at start every repository is listed"

    since = len(stage.sim.calls)
    quiet = await cycle.reconcile_once()
    assert (quiet.repositories, quiet.quiet, quiet.examined) == (2, 2, 0)
    # One MapBlobs query (no connection: 1 point). The installations, their repositories and
    # each repository's probe are answered 304: free.
    assert spent(stage, since) == {"points": 1, "requests": 0, "listings": 0, "not_modified": 4}
    assert stage.sim.violations == []


async def test_only_the_repository_that_changed_is_listed(stage: Stage) -> None:
    stage.sim.add_repo(OWNER, "gadgets", files={"README.md": "g\n"})
    number = await open_pull(stage)
    await open_pull(stage, f"{OWNER}/gadgets")
    await stage.settle()
    await next_second()
    cycle = reconciler(stage)
    await cycle.reconcile_once()

    await unheard(stage, stage.sim.submit_review(REPO, number, reviewer="anna", state="APPROVED"))
    await next_second()  # the repair reads in a later second than the review
    since = len(stage.sim.calls)
    report = await cycle.reconcile_once()
    await stage.settle()
    assert report.queued == {"changed": 1}
    assert report.quiet == 1
    assert spent(stage, since)["listings"] == 1
    assert latest_check(stage, number)["conclusion"] == "action_required"
    # The repository whose listing queued a repair is listed once more, then left quiet.
    await next_second()
    assert (await cycle.reconcile_once()).quiet == 1
    assert (await cycle.reconcile_once()).quiet == 2


async def test_a_pushed_owner_map_lists_only_the_repositories_it_governs(stage: Stage) -> None:
    stage.sim.add_repo(OWNER, "own-map", files={MAP_PATH: MAP})
    stage.sim.add_repo(OWNER, ".github", files={"README.md": "profile\n"})
    numbers = {repo: await open_pull(stage, repo) for repo in (REPO, f"{OWNER}/own-map")}
    await stage.settle()
    for repo, number in numbers.items():
        await unheard(stage, stage.sim.submit_review(repo, number, reviewer="anna"))
    await next_second()
    cycle = reconciler(stage)
    first = await cycle.reconcile_once()
    assert first.queued == {"changed": 2}, first
    await stage.settle()
    runs = stage.sim.check_runs(REPO, stage.sim.head_sha(REPO, numbers[REPO]))
    assert runs[-1]["conclusion"] == "action_required"
    await next_second()
    assert (await cycle.reconcile_once()).queued == {}, "listed once more after the repairs"

    await unheard(
        stage,
        stage.sim.push_to_branch(f"{OWNER}/.github", "main", {MAP_PATH: MAP_WITHOUT_MAJOR_PATHS}),
    )
    since = len(stage.sim.calls)
    report = await cycle.reconcile_once()
    await stage.settle()
    assert report.queued == {"map": 1}
    # widgets is governed by the owner's map, and .github's own map is that map: both listed.
    # own-map is governed by its own: quiet.
    assert (report.quiet, spent(stage, since)["listings"]) == (1, 2)
    runs = stage.sim.check_runs(REPO, stage.sim.head_sha(REPO, numbers[REPO]))
    assert runs[-1]["conclusion"] == "success"


async def test_many_repairs_are_paced(stage: Stage) -> None:
    for _ in range(15):
        await unheard(stage, open_pull(stage))
    waits: list[float] = []
    moment = [0.0]

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        moment[0] += seconds

    pacer = Pacer(per_minute=60.0, clock=lambda: moment[0], sleep=sleep)
    cycle = reconciler(stage, pacer=pacer)
    report = await cycle.reconcile_once()
    assert report.queued == {"missing": 15}
    # The first EVALUATION_BURST at once, then one a second (60 a minute).
    assert len(waits) == 15 - EVALUATION_BURST
    assert sum(waits) == 15 - EVALUATION_BURST


async def test_a_cycle_leaves_half_the_hours_budget_to_live_events(stage: Stage) -> None:
    await unheard(stage, open_pull(stage))
    installation = next(iter(stage.sim.installations))
    # Half of 5,000, and what the repairs already queued may still spend.
    edge = 2_500 + RESERVE_MARGIN
    stage.sim.set_rate_limit_remaining(installation, edge, resource="graphql")
    report = await reconciler(stage, rate_limit_floor=10).reconcile_once()
    assert (report.outcome, report.repaired) == ("rate_limited", 0)
    stage.sim.set_rate_limit_remaining(installation, edge + 10, resource="graphql")
    report = await reconciler(stage, rate_limit_floor=10).reconcile_once()
    assert (report.outcome, report.repaired) == ("complete", 1)


async def test_a_bot_clock_running_ahead_of_githubs_misses_no_change(
    stage_factory: Callable[..., Stage],
) -> None:
    behind = Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30))
    async with stage_factory(clock=behind) as stage:
        seed(stage)
        number = await open_pull(stage)
        await stage.settle()
        waiting = latest_check(stage, number)
        assert waiting["status"] == "in_progress", "a major change with no approval yet"
        stamped = waiting["started_at"]  # a waiting run's stamp
        # Later than the check for GitHub, yet 29 s before the bot's stamp by the bot's clock.
        behind.moment += timedelta(seconds=1)
        await unheard(stage, stage.sim.post_comment(REPO, number, author="gus", body="?"))
        assert datetime.fromisoformat(stamped) > behind.moment
        report = await reconciler(stage).reconcile_once()
        assert report.queued == {"changed": 1}


async def test_budget_and_spending_are_exported(stage: Stage) -> None:
    number = await open_pull(stage)
    await stage.settle()
    assert latest_check(stage, number)
    assert stage.app is not None
    registry = stage.app[METRICS_KEY].registry
    installation = str(next(iter(stage.sim.installations)))
    remaining = registry.get_sample_value(
        "coi_github_budget_remaining", {"installation": installation, "resource": "graphql"}
    )
    charged = sum(c.points for c in stage.sim.calls if c.kind == "graphql")
    assert remaining == 5_000 - charged
    points = registry.get_sample_value(
        "coi_github_spent_total", {"operation": "POST /graphql Snapshot", "resource": "graphql"}
    )
    assert points == count(stage, query="Snapshot") == 1
    writes = registry.get_sample_value(
        "coi_github_spent_total",
        {"operation": "POST /repos/{owner}/{repo}/check-runs", "resource": "core"},
    )
    assert writes == 1


async def test_an_owner_map_push_sweeps_only_the_repositories_it_governs(stage: Stage) -> None:
    stage.sim.add_repo(OWNER, "own-map", files={MAP_PATH: MAP})
    stage.sim.add_repo(OWNER, ".github", files={"README.md": "profile\n"})
    for repo in (REPO, f"{OWNER}/own-map"):
        await open_pull(stage, repo)
    await stage.settle()
    snapshots = count(stage, query="Snapshot")
    await stage.sim.push_to_branch(f"{OWNER}/.github", "main", {MAP_PATH: MAP_WITHOUT_MAJOR_PATHS})
    await stage.settle()
    assert count(stage, query="Snapshot") == snapshots + 1, "own-map is governed by its own map"
    assert count(stage, query="MapBlobs") == 1


async def test_a_sweep_waits_while_live_events_need_the_budget(stage: Stage) -> None:
    # A direct push of the map takes effect only under `accept` (else it is held, unreviewed).
    accepting = MAP.replace("policy:\n", "policy:\n  unreviewed_map: accept\n")
    stage.sim.add_repo(OWNER, "gadgets", files={MAP_PATH: accepting})
    number = await open_pull(stage, f"{OWNER}/gadgets")
    await stage.sim.submit_review(f"{OWNER}/gadgets", number, reviewer="anna")
    await stage.settle()
    installation = next(iter(stage.sim.installations))
    stage.sim.set_rate_limit_remaining(installation, 2_000, resource="core")
    snapshots = count(stage, query="Snapshot")
    changed = accepting.replace('major: {paths: ["core/**"]}', "major: {paths: []}")
    await stage.sim.push_to_branch(f"{OWNER}/gadgets", "main", {MAP_PATH: changed})
    await stage.settle()
    assert count(stage, query="Snapshot") == snapshots, "left to the reconciler"
    stage.sim.set_rate_limit_remaining(installation, 5_000, resource="core")
    report = await reconciler(stage).reconcile_once()
    await stage.settle()
    assert report.queued == {"map": 1}
    runs = stage.sim.check_runs(f"{OWNER}/gadgets", stage.sim.head_sha(f"{OWNER}/gadgets", number))
    assert runs[-1]["conclusion"] == "success"


async def test_a_map_naming_another_check_is_listed_with_that_name(stage: Stage) -> None:
    named = MAP.replace(
        "  protected_companies: 2\n", "  protected_companies: 2\n  check_name: Other\n"
    )
    stage.sim.add_repo(OWNER, "named", files={MAP_PATH: named})
    number = await unheard(stage, open_pull(stage, f"{OWNER}/named"))
    await next_second()
    cycle = reconciler(stage)
    since = len(stage.sim.calls)
    assert (await cycle.reconcile_once()).queued == {"missing": 1}
    await stage.settle()
    assert spent(stage, since)["listings"] == 3, "widgets, then named twice: the default, Other"
    head = stage.sim.head_sha(f"{OWNER}/named", number)
    assert [run["name"] for run in stage.sim.check_runs(f"{OWNER}/named", head)] == ["Other"]
    await next_second()
    since = len(stage.sim.calls)
    report = await cycle.reconcile_once()
    assert (report.queued, report.examined) == ({}, 1)
    assert spent(stage, since)["listings"] == 1, "the name is remembered"


async def test_repairs_wait_while_evaluations_already_wait(stage: Stage) -> None:
    await unheard(stage, open_pull(stage))
    looks = iter([True, True, False])  # the queue busy twice, then free
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    cycle = reconciler(stage, queue_busy=lambda: next(looks), sleep=sleep)
    assert (await cycle.reconcile_once()).queued == {"missing": 1}
    assert waits == [QUEUE_BUSY_WAIT, QUEUE_BUSY_WAIT]
