"""Votes across restarts, in process: an issue's vote open when the bot restarts closes at its
deadline, found again by the reconciler (an issue has no check run to carry its close)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.stage import Stage
from bot.web.app import VOTE_TIMERS_KEY
from tests.e2e.conftest import REPO, Clock, count, seed
from tests.e2e.test_reconcile import reconciler
from tests.e2e.test_votes import (
    LABEL,
    SHORT_MAP,
    BotClock,
    bot_bodies,
    code_change,
    people_events,
)

LIVE = "<!-- coi-bot:vote-live -->"
# The label went on this long before the one-minute vote's first evaluation: it closes soon after.
AGO = timedelta(seconds=54)


async def issue_vote(stage: Stage, clock: Clock) -> tuple[int, datetime]:
    """An issue whose one-minute vote Gus opened `AGO` by GitHub's clock; and its close."""
    number = await stage.sim.open_issue(REPO, author="ivan", title="Adopt a release cadence")
    clock.moment = datetime.now(UTC).replace(microsecond=0) - AGO
    await stage.sim.set_issue_labels(REPO, number, [LABEL], sender="gus")
    await stage.settle()
    (live,) = [body for body in bot_bodies(stage, number) if body.startswith(LIVE)]
    assert "### Vote open: yes 0, no 0, abstain 0;" in live
    return number, clock.moment + timedelta(minutes=1)


def finals(stage: Stage, number: int) -> list[str]:
    return [body for body in bot_bodies(stage, number) if "coi-bot:vote-final" in body]


async def past(moment: datetime) -> None:
    """Real time until just past `moment` (a second or two: the vote's label is back-dated)."""
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.3)


async def test_an_issue_vote_open_across_a_restart_closes_at_its_deadline(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    options = {"reconcile_minutes": 60.0}  # one reconciler cycle at start, as `serve` runs it
    async with stage_factory(map_text=SHORT_MAP, clock=clock, settings_options=options) as stage:
        seed(stage)
        number, closes = await issue_vote(stage, clock)
        events = people_events(stage)
        await stage.restart_bot()  # the timer is lost with the process
        assert stage.app is not None
        timers = stage.app[VOTE_TIMERS_KEY]
        for _ in range(500):  # the new process's first cycle finds the vote and arms its timer
            if timers.armed:
                break
            await asyncio.sleep(0.01)
        assert timers.armed == 1
        assert datetime.now(UTC) < closes, "the machine was too slow to see the vote open"
        assert count(stage, query="OpenVoteIssues") >= 1
        await past(closes)
        await stage.settle()
        (final,) = finals(stage, number)
        assert "### Vote failed: yes 0, no 0, abstain 0" in final
        (live,) = [body for body in bot_bodies(stage, number) if body.startswith(LIVE)]
        assert "### Vote failed: yes 0, no 0, abstain 0" in live
        assert people_events(stage) == events, "closed by the timer, not by an event"
        assert timers.armed == 0
        assert stage.sim.violations == []


async def test_the_reconciler_closes_a_due_issue_vote_once(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    bot_clock = BotClock()
    async with stage_factory(map_text=SHORT_MAP, clock=clock, bot_clock=bot_clock) as stage:
        seed(stage)
        number, closes = await issue_vote(stage, clock)
        assert stage.app is not None
        stage.app[VOTE_TIMERS_KEY].close()  # no timer: only the reconciler can close it
        cycle = reconciler(stage)
        # Seen open: queued once (after a restart, that arms its timer again).
        assert (await cycle.reconcile_once()).queued == {"vote": 1}
        await stage.settle()
        assert (await cycle.reconcile_once()).queued == {}
        assert finals(stage, number) == []
        # The bot's time passes the vote's close, with no real wait.
        bot_clock.ahead = (closes - datetime.now(UTC)).total_seconds() + 1
        # Past its close: the quiet repository is listed again, the vote queued and closed.
        assert (await cycle.reconcile_once()).queued == {"vote": 1}
        await stage.settle()
        assert len(finals(stage, number)) == 1
        # Closed, the label still on: never queued again by this process.
        assert (await cycle.reconcile_once()).queued == {}
        assert (await cycle.reconcile_once()).queued == {}
        await stage.settle()
        assert len(finals(stage, number)) == 1
        assert stage.sim.violations == []


async def test_a_label_from_outside_the_tsc_is_no_vote_for_the_reconciler(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    async with stage_factory(map_text=SHORT_MAP, clock=clock) as stage:
        seed(stage)
        number = await stage.sim.open_issue(REPO, author="ivan", title="Rename the project")
        await stage.settle()
        stage.sim.webhook_url = "http://127.0.0.1:9/nowhere"  # the label's delivery is lost
        await stage.sim.set_issue_labels(REPO, number, [LABEL], sender="carl")
        await stage.settle()
        assert stage.sim.issue(REPO, number).labels == [LABEL]
        # Listed with the label, but a label from outside the TSC opened no vote to close.
        assert (await reconciler(stage).reconcile_once()).queued == {}
        assert count(stage, query="OpenVoteIssues") == 1


async def test_the_reconciler_finds_an_open_vote_under_its_maps_own_check_name(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    named = SHORT_MAP.replace(
        "    duration: 1m\n", "    duration: 1m\n    check_name: Governance\n"
    )
    assert named != SHORT_MAP
    async with stage_factory(map_text=named, clock=clock) as stage:
        seed(stage)
        number = await code_change(stage, clock=clock, ago=30)
        head = stage.sim.head_sha(REPO, number)
        (run,) = [r for r in stage.sim.check_runs(REPO, head) if r["name"] == "Governance"]
        assert run["status"] == "in_progress"
        assert stage.app is not None
        stage.app[VOTE_TIMERS_KEY].close()  # a restart: the timers are gone
        # Found by its run, whatever the map names it: queued once, to arm its timer again.
        assert (await reconciler(stage).reconcile_once()).queued == {"vote": 1}
        assert stage.sim.violations == []
