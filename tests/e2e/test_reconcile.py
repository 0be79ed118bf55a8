"""Repair from GitHub's state: the reconciler, failed-delivery redelivery, map pushes, base changes.

Deliveries the bot never received are made by pointing the simulator's webhook URL nowhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.github.checks import RULES_VERSION, parse_external_id, stamped_external_id
from bot.github.map_source import git_blob_sha
from bot.jobs.reconciler import (
    BOT_WRITES_GRACE,
    CLOCK_MARGIN,
    CheckState,
    OpenPullRequest,
    Reconciler,
    changed_since_check,
    map_decided,
    stale_reason,
)
from bot.jobs.reconciler import _check_state as check_state
from bot.jobs.reconciler import _people_changed_at as people_changed_at
from bot.jobs.redelivery import DeliveryAttempt, Redeliverer, needs_redelivery
from bot.metrics import Metrics
from bot.policy.render import render
from bot.policy.verdict import MapRef, evaluate
from bot.replicas.coordinator import Coordinator
from bot.stage import Stage
from bot.web.app import REPAIR_KEY
from bot.web.state import FAULTS_KEY, METRICS_KEY, SCHEDULER_KEY, FailedAfterAck
from tests.e2e.conftest import MAP, NAME, OWNER, REPO, check_writes, count, latest_check, seed
from tests.policy.builders import facts, make_map
from tests.replicas.conftest import started_redis

MAP_PATH = ".github/affiliations.yml"
# The same people, but nothing under core/ is major any more.
MAP_WITHOUT_MAJOR_PATHS = MAP.replace('major: {paths: ["core/**"]}', "major: {paths: []}")
# Direct pushes of the map take effect only under `accept` (README, "The map is the root of trust").
ACCEPTING = MAP + "  unreviewed_map: accept\n"


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
        clock=options.pop("clock", sources.clock),  # the bot's, as the app's own reconciler
        **options,
    )


async def open_unseen(stage: Stage, count: int, *, path: str = "core/x.py") -> list[int]:
    """Open PRs while the bot hears nothing: their checks are missing."""
    url, stage.sim.webhook_url = stage.sim.webhook_url, None
    try:
        return [
            await stage.sim.open_pull_request(
                REPO, author="alice", title=f"change {i}", files={path: f"v = {i}\n"}
            )
            for i in range(count)
        ]
    finally:
        stage.sim.webhook_url = url


def shown(run: dict[str, Any]) -> str:
    """A run's conclusion, or its status while a major change waits for an approval."""
    return str(run["conclusion"] or run["status"])


def repairs(stage: Stage, reason: str) -> float:
    assert stage.app is not None
    value = stage.app[METRICS_KEY].registry.get_sample_value(
        "coi_reconcile_repairs_total", {"reason": reason}
    )
    return value or 0.0


@pytest.fixture
async def repo_map_stage(stage_factory: Callable[..., Stage]) -> AsyncIterator[Stage]:
    async with stage_factory() as running:
        seed(running, repo_files={MAP_PATH: MAP, "README.md": "widgets\n"})
        yield running
        assert running.sim.violations == []


@pytest.fixture
async def accepting_map_stage(stage_factory: Callable[..., Stage]) -> AsyncIterator[Stage]:
    async with stage_factory() as running:
        seed(running, repo_files={MAP_PATH: ACCEPTING, "README.md": "widgets\n"})
        yield running
        assert running.sim.violations == []


# -- pure parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("map_ref", "expected"),
    [
        (MapRef(MAP_PATH, "ab" * 20, "repository"), ("ab" * 20, "repository")),
        (MapRef("config/affiliations.yml", None, "bundled"), (None, "bundled")),
        (MapRef(".github/affiliations.yml", "cd" * 20, "owner"), ("cd" * 20, "owner")),
    ],
)
def test_the_map_that_decided_is_read_back_from_a_rendered_summary(
    map_ref: MapRef, expected: tuple[str | None, str]
) -> None:
    now = datetime(2026, 4, 1, tzinfo=UTC)
    verdict = evaluate(facts(), make_map(), now=now, map_ref=map_ref)
    assert map_decided(render(verdict, check_name="COI review").summary) == expected


