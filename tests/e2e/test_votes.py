"""TSC votes end to end: a label opens a vote, `/coi vote` casts it, the `TSC vote` check run
shows the live tally and closes with one final comment; over real HTTP to the simulator."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.policy.markdown import as_shown
from bot.settings import Secret
from bot.stage import Stage
from bot.web.app import VOTE_TIMERS_KEY
from tests.e2e.conftest import REPO, Clock, count, seed
from tests.e2e.test_reconcile import reconciler

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
    summary = as_shown(run["output"]["summary"])
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


CAPPED_MAP = VOTE_MAP.replace(
    '    rules: [{paths: [OWNERS.md], threshold: "2/3"}]\n',
    '    rules: [{paths: [OWNERS.md], threshold: "2/3"}]\n    company_cap: 2\n',
)


async def code_change(
    stage: Stage, *, author: str = "ivan", clock: Clock | None = None, ago: float = 58
) -> int:
    number = await stage.sim.open_pull_request(
        REPO, author=author, title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    if clock is not None:  # the label went on `ago` seconds ago by GitHub's clock
        clock.moment = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=ago)
    await stage.sim.set_labels(REPO, number, [LABEL], sender="gus")
    await stage.settle()
    return number


async def test_a_company_cap_changes_the_result(stage_factory: Callable[..., Stage]) -> None:
    async for stage in vote_stage(stage_factory, CAPPED_MAP):
        number = await code_change(stage)
        # Acme casts 5 yes, Globex 3 no: 5 to 3 passes without a cap; each counts 2 with it.
        for who, choice in (("alice", "yes"), ("anna", "yes"), ("gus", "no"), ("gina", "no")):
            await vote(stage, number, who, choice)
        run = vote_run(stage, number)
        assert run["output"]["title"] == "Vote failed: yes 2, no 2, abstain 0"
        assert run["conclusion"] == "failure"
        summary = as_shown(run["output"]["summary"])
        assert "| Acme | 5 | 0 | 0 | 2 | 0 |" in summary
        assert (
            "| @alice | leader | 3 | Acme | yes | 6/5 | Acme's yes and no scaled by 2/5" in summary
        )


async def test_authors_colleagues_abstain_on_a_code_change(stage: Stage) -> None:
    number = await code_change(stage, author="gina")
    await vote(stage, number, "gus", "yes")
    summary = as_shown(vote_run(stage, number)["output"]["summary"])
    why = "conflicted (same company as the authors, Globex (`globex`)): recorded as an abstention"
    assert why in summary, "the one rule of a PR: an author's colleague"


async def test_an_edit_changes_a_vote_and_a_deletion_withdraws_it(stage: Stage) -> None:
    number = await code_change(stage)
    comment = await vote(stage, number, "alice", "yes")
    assert vote_run(stage, number)["output"]["title"].startswith("Vote open: yes 3, no 0,")
    await stage.sim.edit_comment(REPO, comment, body="/coi vote no on reflection")
    await stage.settle()
    run = vote_run(stage, number)
    assert run["output"]["title"].startswith("Vote open: yes 0, no 3,")
    assert "no `on reflection`" in run["output"]["summary"]
    await stage.sim.delete_comment(REPO, comment)
    await stage.settle()
    assert vote_run(stage, number)["output"]["title"].startswith("Vote open: yes 0, no 0,")


async def test_non_binding_votes_are_shown_and_not_counted(stage: Stage) -> None:
    number = await code_change(stage)
    comment = await vote(stage, number, "carl", "yes")
    run = vote_run(stage, number)
    assert run["output"]["title"].startswith("Vote open: yes 0, no 0,")
    assert "| @carl | contributor | 0 | Acme | yes | 0 | non-binding" in as_shown(
        run["output"]["summary"]
    )
    assert stage.sim.reactions(REPO, comment) == ["+1"]


async def test_a_label_from_outside_the_tsc_comes_off_with_a_reply(stage: Stage) -> None:
    number = await stage.sim.open_pull_request(
        REPO, author="ivan", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await stage.sim.set_labels(REPO, number, [LABEL], sender="carl")
    await stage.settle()
    assert LABEL not in stage.sim.pull(REPO, number).labels
    (reply,) = [body for body in bot_bodies(stage, number) if "coi-bot:vote-label" in body]
    assert "only TSC members open a vote: @carl is not on the TSC" in reply
    assert not [
        run
        for run in stage.sim.check_runs(REPO, stage.sim.head_sha(REPO, number))
        if run["name"] == VOTE_CHECK
    ]


async def test_removing_the_label_cancels_only_for_an_unconflicted_tsc_member(
    stage: Stage,
) -> None:
    number = await code_change(stage, author="gina")
    await stage.sim.set_labels(REPO, number, [], sender="gus")  # Globex, like the author
    await stage.settle()
    assert vote_run(stage, number)["status"] == "in_progress"
    (refused,) = [body for body in bot_bodies(stage, number) if "coi-bot:vote-label" in body]
    assert (
        "@gus is conflicted on this vote (same company as the authors, Globex (`globex`))"
        in refused
    )
    await stage.sim.set_labels(REPO, number, [LABEL], sender="gus")  # the vote goes on
    await stage.sim.set_labels(REPO, number, [], sender="ivan")
    await stage.settle()
    run = vote_run(stage, number)
    assert (run["status"], run["conclusion"]) == ("completed", "cancelled")
    assert run["output"]["title"] == "Vote cancelled by @ivan"
    cancelled = [body for body in bot_bodies(stage, number) if "coi-bot:vote-cancelled" in body]
    assert len(cancelled) == 1

    # Labelled again: a new vote on the same head, in a new run (GitHub opens no completed run).
    await stage.sim.set_labels(REPO, number, [LABEL], sender="ivan")
    await stage.settle()
    runs = [
        run
        for run in stage.sim.check_runs(REPO, stage.sim.head_sha(REPO, number))
        if run["name"] == "TSC vote"
    ]
    assert [(run["status"], run["conclusion"]) for run in runs] == [
        ("completed", "cancelled"),
        ("in_progress", None),
    ]
    await vote(stage, number, "anna", "yes")
    updated = [
        run
        for run in stage.sim.check_runs(REPO, stage.sim.head_sha(REPO, number))
        if run["name"] == "TSC vote"
    ]
    assert [run["id"] for run in updated] == [run["id"] for run in runs], "no third run"
    assert updated[-1]["output"]["title"].startswith("Vote open: yes 2"), "the new one updated"


async def test_new_commits_carry_the_vote_to_the_new_head(stage: Stage) -> None:
    number = await code_change(stage)
    await vote(stage, number, "alice", "yes")
    await stage.sim.push_commits(REPO, number, author="ivan", files={"core/more.py": "y = 2\n"})
    await stage.settle()
    run = vote_run(stage, number)
    assert run["status"] == "in_progress"
    assert run["output"]["title"].startswith("Vote open: yes 3, no 0,")
    # Closed: the result is written again on the next head, unchanged.
    for who in ("anna", "gus"):
        await vote(stage, number, who, "yes")
    closed = vote_run(stage, number)
    assert closed["conclusion"] == "success"
    await stage.sim.push_commits(REPO, number, author="ivan", files={"core/last.py": "z = 3\n"})
    await stage.settle()
    carried = vote_run(stage, number)
    assert carried["conclusion"] == closed["conclusion"]
    assert carried["output"]["title"] == closed["output"]["title"]
    assert carried["output"]["summary"] == closed["output"]["summary"]


SHORT_MAP = VOTE_MAP.replace(
    '    rules: [{paths: [OWNERS.md], threshold: "2/3"}]\n',
    '    rules: [{paths: [OWNERS.md], threshold: "2/3"}]\n    duration: 1m\n',
)


async def until_closed(stage: Stage, number: int, *, seconds: float = 5.0) -> dict[str, Any]:
    """Wait for the vote's timer (no event arrives): at most `seconds` of real time."""
    for _ in range(int(seconds / 0.05)):
        await asyncio.sleep(0.05)
        await stage.settle()
        run = vote_run(stage, number)
        if run["status"] == "completed":
            return run
    raise AssertionError("the vote did not close at its deadline")


