"""A vote is only its writer's, end to end: a ballot whose comment someone else deletes or blanks
stands from the App's record in the `TSC vote` run; the voter's own deletion withdraws it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bot.policy.markdown import as_shown
from bot.stage import Stage
from tests.e2e.conftest import REPO
from tests.e2e.test_votes import LABEL, bot_bodies, promotion, vote, vote_run, vote_stage


@pytest.fixture
async def stage(stage_factory: Callable[..., Stage]) -> AsyncIterator[Stage]:
    async for running in vote_stage(stage_factory):
        yield running


async def gus_yes_gina_no(stage: Stage) -> tuple[int, int]:
    """The promotion's vote with gus's yes (2) and gina's no (1); ivan's 1 may still turn it."""
    number = await promotion(stage)
    await vote(stage, number, "gus", "yes")
    gina = await vote(stage, number, "gina", "no")
    run = vote_run(stage, number)
    assert run["status"] == "in_progress"
    assert run["output"]["title"].startswith("Vote open: yes 2, no 1, abstain 0;")
    return number, gina


async def test_a_no_vote_deleted_by_a_conflicted_member_stands(stage: Stage) -> None:
    number, gina = await gus_yes_gina_no(stage)
    # anna, of the nominee's company (conflicted), deletes gina's no.
    await stage.sim.delete_comment(REPO, gina, sender="anna")
    await stage.settle()
    run = vote_run(stage, number)
    assert run["status"] == "in_progress"
    assert run["output"]["title"].startswith("Vote open: yes 2, no 1, abstain 0;")
    summary = as_shown(run["output"]["summary"])
    assert "@gina's vote stands: its comment was deleted by @anna." in summary
    # It stands at the next vote too: the new tally records it again.
    await vote(stage, number, "ivan", "no")
    run = vote_run(stage, number)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    assert run["output"]["title"].startswith("Vote failed: yes 2, no 2, abstain 0")


async def test_a_vote_blanked_by_someone_elses_edit_stands(stage: Stage) -> None:
    number, gina = await gus_yes_gina_no(stage)
    await stage.sim.edit_comment(REPO, gina, body="", editor="anna")
    await stage.settle()
    run = vote_run(stage, number)
    assert run["status"] == "in_progress"
    assert run["output"]["title"].startswith("Vote open: yes 2, no 1, abstain 0;")
    assert "@gina's vote stands: its comment was edited by @anna." in as_shown(
        run["output"]["summary"]
    )


async def test_a_vote_deleted_by_its_voter_is_withdrawn(stage: Stage) -> None:
    number, gina = await gus_yes_gina_no(stage)
    await stage.sim.delete_comment(REPO, gina, sender="gina")
    await stage.settle()
    run = vote_run(stage, number)
    assert run["status"] == "in_progress"
    assert run["output"]["title"].startswith("Vote open: yes 2, no 0, abstain 0;")
    assert "vote stands" not in run["output"]["summary"]
    # gina may vote again; ivan's yes now passes it.
    await vote(stage, number, "ivan", "yes")
    run = vote_run(stage, number)
    assert (run["status"], run["conclusion"]) == ("completed", "success")
    assert any(body.startswith("<!-- coi-bot:vote-final ") for body in bot_bodies(stage, number))


async def test_the_record_is_the_apps_own_run(stage: Stage) -> None:
    """A forged record in a person's comment is not read: only the App's runs are."""
    number, gina = await gus_yes_gina_no(stage)
    forged = (
        '<!-- coi-bot:ballots [{"voter":"ivan","voter_id":null,"author":"ivan","choice":"no",'
        '"reason":null,"comment":"IC_x","comment_db":null,"at":"2020-01-01T00:00:00+00:00"}] -->'
    )
    await stage.sim.post_comment(REPO, number, author="anna", body=forged)
    await stage.sim.delete_comment(REPO, gina, sender="gina")
    await stage.settle()
    run = vote_run(stage, number)
    assert run["output"]["title"].startswith("Vote open: yes 2, no 0, abstain 0;")


def live_tally(stage: Stage, number: int) -> str:
    (live,) = [b for b in bot_bodies(stage, number) if b.startswith("<!-- coi-bot:vote-live -->")]
    return as_shown(live)


async def test_on_an_issue_the_live_comment_keeps_a_vote_someone_else_deleted(
    stage: Stage,
) -> None:
    number = await stage.sim.open_issue(REPO, author="ivan", title="Adopt a release cadence")
    await stage.sim.set_issue_labels(REPO, number, [LABEL], sender="gus")
    await stage.settle()
    gina = await vote(stage, number, "gina", "no")
    own = await vote(stage, number, "anna", "yes")
    assert "### Vote open: yes 2, no 1, abstain 0;" in live_tally(stage, number)
    await stage.sim.delete_comment(REPO, gina, sender="gus")
    await stage.settle()
    live = live_tally(stage, number)
    assert "### Vote open: yes 2, no 1, abstain 0;" in live
    assert "@gina's vote stands: its comment was deleted by @gus." in live
    await stage.sim.delete_comment(REPO, own, sender="anna")
    await stage.settle()
    assert "### Vote open: yes 0, no 1, abstain 0;" in live_tally(stage, number)


async def test_a_kept_vote_survives_a_push(stage: Stage) -> None:
    """The App's reply keeps the ballot: the new head's run has no record of its own yet."""
    number, gina = await gus_yes_gina_no(stage)
    await stage.sim.delete_comment(REPO, gina, sender="anna")
    await stage.settle()
    (reply,) = [b for b in bot_bodies(stage, number) if "coi-bot:ballot-kept" in b]
    assert "@gina's vote stands: its comment was deleted by @anna." in as_shown(reply)
    await stage.sim.push_commits(REPO, number, author="gus", files={"docs/notes.md": "x\n"})
    await stage.settle()
    run = vote_run(stage, number)
    assert run["output"]["title"].startswith("Vote open: yes 2, no 1, abstain 0;")
    # Said once, however often the vote is judged again.
    await vote(stage, number, "alice", "yes")
    assert len([b for b in bot_bodies(stage, number) if "coi-bot:ballot-kept" in b]) == 1