def test_a_forged_map_line_earlier_in_the_summary_loses_to_the_last() -> None:
    forged = "Decided by the map `x` at blob `00` (owner).\n\nDecided by the map `y` (bundled)."
    assert map_decided(forged) == (None, "bundled")
    assert map_decided("no map line") == (None, None)
    assert map_decided(None) == (None, None)


IN_FORCE = MapRef(MAP_PATH, "ab" * 20, "repository")


def _check(**changes: Any) -> CheckState:
    base: dict[str, Any] = {
        "completed": True,
        "version": RULES_VERSION,
        "map_blob": "ab" * 20,
        "map_source": "repository",
    }
    return CheckState(**{**base, **changes})


@pytest.mark.parametrize(
    ("check", "reason"),
    [
        (None, "missing"),
        (_check(completed=False), "missing"),
        # A verdict waiting for an approval is written `in_progress`: present, not missing.
        (_check(completed=False, waiting=True), None),
        (_check(completed=False, waiting=True, version="rules-0"), "version"),
        (_check(version="0.0.1"), "version"),
        (_check(version=None), "version"),
        (_check(map_blob="ef" * 20), "map"),
        (_check(map_source="bundled", map_blob=None), "map"),
        (_check(map_source=None, map_blob=None), None),
        (_check(), None),
    ],
)
def test_stale_reasons(check: CheckState | None, reason: str | None) -> None:
    pull = OpenPullRequest(number=1, base_ref="main", head_sha="a" * 40, check=check)
    assert stale_reason(pull, map_in_force=IN_FORCE) == reason


def _head(**run: Any) -> dict[str, Any]:
    return {"checkSuites": {"nodes": [{"checkRuns": {"nodes": [{"name": "COI review", **run}]}}]}}


def test_a_waiting_run_is_read_with_its_start_as_the_stamp() -> None:
    stamped = stamped_external_id("fp")
    waiting = check_state(
        _head(status="IN_PROGRESS", startedAt="2026-04-01T12:00:00Z", externalId=stamped),
        "COI review",
    )
    assert waiting is not None
    assert (waiting.completed, waiting.waiting) == (False, True)
    assert waiting.completed_at == datetime(2026, 4, 1, 12, tzinfo=UTC)
    # A run no verdict wrote (queued, or without the App's version) is still missing.
    for run in (
        {"status": "IN_PROGRESS", "startedAt": "2026-04-01T12:00:00Z", "externalId": None},
        {"status": "QUEUED", "startedAt": "2026-04-01T12:00:00Z", "externalId": stamped},
    ):
        state = check_state(_head(**run), "COI review")
        assert state is not None
        assert not state.waiting
        assert state.completed_at is None
        pull = OpenPullRequest(number=1, base_ref="main", head_sha="a" * 40, check=state)
        assert stale_reason(pull, map_in_force=IN_FORCE) == "missing"


WRITTEN = datetime(2026, 4, 1, 12, 0, 0, tzinfo=UTC)
SECOND, HOUR = timedelta(seconds=1), timedelta(hours=1)


