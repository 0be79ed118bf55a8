"""TSC votes end to end: a label opens a vote, `/coi vote` casts it, the `TSC vote` check run
shows the live tally and closes with one final comment; over real HTTP to the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.stage import Stage
from tests.e2e.conftest import REPO, count, seed

VOTE_CHECK = "TSC vote"
LABEL = "TSC:voting"

VOTE_MAP = """\
version: 1
companies:
  acme: {name: Acme}
  globex: {name: Globex}
  initech: {name: Initech}
people:
  alice: {role: leader, affiliations: [{company: acme}]}
  anna: {role: senior-maintainer, affiliations: [{company: acme}]}
  gus: {role: senior-maintainer, affiliations: [{company: globex}]}
  gina: {role: maintainer, affiliations: [{company: globex}]}
  ivan: {role: maintainer, affiliations: [{company: initech}]}
  carl: {role: contributor, affiliations: [{company: acme}]}
policy:
  major: {paths: ["core/**"]}
  roles:
    leader: {tsc: true, votes: 3}
    senior-maintainer: {tsc: true, votes: 2}
    maintainer: {tsc: true, votes: 1}
    contributor: {tsc: false}
  votes:
    rules: [{paths: [OWNERS.md], threshold: "2/3"}]
"""

OWNERS = """\
# Leaders ***
* Alice ([@alice](https://github.com/alice)), _Acme_

# Senior Maintainers **
* Anna ([@anna](https://github.com/anna)), _Acme_
* Gus ([@gus](https://github.com/gus)), _Globex_

# Maintainers *
* Gina ([@gina](https://github.com/gina)), _Globex_
* Ivan ([@ivan](https://github.com/ivan)), _Initech_
"""
NOMINEE = "* Jake Z ([@skiedude](https://github.com/skiedude)), _Acme_\n"


async def vote_stage(
    stage_factory: Callable[..., Stage], map_text: str = VOTE_MAP
) -> AsyncIterator[Stage]:
    async with stage_factory(map_text=map_text) as running:
        seed(running, repo_files={"README.md": "widgets\n", "OWNERS.md": OWNERS})
        running.sim.add_user("skiedude", email="jake@acme.example")
        yield running
        assert running.sim.violations == [], "the bot made requests GitHub would refuse"


@pytest.fixture
async def stage(stage_factory: Callable[..., Stage]) -> AsyncIterator[Stage]:
    async for running in vote_stage(stage_factory):
        yield running


def vote_run(stage: Stage, number: int) -> dict[str, Any]:
    runs = [
        run
        for run in stage.sim.check_runs(REPO, stage.sim.head_sha(REPO, number))
        if run["name"] == VOTE_CHECK
    ]
    assert len(runs) == 1, "one vote check run per head, updated in place"
    return runs[0]


def bot_bodies(stage: Stage, number: int) -> list[str]:
    return [str(c["body"]) for c in stage.sim.comments(REPO, number) if c["user"]["type"] == "Bot"]


async def vote(stage: Stage, number: int, who: str, choice: str) -> int:
    comment = await stage.sim.post_comment(REPO, number, author=who, body=f"/coi vote {choice}")
    await stage.settle()
    return comment


async def promotion(stage: Stage) -> int:
    number = await stage.sim.open_pull_request(
        REPO, author="gus", title="Promote Jake Z", files={"OWNERS.md": OWNERS + NOMINEE}
    )
    await stage.sim.set_labels(REPO, number, [LABEL], sender="alice")
    await stage.settle()
    return number


async def test_a_nominees_colleague_abstains_and_that_decides_the_promotion(stage: Stage) -> None:
    number = await promotion(stage)
    run = vote_run(stage, number)
    assert run["status"] == "in_progress"
    assert run["output"]["title"].startswith("Vote open: yes 0, no 0, abstain 0; closes ")
    assert "rule 1 (paths OWNERS.md) matches `OWNERS.md`" in run["output"]["summary"]

    anna = await vote(stage, number, "anna", "yes")  # Acme, like the nominee: an abstention
    await vote(stage, number, "gina", "yes")
    await vote(stage, number, "ivan", "yes")
    assert vote_run(stage, number)["status"] == "in_progress"
    # 2 yes to 2 no is below 2/3, and nobody is left; had Anna's 2 counted, 4 to 2 passes.
    await vote(stage, number, "gus", "no")

    run = vote_run(stage, number)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    summary = run["output"]["summary"]
    assert "| @anna | senior-maintainer | 2 | Acme | yes (counted as abstain) | 0 " in summary
    assert "conflicted (Acme, like the nominee @skiedude): recorded as an abstention" in summary
    assert run["output"]["title"] == "Vote failed: yes 2, no 2, abstain 0"
    finals = [body for body in bot_bodies(stage, number) if "coi-bot:vote-final" in body]
    assert len(finals) == 1
    assert "failed early, the votes not yet cast cannot change it" in finals[0]
    # Every applied vote got its +1, the conflicted one too.
    assert stage.sim.reactions(REPO, anna) == ["+1"]

    # Nothing is written twice: another event changes nothing of the closed vote.
    stage.sim.reset_calls()
    await stage.sim.set_labels(REPO, number, [LABEL, "docs"], sender="gina")
    await stage.settle()
    assert count(stage, operation="checks/update") + count(stage, operation="checks/create") == 0
    assert count(stage, operation="issues/create-comment") == 0


async def test_a_vote_after_the_close_is_refused_with_a_reply(stage: Stage) -> None:
    number = await promotion(stage)
    for who, choice in (("anna", "yes"), ("gina", "yes"), ("ivan", "yes"), ("gus", "no")):
        await vote(stage, number, who, choice)
    late = await vote(stage, number, "alice", "yes")
    assert stage.sim.reactions(REPO, late) == []
    (reply,) = [body for body in bot_bodies(stage, number) if "coi-bot:reply" in body]
    assert "the vote closed at " in reply
    assert vote_run(stage, number)["conclusion"] == "failure"