def people_events(stage: Stage) -> int:
    """Deliveries of what people did (not the App's own comments and check suites)."""
    senders = [json.loads(d.body)["sender"] for d in stage.sim.deliveries]
    return sum(1 for sender in senders if sender["type"] != "Bot")


async def test_a_vote_closes_at_its_deadline_with_no_event(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    async with stage_factory(map_text=SHORT_MAP, clock=clock) as stage:
        seed(stage)
        # The label went on 55 s ago: the one-minute vote closes within five seconds.
        number = await code_change(stage, clock=clock, ago=55)
        assert vote_run(stage, number)["status"] == "in_progress"
        assert stage.app is not None
        assert stage.app[VOTE_TIMERS_KEY].armed == 1
        events = people_events(stage)
        run = await until_closed(stage, number, seconds=8)
        assert people_events(stage) == events, "closed by the timer, not by an event"
        assert (run["conclusion"], run["output"]["title"]) == (
            "failure",
            "Vote failed: yes 0, no 0, abstain 0",
        )
        assert "failed at the deadline" in run["output"]["summary"]
        finals = [body for body in bot_bodies(stage, number) if "coi-bot:vote-final" in body]
        assert len(finals) == 1
        assert stage.app[VOTE_TIMERS_KEY].armed == 0
        assert stage.sim.violations == []


class BotClock:
    """The bot's clock: real time, moved on by `later` (no real wait for a vote's close)."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


async def test_after_a_restart_the_reconciler_closes_a_due_vote(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    bot_clock = BotClock()
    async with stage_factory(map_text=SHORT_MAP, clock=clock, bot_clock=bot_clock) as stage:
        seed(stage)
        number = await code_change(stage, clock=clock, ago=30)
        assert stage.app is not None
        stage.app[VOTE_TIMERS_KEY].close()  # a restart: the timers are gone
        cycle = reconciler(stage)
        # At once: the open vote is queued once, to arm its timer again.
        assert (await cycle.reconcile_once()).queued == {"vote": 1}
        await stage.settle()
        assert (await cycle.reconcile_once()).queued == {}
        bot_clock.ahead = 31.0  # the bot's time passes the one-minute vote's close
        # Past its close: queued, evaluated, closed; the final comment is written once.
        assert (await cycle.reconcile_once()).queued == {"vote": 1}
        await stage.settle()
        run = vote_run(stage, number)
        assert (run["status"], run["conclusion"]) == ("completed", "failure")
        assert (await cycle.reconcile_once()).queued == {}
        finals = [body for body in bot_bodies(stage, number) if "coi-bot:vote-final" in body]
        assert len(finals) == 1


async def test_a_vote_keeps_the_map_it_opened_under(stage_factory: Callable[..., Stage]) -> None:
    async with stage_factory() as stage:
        # A direct push takes effect only under `accept` (an unreviewed map is otherwise held).
        accepting = VOTE_MAP.replace("\npolicy:\n", "\npolicy:\n  unreviewed_map: accept\n")
        assert accepting != VOTE_MAP
        files = {"README.md": "widgets\n", ".github/affiliations.yml": accepting}
        seed(stage, repo_files=files)
        number = await code_change(stage)
        (opened,) = [b for b in bot_bodies(stage, number) if "coi-bot:vote-opened" in b]
        assert "@gus opened a TSC vote: yes must be more than 1/2" in opened
        # The map changes while the vote runs: Alice's leader weight drops to 1.
        weaker = accepting.replace("leader: {tsc: true, votes: 3}", "leader: {tsc: true, votes: 1}")
        await stage.sim.push_to_branch(REPO, "main", {".github/affiliations.yml": weaker})
        await stage.settle()
        await vote(stage, number, "alice", "yes")
        title = vote_run(stage, number)["output"]["title"]
        assert title.startswith("Vote open: yes 3, no 0,"), "the rules of the opening hold"
        assert count(stage, query="MapBlob") == 1
        await vote(stage, number, "anna", "no")
        assert count(stage, query="MapBlob") == 1, "the opening map is read once"
        assert stage.sim.violations == []


async def test_the_report_lists_the_periods_votes_and_conflicted_abstentions(
    stage: Stage,
) -> None:
    from bot.dryrun import Credentials, connect
    from bot.github.map_source import MapSource
    from bot.report import collect, render_markdown
    from bot.report_html import render_html

    number = await promotion(stage)
    for who, choice in (("anna", "yes"), ("gina", "yes"), ("ivan", "yes"), ("gus", "no")):
        await vote(stage, number, who, choice)
    await stage.sim.close_pull_request(REPO, number, merge=True, sender="gus")
    await stage.settle()
    token = stage.sim.issue_token("acme")
    now = stage.sim.now()
    assert stage.settings is not None
    credentials = Credentials(token=Secret(token))
    async with connect(
        credentials, api_url=stage.sim.url, graphql_url=stage.sim.graphql_url, owner="acme"
    ) as gh:
        report = await collect(
            gh,
            MapSource(map_path=".github/affiliations.yml", bundled_map=stage.settings.bundled_map),
            owner="acme",
            repo="widgets",
            since=now - timedelta(days=1),
            until=now + timedelta(days=1),
            endpoint=stage.sim.graphql_url,
            app_id=stage.sim.app_id,
        )
    (held,) = report.votes
    closed = held.vote
    assert (held.number, held.kind, held.state) == (number, "pull request", "merged")
    assert (closed.outcome, closed.title) == ("failed", "Vote failed: yes 2, no 2, abstain 0")
    assert closed.abstentions == (
        ("anna", "conflicted (Acme, like the nominee @skiedude): recorded as an abstention"),
    )
    markdown = render_markdown(report)
    assert "## TSC votes" in markdown
    assert "  - @anna abstained as conflicted: conflicted (Acme, like the nominee" in markdown
    assert "@anna abstained as conflicted (conflicted (Acme, like the nominee" in render_html(
        report
    )


async def test_what_a_vote_costs_and_what_a_pr_without_one_does_not(stage: Stage) -> None:
    plain = await stage.sim.open_pull_request(
        REPO, author="ivan", title="Docs", files={"docs/a.md": "words\n"}
    )
    await stage.settle()
    assert count(stage, query="OwnersTexts") + count(stage, query="MapBlob") == 0
    assert not [
        r
        for r in stage.sim.check_runs(REPO, stage.sim.head_sha(REPO, plain))
        if r["name"] == VOTE_CHECK
    ]
    number = await promotion(stage)
    # The label event's map, from the map's history: read once, then the opening comment says.
    assert count(stage, query="MapHistory") == 1
    stage.sim.reset_calls()
    await vote(stage, number, "gina", "yes")
    assert count(stage, query="MapHistory") + count(stage, query="MapBlob") == 0
    # One cast vote: the snapshot, OWNERS.md before and after, the tally's update, the +1.
    assert count(stage, query="Snapshot") == 1
    assert count(stage, query="OwnersTexts") == 1
    assert count(stage, operation="checks/update") == 1  # the tally; the COI check is unchanged
    assert count(stage, operation="reactions/create-for-issue-comment") == 1
    assert count(stage, operation="issues/create-comment") == 0


async def test_stackstorms_own_promotion_under_the_bundled_map(
    stage_factory: Callable[..., Stage], stackstorm_dir: Path
) -> None:
    """PR #6365 of StackStorm/st2, "Promote Jake Z (@skiedude) to Maintainer", replayed: the
    bundled map's weights and its 2/3 rule for OWNERS.md; the nominee's own vote abstains."""
    owners = (stackstorm_dir / "OWNERS.md").read_text(encoding="utf-8")
    line = next(text for text in owners.splitlines(keepends=True) if "[@skiedude]" in text)
    bundled = (Path(__file__).parents[2] / "config" / "affiliations.yml").read_text()
    async with stage_factory(map_text=bundled) as stage:
        seed(stage, repo_files={"README.md": "st2\n", "OWNERS.md": owners.replace(line, "")})
        for login in ("dzimine", "cognifloyd", "amanda11", "nzlosh", "skiedude"):
            stage.sim.add_user(login, email=f"{login}@users.example")
        number = await stage.sim.open_pull_request(
            REPO, author="cognifloyd", title="Promote Jake Z", files={"OWNERS.md": owners}
        )
        await stage.sim.set_labels(REPO, number, [LABEL], sender="dzimine")
        await stage.settle()
        for who, choice in (("cognifloyd", "yes"), ("amanda11", "yes"), ("nzlosh", "no")):
            await vote(stage, number, who, choice)
        await vote(stage, number, "skiedude", "yes")
        summary = as_shown(vote_run(stage, number)["output"]["summary"])
        assert "rule 1 (paths OWNERS.md, GOVERNANCE.md) matches `OWNERS.md`" in summary
        assert summary.startswith("**open: yes 4 of 6 cast yes and no, at least 2/3 needed**")
        assert "| @cognifloyd | senior-maintainer | 2 | Copart | yes | 2 |  |" in summary
        assert (
            "| @skiedude | maintainer | 1 | Adobe | yes (counted as abstain) | 0 "
            "| conflicted (the nominee @skiedude): recorded as an abstention |"
        ) in summary
        # 14 TSC members weigh 3 + 5 x 2 + 8 x 1 = 21; the nominee's 1 is set aside.
        assert "Quorum: 6 of 20 eligible weight voted" in summary
        assert stage.sim.violations == []


async def test_a_declared_conflict_makes_a_vote_an_abstention(stage: Stage) -> None:
    number = await code_change(stage)
    await stage.sim.post_comment(
        REPO, number, author="alice", body="/coi declare my brother wrote this"
    )
    await vote(stage, number, "alice", "yes")
    summary = as_shown(vote_run(stage, number)["output"]["summary"])
    assert (
        "| @alice | leader | 3 | Acme | yes (counted as abstain) | 0 "
        "| conflicted (conflict declared on this proposal by @alice: my brother wrote this): "
        "recorded as an abstention |"
    ) in summary


async def test_a_vote_on_an_issue_keeps_its_tally_in_one_comment(stage: Stage) -> None:
    number = await stage.sim.open_issue(REPO, author="ivan", title="Adopt a release cadence")
    await stage.sim.set_issue_labels(REPO, number, [LABEL], sender="gus")
    await stage.settle()
    (live,) = [b for b in bot_bodies(stage, number) if b.startswith("<!-- coi-bot:vote-live -->")]
    assert "### Vote open: yes 0, no 0, abstain 0; closes " in live
    alice = await vote(stage, number, "alice", "yes")
    (live,) = [b for b in bot_bodies(stage, number) if b.startswith("<!-- coi-bot:vote-live -->")]
    assert "### Vote open: yes 3, no 0, abstain 0;" in live
    await vote(stage, number, "ivan", "yes")  # the author: an abstention
    await vote(stage, number, "anna", "yes")  # 5 of the 8 that count: passed
    bodies = bot_bodies(stage, number)
    (live,) = [b for b in bodies if b.startswith("<!-- coi-bot:vote-live -->")]
    assert "### Vote passed: yes 5, no 0, abstain 0" in live
    assert "| @ivan | maintainer | 1 | Initech | yes (counted as abstain) | 0 " in live
    finals = [b for b in bodies if "coi-bot:vote-final" in b]
    assert len(finals) == 1
    assert stage.sim.reactions(REPO, alice) == ["+1"]
    late = await vote(stage, number, "gina", "no")
    assert stage.sim.reactions(REPO, late) == []
    (reply,) = [b for b in bot_bodies(stage, number) if "coi-bot:reply" in b]
    assert "the vote closed at " in reply


async def test_a_label_on_an_issue_from_outside_the_tsc_comes_off(stage: Stage) -> None:
    number = await stage.sim.open_issue(REPO, author="ivan", title="Rename the project")
    await stage.sim.set_issue_labels(REPO, number, [LABEL], sender="carl")
    await stage.settle()
    assert stage.sim.issue(REPO, number).labels == []
    (reply,) = [b for b in bot_bodies(stage, number) if "coi-bot:vote-label" in b]
    assert "only TSC members open a vote: @carl is not on the TSC" in reply


async def test_a_vote_on_an_issue_with_more_than_a_page_of_comments(stage: Stage) -> None:
    number = await stage.sim.open_issue(REPO, author="ivan", title="Adopt a release cadence")
    url, stage.sim.webhook_url = stage.sim.webhook_url, None  # a long debate, heard of later
    for index in range(100):
        await stage.sim.post_comment(REPO, number, author="carl", body=f"point {index}")
    stage.sim.webhook_url = url
    await stage.sim.set_issue_labels(REPO, number, [LABEL], sender="gus")
    await stage.settle()
    await vote(stage, number, "alice", "yes")
    await vote(stage, number, "anna", "yes")  # 5 of the 8 that count: passed
    bodies = bot_bodies(stage, number)
    assert len([b for b in bodies if "coi-bot:vote-opened" in b]) == 1, "opened once"
    (live,) = [b for b in bodies if b.startswith("<!-- coi-bot:vote-live -->")]
    assert "### Vote passed: yes 5, no 0, abstain 0" in live
    assert len([b for b in bodies if "coi-bot:vote-final" in b]) == 1