@pytest.mark.parametrize(
    ("check", "updated_at", "people_changed_at", "reason"),
    [
        # A review or a person's comment after the check: changed, however soon.
        (_check(completed_at=WRITTEN), WRITTEN + SECOND, WRITTEN + SECOND, "changed"),
        (_check(completed_at=WRITTEN), WRITTEN + HOUR, WRITTEN + HOUR, "changed"),
        # The same second: the change may have followed the read (GitHub keeps whole seconds).
        (_check(completed_at=WRITTEN), WRITTEN, WRITTEN, "changed"),
        (_check(completed_at=WRITTEN), WRITTEN, WRITTEN - CLOCK_MARGIN, None),
        # Only updatedAt moved (the bot's own request or reply): within the grace, not a change.
        (_check(completed_at=WRITTEN), WRITTEN + 30 * SECOND, WRITTEN - HOUR, None),
        (_check(completed_at=WRITTEN), WRITTEN + BOT_WRITES_GRACE, None, None),
        # ...past the grace (a label, an edit, a dismissal): changed.
        (_check(completed_at=WRITTEN), WRITTEN + BOT_WRITES_GRACE + SECOND, None, "changed"),
        (_check(completed_at=WRITTEN), WRITTEN - HOUR, WRITTEN - HOUR, None),
        # A waiting run is stamped with `startedAt`, read the same way.
        (
            _check(completed=False, waiting=True, completed_at=WRITTEN),
            WRITTEN + SECOND,
            WRITTEN + SECOND,
            "changed",
        ),
        (
            _check(completed=False, waiting=True, completed_at=WRITTEN),
            WRITTEN,
            WRITTEN - CLOCK_MARGIN,
            None,
        ),
        # Unknown times never count as a change.
        (_check(completed_at=None), WRITTEN + HOUR, WRITTEN + HOUR, None),
        (_check(completed_at=WRITTEN), None, None, None),
        # The other reasons come first; a summary without its map line is still checked.
        (_check(completed_at=WRITTEN, version="0.0.1"), WRITTEN + HOUR, WRITTEN + HOUR, "version"),
        (_check(completed_at=WRITTEN, map_blob="ef" * 20), WRITTEN + HOUR, None, "map"),
        (_check(map_source=None, completed_at=WRITTEN), WRITTEN + HOUR, None, "changed"),
        (None, WRITTEN + HOUR, WRITTEN + HOUR, "missing"),
    ],
)
def test_a_check_written_before_the_pr_last_changed_is_stale(
    check: CheckState | None,
    updated_at: datetime | None,
    people_changed_at: datetime | None,
    reason: str | None,
) -> None:
    pull = OpenPullRequest(
        number=1,
        base_ref="main",
        head_sha="a" * 40,
        check=check,
        updated_at=updated_at,
        people_changed_at=people_changed_at,
    )
    assert stale_reason(pull, map_in_force=IN_FORCE) == reason
    assert changed_since_check(pull, grace=BOT_WRITES_GRACE) == (
        reason == "changed" or (reason in ("version", "map") and updated_at is not None)
    )


def test_the_peoples_last_change_skips_the_apps_comments_and_unreadable_times() -> None:
    node = {
        "reviews": {"nodes": [{"submittedAt": "2026-04-01T12:00:00Z"}]},
        "comments": {
            "nodes": [
                {"updatedAt": "2026-04-01T12:05:00Z", "viewerDidAuthor": False},
                {"updatedAt": "2026-04-01T12:09:00Z", "viewerDidAuthor": True},  # the App's reply
                {"updatedAt": "yesterday", "viewerDidAuthor": False},
                {"updatedAt": None, "viewerDidAuthor": False},
                None,
            ]
        },
    }
    assert people_changed_at(node) == WRITTEN + timedelta(minutes=5)
    assert people_changed_at({"reviews": None, "comments": {"nodes": []}}) is None


async def next_second() -> None:
    """GitHub keeps whole seconds: a change counts as later than the check in the next one."""
    await asyncio.sleep(1.05)


