"""The App's vote records cannot be forged by editing them: anyone with write access may edit
any comment, the App's included, so a record someone else edited is no longer the App's."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from githubsim.state import blob_sha

from bot.stage import Stage
from tests.e2e.conftest import REPO, Clock, seed
from tests.e2e.test_votes import (
    VOTE_MAP,
    bot_bodies,
    code_change,
    promotion,
    vote,
    vote_run,
    vote_stage,
)


@pytest.fixture
async def stage(stage_factory: Callable[..., Stage]) -> AsyncIterator[Stage]:
    async for running in vote_stage(stage_factory):
        yield running


def app_comment(stage: Stage, number: int, marker: str) -> tuple[int, str]:
    (found,) = [
        (int(c["id"]), str(c["body"]))
        for c in stage.sim.comments(REPO, number)
        if c["user"]["type"] == "Bot" and marker in str(c["body"])
    ]
    return found


async def test_a_final_tally_edited_by_a_maintainer_is_not_carried_to_a_new_head(
    stage: Stage,
) -> None:
    number = await promotion(stage)
    for who, choice in (("anna", "yes"), ("gina", "yes"), ("ivan", "yes"), ("gus", "no")):
        await vote(stage, number, who, choice)
    assert vote_run(stage, number)["conclusion"] == "failure"
    comment, body = app_comment(stage, number, "coi-bot:vote-final")
    forged = body.replace(" failure -->", " success -->").replace("Vote failed", "Vote passed")
    assert forged != body
    await stage.sim.edit_comment(REPO, comment, body=forged, editor="anna")
    await stage.sim.push_commits(REPO, number, author="gus", files={"docs/notes.md": "notes\n"})
    await stage.settle()
    run = vote_run(stage, number)
    assert (run["conclusion"], run["output"]["title"]) == (
        "failure",
        "Vote failed: yes 2, no 2, abstain 0",
    )
    # The App says the result again, in a comment of its own.
    finals = [b for b in bot_bodies(stage, number) if "coi-bot:vote-final" in b]
    assert [b for b in finals if " failure -->" in b]


async def test_an_opening_comment_edited_to_name_another_map_does_not_change_the_rules(
    stage: Stage,
) -> None:
    number = await code_change(stage)
    comment, body = app_comment(stage, number, "coi-bot:vote-opened")
    # Any blob of the repository will do: a map where Gus's senior-maintainer vote weighs 30.
    friendly = VOTE_MAP.replace(
        "senior-maintainer: {tsc: true, votes: 2}", "senior-maintainer: {tsc: true, votes: 30}"
    )
    assert friendly != VOTE_MAP
    await stage.sim.push_to_branch(REPO, "scratch", {"notes/map.yml": friendly}, author="gus")
    forged = re.sub(r"blob=\S+ source=\S+", f"blob={blob_sha(friendly)} source=repository", body)
    assert forged != body
    await stage.sim.edit_comment(REPO, comment, body=forged, editor="gus")
    await stage.settle()
    await vote(stage, number, "gus", "yes")
    run = vote_run(stage, number)
    assert run["status"] == "in_progress"
    assert run["output"]["title"].startswith("Vote open: yes 2, no 0,"), "the opening map holds"


async def test_a_vote_closed_early_stays_closed_after_a_voter_edits_theirs(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    async with stage_factory(map_text=VOTE_MAP, clock=clock) as stage:
        seed(stage)
        await closed_early_then_edited(stage, clock)
        assert stage.sim.violations == []


async def closed_early_then_edited(stage: Stage, clock: Clock) -> None:
    # Ivan's change: Alice 3, Anna 2, Gus 2 and Gina 1 may vote; a minute ago by GitHub's clock.
    number = await code_change(stage, clock=clock, ago=60)
    await vote(stage, number, "alice", "yes")
    anna = await vote(stage, number, "anna", "yes")  # 5 of 8: passed early
    assert vote_run(stage, number)["conclusion"] == "success"
    # Anna turns her vote into a no after the close: had it counted, the vote would be open again.
    clock.moment += timedelta(seconds=30)
    await stage.sim.edit_comment(REPO, anna, body="/coi vote no")
    await stage.settle()
    late = await vote(stage, number, "gina", "no")
    assert stage.sim.reactions(REPO, late) == [], "no vote is applied after the close"
    replies = [b for b in bot_bodies(stage, number) if "coi-bot:reply" in b]
    assert any("the vote closed at " in reply for reply in replies)
    run = vote_run(stage, number)
    assert (run["conclusion"], run["output"]["title"]) == (
        "success",
        "Vote passed: yes 5, no 0, abstain 0",
    )