async def test_a_review_acknowledged_but_never_evaluated_is_repaired_once(stage: Stage) -> None:
    [number] = await open_unseen(stage, 1)
    await reconciler(stage).reconcile_once()
    await stage.settle()
    assert shown(latest_check(stage, number)) == "in_progress", "a major change: no approval yet"
    writes = check_writes(stage)

    # The review's delivery was acknowledged, then the bot died before it read GitHub.
    url, stage.sim.webhook_url = stage.sim.webhook_url, None
    await next_second()
    await stage.sim.submit_review(REPO, number, reviewer="anna", state="APPROVED")
    stage.sim.webhook_url = url
    await next_second()  # the repair reads in a later second: no doubt it saw the review

    cycle = reconciler(stage)
    report = await cycle.reconcile_once()
    await stage.settle()
    assert report.queued == {"changed": 1}
    assert latest_check(stage, number)["conclusion"] == "action_required"
    assert check_writes(stage) == writes + 1
    assert repairs(stage, "changed") == 1
    # Its own review request followed its check's stamp: within the grace, not a change.
    assert (await reconciler(stage).reconcile_once()).queued == {}
    assert check_writes(stage) == writes + 1


async def test_a_check_written_after_the_last_change_is_left_alone(stage: Stage) -> None:
    number = await stage.sim.open_pull_request(
        REPO, author="alice", title="t", files={"core/x.py": "x\n"}
    )
    await stage.settle()
    url, stage.sim.webhook_url = stage.sim.webhook_url, None
    await stage.sim.submit_review(REPO, number, reviewer="anna", state="APPROVED")
    [review] = [d for d in stage.sim.deliveries if d.event == "pull_request_review"]
    stage.sim.webhook_url = url
    await next_second()  # its evaluation reads in a later second than the review
    await stage.sim.redeliver(review)
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"
    evaluations = count(stage, query="Snapshot")
    assert evaluations >= 1

    report = await reconciler(stage).reconcile_once()
    await stage.settle()
    assert (report.queued, report.examined) == ({}, 1)
    assert count(stage, query="Snapshot") == evaluations


async def test_a_change_that_leaves_the_verdict_unchanged_is_evaluated_once(
    stage: Stage,
) -> None:
    [number] = await open_unseen(stage, 1)
    await reconciler(stage).reconcile_once()
    await stage.settle()
    written = latest_check(stage, number)

    url, stage.sim.webhook_url = stage.sim.webhook_url, None
    await next_second()
    await stage.sim.post_comment(REPO, number, author="gus", body="Looks fine to me.")
    stage.sim.webhook_url = url
    cycle = reconciler(stage)
    assert (await cycle.reconcile_once()).queued == {"changed": 1}
    await stage.settle()
    assert latest_check(stage, number)["completed_at"] == written["completed_at"]  # nothing new
    for _ in range(2):
        assert (await cycle.reconcile_once()).queued == {}, "the same change is queued once"
    await next_second()
    await stage.sim.post_comment(REPO, number, author="gus", body="Still fine.")
    assert (await cycle.reconcile_once()).queued == {"changed": 1}, "a new change is seen"


async def test_a_check_from_an_older_release_is_rewritten_once(stage: Stage) -> None:
    [number] = await open_unseen(stage, 1)
    await reconciler(stage).reconcile_once()
    await stage.settle()
    run = latest_check(stage, number)
    stored = stage.sim.check_run_store[run["id"]]
    stored.external_id = stamped_external_id("0" * 40, version="0.0.1")

    report = await reconciler(stage).reconcile_once()
    await stage.settle()
    assert report.queued == {"version": 1}
    assert parse_external_id(latest_check(stage, number)["external_id"])[1] == RULES_VERSION
    assert (await reconciler(stage).reconcile_once()).queued == {}


async def test_a_map_push_the_bot_never_heard_of_is_found_by_the_map_blob(
    accepting_map_stage: Stage,
) -> None:
    stage = accepting_map_stage
    [number] = await open_unseen(stage, 1)
    await stage.sim.submit_review(REPO, number, reviewer="anna", state="APPROVED")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"

    url, stage.sim.webhook_url = stage.sim.webhook_url, None
    await stage.sim.push_to_branch(REPO, "main", {MAP_PATH: MAP_WITHOUT_MAJOR_PATHS})
    stage.sim.webhook_url = url
    report = await reconciler(stage).reconcile_once()
    await stage.settle()
    assert report.queued == {"map": 1}
    assert latest_check(stage, number)["conclusion"] == "success"
    assert repairs(stage, "map") == 1


async def test_a_cycle_is_bounded_and_the_next_one_takes_the_rest(stage: Stage) -> None:
    await open_unseen(stage, 5)
    first = await reconciler(stage, max_per_cycle=2).reconcile_once()
    await stage.settle()
    assert (first.outcome, first.repaired) == ("bounded", 2)
    second = await reconciler(stage, max_per_cycle=10).reconcile_once()
    await stage.settle()
    assert (second.outcome, second.repaired) == ("complete", 3)


async def test_a_cycle_stops_when_the_rate_limit_runs_low(stage: Stage) -> None:
    await open_unseen(stage, 2)
    installation = next(iter(stage.sim.installations))
    stage.sim.set_rate_limit_remaining(installation, 50, resource="graphql")
    report = await reconciler(stage, rate_limit_floor=100).reconcile_once()
    assert (report.outcome, report.repaired) == ("rate_limited", 0)


async def test_a_full_queue_ends_the_cycle(stage_factory: Callable[..., Stage]) -> None:
    async with stage_factory(queue_size=1, coalesce_seconds=5.0) as stage:
        seed(stage)
        await open_unseen(stage, 3)
        report = await reconciler(stage).reconcile_once()
        assert (report.outcome, report.repaired) == ("queue_full", 1)


async def test_a_repository_that_fails_is_skipped_not_fatal(stage: Stage) -> None:
    await open_unseen(stage, 1)
    stage.sim.inject_failure("graphql", status=502, times=20)
    report = await reconciler(stage).reconcile_once()
    assert (report.outcome, report.failed_repositories, report.repaired) == ("complete", 1, 0)


async def test_the_reconciler_runs_at_start_and_then_periodically(
    stage_factory: Callable[..., Stage],
) -> None:
    options = {"reconcile_minutes": 0.2 / 60}  # every 0.2 s
    async with stage_factory(settings_options=options) as stage:
        seed(stage)
        numbers = await open_unseen(stage, 2)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if all(stage.sim.check_runs(REPO, stage.sim.head_sha(REPO, n)) for n in numbers):
                break
        assert all(shown(latest_check(stage, n)) == "in_progress" for n in numbers)


# -- redelivery ------------------------------------------------------------------------------


def redeliverer(stage: Stage, **options: Any) -> Redeliverer:
    assert stage.app is not None
    return Redeliverer(
        stage.app[REPAIR_KEY].github.app_client,
        stage.app[METRICS_KEY],
        max_per_cycle=options.pop("max_per_cycle", 50),
        **options,
    )


async def test_failed_deliveries_are_redelivered_once_and_converge(stage: Stage) -> None:
    numbers = await open_unseen(stage, 2)  # pull_request.opened and check_suite: status 0
    failed = {d.guid for d in stage.sim.deliveries if d.status_code == 0}
    assert failed
    look = redeliverer(stage)
    report = await look.look_once()
    await stage.settle()
    assert set(report.redelivered) == failed
    assert all(shown(latest_check(stage, n)) == "in_progress" for n in numbers)
    again = await look.look_once()
    assert again.redelivered == []  # every GUID now has a successful attempt
    per_guid = [d.guid for d in stage.sim.deliveries if d.redelivery]
    assert sorted(per_guid) == sorted(failed)


async def test_a_guid_that_later_succeeded_is_never_redelivered(stage: Stage) -> None:
    await open_unseen(stage, 1)
    for delivery in [d for d in stage.sim.deliveries if d.status_code == 0]:
        await stage.sim.redeliver(delivery)  # someone clicked "Redeliver" in GitHub's UI
    await stage.settle()
    report = await redeliverer(stage).look_once()
    assert report.redelivered == []


async def test_redelivery_is_bounded_per_look_and_resumes(stage: Stage) -> None:
    await open_unseen(stage, 3)
    failed = {d.guid for d in stage.sim.deliveries if d.status_code == 0}
    look = redeliverer(stage, max_per_cycle=2)
    first = await look.look_once()
    await stage.settle()
    assert (first.outcome, len(first.redelivered)) == ("bounded", 2)
    second = await look.look_once()
    third = await look.look_once()
    await stage.settle()
    asked = first.redelivered + second.redelivered + third.redelivered
    assert sorted(asked) == sorted(failed)


@pytest.mark.parametrize("status", [400, 413])
def test_a_malformed_or_too_large_answer_is_not_asked_again(status: int) -> None:
    attempt = DeliveryAttempt(id=1, guid="g", status_code=status, delivered_at=0.0)
    assert needs_redelivery([attempt]) is None
    assert needs_redelivery([attempt, DeliveryAttempt(2, "g", 500, 1.0)]) is not None


async def test_a_delivery_whose_handler_failed_after_the_202_is_asked_again(stage: Stage) -> None:
    assert stage.app is not None
    failed_after_ack = stage.app[FAULTS_KEY]
    # Signed, but no pull_request: the handler raises KeyError after the 202.
    await stage.sim.deliver("pull_request", {"action": "opened", "installation": {"id": 1}})
    await stage.settle()
    guid = stage.sim.deliveries[-1].guid
    assert stage.sim.deliveries[-1].status_code == 202
    assert guid in failed_after_ack
    now = [datetime.now(UTC).timestamp()]
    look = redeliverer(stage, failed_after_ack=failed_after_ack, clock=lambda: now[0])
    assert (await look.look_once()).redelivered == [guid]
    await stage.settle()
    asked = [d for d in stage.sim.deliveries if d.redelivery]
    assert [(d.guid, d.status_code) for d in asked] == [(guid, 202)]
    assert guid in failed_after_ack, "the redelivery failed the same way"
    assert (await look.look_once()).redelivered == [], "not again within the cooldown"
    for _ in range(3):
        now[0] += 3600
        await look.look_once()
        await stage.settle()
    assert len([d for d in stage.sim.deliveries if d.redelivery]) == 3, "at most 3 asks in all"


async def test_a_fault_recorded_after_the_look_read_its_delivery_is_still_asked(
    stage: Stage,
) -> None:
    assert stage.app is not None
    numbers = await open_unseen(stage, 1)
    now = [datetime.now(UTC).timestamp()]
    look = redeliverer(stage, failed_after_ack=stage.app[FAULTS_KEY], clock=lambda: now[0])
    first = await look.look_once()
    await stage.settle()
    assert first.redelivered
    assert all(shown(latest_check(stage, n)) == "in_progress" for n in numbers)
    # A handler fails on one of those deliveries after the look read it as a success.
    guid = first.redelivered[0]
    stage.app[FAULTS_KEY].add(guid)
    now[0] += 3600  # past the cooldown of the first ask
    assert (await look.look_once()).redelivered == [guid]
    await stage.settle()
    stage.app[FAULTS_KEY].discard(guid)


async def test_a_fault_on_another_replica_is_asked_for_by_the_one_that_redelivers(
    stage: Stage, tmp_path: Path
) -> None:
    """With Redis, faults are shared: the replica holding the background jobs asks GitHub again
    for a delivery another replica failed on, and forgets it in Redis once asked."""
    assert stage.app is not None
    redis = started_redis(tmp_path)
    elsewhere = Coordinator.from_url(redis.url, metrics=Metrics())
    here = Coordinator.from_url(redis.url, metrics=Metrics())
    try:
        await stage.sim.deliver("pull_request", {"action": "opened", "installation": {"id": 1}})
        await stage.settle()
        guid = stage.sim.deliveries[-1].guid
        stage.app[FAULTS_KEY].discard(guid)  # this one failed on the other replica, not here
        other_replica = FailedAfterAck(shared=elsewhere)
        other_replica.add(guid)
        await other_replica.settle()
        leader = FailedAfterAck(shared=here)
        look = redeliverer(stage, failed_after_ack=leader)
        assert (await look.look_once()).redelivered == [guid]
        await stage.settle()
        assert [d.guid for d in stage.sim.deliveries if d.redelivery] == [guid]
        assert await leader.to_ask() == [], "asked: forgotten in Redis"
    finally:
        await elsewhere.aclose()
        await here.aclose()
        redis.stop()


async def test_a_refused_redelivery_is_counted_not_fatal(stage: Stage) -> None:
    await open_unseen(stage, 1)
    stage.sim.inject_failure("apps/redeliver-webhook-delivery", status=422, times=10)
    report = await redeliverer(stage).look_once()
    assert report.redelivered == []
    assert report.refused >= 1


async def test_deliveries_older_than_three_days_are_left_alone(stage: Stage) -> None:
    await open_unseen(stage, 1)
    later = datetime.now(UTC).timestamp() + 4 * 24 * 3600
    report = await redeliverer(stage, clock=lambda: later).look_once()
    assert (report.read, report.redelivered) == (0, [])


# -- map pushes and base changes, end to end -----------------------------------------------


async def test_a_pushed_owner_map_re_evaluates_every_repository_without_its_own(
    stage: Stage,
) -> None:
    stage.sim.add_repo(OWNER, "gadgets", files={"README.md": "g\n"})
    stage.sim.add_repo(OWNER, "own-map", files={MAP_PATH: MAP})
    stage.sim.add_repo(OWNER, ".github", files={"README.md": "profile\n"})
    numbers = {}
    for repo in (NAME, "gadgets", "own-map"):
        number = await stage.sim.open_pull_request(
            f"{OWNER}/{repo}", author="alice", title="t", files={"core/x.py": "x\n"}
        )
        await stage.sim.submit_review(f"{OWNER}/{repo}", number, reviewer="anna")
        numbers[repo] = number
    await stage.settle()
    conclusions = {
        repo: stage.sim.check_runs(f"{OWNER}/{repo}", stage.sim.head_sha(f"{OWNER}/{repo}", n))[-1][
            "conclusion"
        ]
        for repo, n in numbers.items()
    }
    assert conclusions == dict.fromkeys(numbers, "action_required")

    await stage.sim.push_to_branch(f"{OWNER}/.github", "main", {MAP_PATH: MAP_WITHOUT_MAJOR_PATHS})
    await stage.settle()
    after = {
        repo: stage.sim.check_runs(f"{OWNER}/{repo}", stage.sim.head_sha(f"{OWNER}/{repo}", n))[-1][
            "conclusion"
        ]
        for repo, n in numbers.items()
    }
    assert after == {NAME: "success", "gadgets": "success", "own-map": "action_required"}


async def test_a_pr_into_another_branch_is_judged_by_the_default_branch_map(
    accepting_map_stage: Stage,
) -> None:
    stage = accepting_map_stage
    await stage.sim.push_to_branch(REPO, "release", {MAP_PATH: MAP_WITHOUT_MAJOR_PATHS})
    number = await stage.sim.open_pull_request(
        REPO, author="alice", title="t", files={"core/x.py": "x\n"}, base="release"
    )
    await stage.sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    before = latest_check(stage, number)
    # release's map would find nothing under core/ major: it is not in force.
    assert before["conclusion"] == "action_required"
    main_map = (git_blob_sha(ACCEPTING.encode()), "repository")
    assert map_decided(before["output"]["summary"]) == main_map
    # The reconciler reads the default branch's map for every PR: no check decided by another.
    assert "map" not in (await reconciler(stage).reconcile_once()).queued

    await stage.sim.edit_pull_request(REPO, number, base="main")
    await stage.settle()
    after = latest_check(stage, number)
    assert after["conclusion"] == "action_required"
    assert map_decided(after["output"]["summary"]) == main_map
