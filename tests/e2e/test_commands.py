"""Issue 6 end to end: slash commands, reviewer requests and check-run buttons, over real HTTP.

Every story asserts the GitHub calls it caused, so a duplicate reaction, reply, permission
look-up or review request cannot slip in unnoticed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bot.github.replies import ALL_CLEAR, REPLY_MARKER
from bot.stage import Stage
from tests.e2e.conftest import MAP, REPO, count, latest_check, seed

REACT = "reactions/create-for-issue-comment"
REPLY = "issues/create-comment"
EDIT_REPLY = "issues/update-comment"
REQUEST = "pulls/request-reviewers"
PERMISSION = "repos/get-collaborator-permission-level"
OTHER_COMPANIES = {"gus", "gina", "ivan"}
NOBODY_LEFT = "No eligible third-party TSC member is left to ask: the TSC must act"


def add_outsiders(stage: Stage) -> None:
    """wendy: write access, not in the map; mallory: neither."""
    stage.sim.add_user("wendy", email="wendy@elsewhere.example")
    stage.sim.add_user("mallory", email="mallory@elsewhere.example")
    stage.sim.set_permission(REPO, "wendy", "write")


def bot_comments(stage: Stage, number: int) -> list[dict[str, Any]]:
    return [c for c in stage.sim.comments(REPO, number) if c["user"]["type"] == "Bot"]


def the_reply(stage: Stage, number: int) -> str:
    (reply,) = bot_comments(stage, number)
    body: str = reply["body"]
    assert body.startswith(REPLY_MARKER)
    return body


async def open_core_pr(stage: Stage, *, author: str = "alice", draft: bool = False) -> int:
    return await stage.sim.open_pull_request(
        REPO, author=author, title="Rework core", files={"core/engine.py": "x = 1\n"}, draft=draft
    )


async def open_docs_pr(stage: Stage) -> int:
    return await stage.sim.open_pull_request(
        REPO, author="alice", title="Docs", files={"docs/guide.md": "words\n"}
    )


async def nudge(stage: Stage, number: int, label: str) -> None:
    """An unrelated event: one more evaluation, which must answer nothing twice."""
    await stage.sim.set_labels(REPO, number, [label], sender="alice")
    await stage.settle()


async def test_a_declaration_is_applied_with_one_reaction_and_undoes_the_approval(
    stage: Stage,
) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    asked = sim.review_requests(REPO, number)
    assert len(asked) == 1
    assert asked[0] in OTHER_COMPANIES
    await sim.submit_review(REPO, number, reviewer=asked[0])
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"

    sim.reset_calls()
    comment = await sim.post_comment(
        REPO, number, author=asked[0], body="/coi declare I consult for Acme"
    )
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert "I consult for Acme" in run["output"]["summary"] + run["output"].get("text", "")
    assert sim.reactions(REPO, comment) == ["+1"]
    assert count(stage, operation=REACT) == 1
    assert count(stage, operation=PERMISSION) == 0, "the map settles a maintainer"
    assert bot_comments(stage, number) == []

    await nudge(stage, number, "later")
    assert count(stage, operation=REACT) == 1, "never the same reaction twice"
    assert count(stage, operation=REPLY) == 0


async def test_write_access_is_looked_up_once_and_refusals_get_one_reply(stage: Stage) -> None:
    sim = stage.sim
    add_outsiders(stage)
    number = await open_core_pr(stage)
    await stage.settle()
    sim.reset_calls()
    wendy = await sim.post_comment(REPO, number, author="wendy", body="/coi declare")
    mallory = await sim.post_comment(REPO, number, author="mallory", body="/coi declare")
    await stage.settle()
    assert sim.reactions(REPO, wendy) == ["+1"], "write access allows declaring for yourself"
    assert sim.reactions(REPO, mallory) == []
    reply = the_reply(stage, number)
    assert "@mallory" in reply
    assert "write access" in reply
    assert "`/coi declare [@login] [reason]`" in reply, "the reply shows the right syntax"
    assert "@wendy" not in reply
    looked_up = [c for c in sim.calls if c.operation_id == PERMISSION]
    assert sorted(c.path.rsplit("/", 2)[-2] for c in looked_up) == ["mallory", "wendy"]

    await nudge(stage, number, "later")
    await nudge(stage, number, "again")
    assert count(stage, operation=PERMISSION) == 2, "cached per repository and login"
    assert count(stage, operation=REPLY) == 1
    assert count(stage, operation=EDIT_REPLY) == 0, "an unchanged reply is not rewritten"
    assert count(stage, operation=REACT) == 1


@pytest.mark.parametrize(
    ("author", "body", "reason"),
    [
        ("carl", "/coi major risky", "only TSC members may use `/coi major`"),
        ("ivan", "/coi frobnicate", "unknown command `frobnicate`"),
        ("ivan", "/coi declare @nobody-here", "unknown login `@nobody-here`"),
        ("carl", "/coi declare @gus", "only TSC members may declare for someone else"),
        ("carl", "/coi recheck", "is for the PR's author, people with write access"),
        ("gus", "/coi recheck now", "takes no arguments"),
    ],
)
async def test_each_refusal_is_explained_in_the_reply(
    stage: Stage, author: str, body: str, reason: str
) -> None:
    sim = stage.sim
    number = await open_docs_pr(stage)
    await stage.settle()
    sim.reset_calls()
    comment = await sim.post_comment(REPO, number, author=author, body=body)
    await stage.settle()
    reply = the_reply(stage, number)
    assert reason.replace("`", "'") in reply.replace("`", "'")
    assert f"#issuecomment-{comment}" in reply, "the reply points at the comment"
    assert sim.reactions(REPO, comment) == []
    assert count(stage, operation=REPLY) == 1
    assert count(stage, operation=REACT) == 0
    assert latest_check(stage, number)["conclusion"] == "success", "a refusal changes nothing"


async def test_an_edited_then_deleted_command_changes_then_undoes_its_effect(
    stage: Stage,
) -> None:
    sim = stage.sim
    number = await open_docs_pr(stage)
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"
    assert sim.review_requests(REPO, number) == []

    comment = await sim.post_comment(REPO, number, author="ivan", body="/coi major touches APIs")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"
    assert len(sim.review_requests(REPO, number)) == 1, "a major change approved by Acme only"
    assert sim.reactions(REPO, comment) == ["+1"]

    sim.reset_calls()
    await sim.edit_comment(REPO, comment, body="/coi minor on second thought")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"
    assert count(stage, operation=REACT) == 0, "already answered with a +1"

    await sim.edit_comment(REPO, comment, body="/coi major")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"
    await sim.delete_comment(REPO, comment)
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"
    assert count(stage, operation=REQUEST) == 0, "the pending reviewer stays requested"
    assert bot_comments(stage, number) == []


async def test_a_refused_command_fixed_by_an_edit_clears_the_reply(stage: Stage) -> None:
    sim = stage.sim
    number = await open_docs_pr(stage)
    comment = await sim.post_comment(REPO, number, author="ivan", body="/coi majr")
    await stage.settle()
    assert "unknown command" in the_reply(stage, number)

    sim.reset_calls()
    await sim.edit_comment(REPO, comment, body="/coi major")
    await stage.settle()
    assert ALL_CLEAR in the_reply(stage, number)
    assert sim.reactions(REPO, comment) == ["+1"]
    assert (count(stage, operation=REPLY), count(stage, operation=EDIT_REPLY)) == (0, 1)
    await nudge(stage, number, "later")
    assert count(stage, operation=EDIT_REPLY) == 1


@pytest.mark.parametrize(
    "body",
    [
        "> /coi major\n\nQuoting the docs above.",
        "Try this:\n\n```\n/coi major\n```\n",
        "Indented:\n\n    /coi major\n",
        "Inline: `/coi major` is how you would do it.",
    ],
)
async def test_commands_in_quotes_and_code_are_not_commands(stage: Stage, body: str) -> None:
    sim = stage.sim
    number = await open_docs_pr(stage)
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    sim.reset_calls()
    comment = await sim.post_comment(REPO, number, author="ivan", body=body)
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"
    assert sim.reactions(REPO, comment) == []
    assert bot_comments(stage, number) == []
    assert count(stage, operation=REACT) + count(stage, operation=REQUEST) == 0


async def test_two_commands_at_the_same_moment_are_both_answered_once(stage: Stage) -> None:
    sim = stage.sim
    number = await open_docs_pr(stage)
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    sim.reset_calls()
    major, declared = await asyncio.gather(
        sim.post_comment(REPO, number, author="ivan", body="/coi major"),
        sim.post_comment(REPO, number, author="gus", body="/coi declare former Acme employee"),
    )
    await stage.settle()
    assert sim.reactions(REPO, major) == ["+1"]
    assert sim.reactions(REPO, declared) == ["+1"]
    assert count(stage, operation=REACT) == 2
    asked = sim.review_requests(REPO, number)
    assert asked in (["gina"], ["ivan"]), "gus declared a conflict: never requested"
    assert count(stage, operation=REQUEST) == 1


async def test_a_requested_reviewer_who_declares_a_conflict_is_replaced(stage: Stage) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    (first,) = sim.review_requests(REPO, number)
    assert first in OTHER_COMPANIES

    await sim.post_comment(REPO, number, author=first, body="/coi declare")
    await stage.settle()
    requested = sim.review_requests(REPO, number)
    assert len(requested) == 2
    assert requested[0] == first
    second = requested[1]
    assert second in OTHER_COMPANIES - {first}
    assert count(stage, operation=REQUEST) == 2
    summary = latest_check(stage, number)["output"]["summary"]
    assert f"@{second}" in summary

    await nudge(stage, number, "later")
    assert count(stage, operation=REQUEST) == 2, "never again while an eligible one is pending"


async def test_nobody_left_to_ask_tells_the_tsc(stage: Stage) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    for login in ("gus", "gina", "ivan"):
        await sim.post_comment(REPO, number, author=login, body="/coi declare")
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    assert sim.review_requests(REPO, number) == []
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert NOBODY_LEFT in run["output"]["summary"]
    assert count(stage, operation=REQUEST) == 0


async def test_request_asks_now_once_for_the_author(stage: Stage) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    await stage.settle()
    assert sim.review_requests(REPO, number) == [], "no review needed yet"
    comment = await sim.post_comment(REPO, number, author="alice", body="/coi request")
    await stage.settle()
    (asked,) = sim.review_requests(REPO, number)
    assert asked in OTHER_COMPANIES
    assert sim.reactions(REPO, comment) == ["+1"]

    # The reviewer approves (their request is fulfilled): the old command asks no one else.
    await sim.submit_review(REPO, number, reviewer=asked)
    await stage.settle()
    await nudge(stage, number, "later")
    assert count(stage, operation=REQUEST) == 1
    assert count(stage, operation=PERMISSION) == 0, "the author needs no look-up"


async def test_request_by_someone_without_rights_is_refused(stage: Stage) -> None:
    sim = stage.sim
    add_outsiders(stage)
    number = await open_core_pr(stage)
    comment = await sim.post_comment(REPO, number, author="mallory", body="/coi request")
    await stage.settle()
    assert sim.review_requests(REPO, number) == []
    assert sim.reactions(REPO, comment) == []
    assert "@mallory" in the_reply(stage, number)


async def test_buttons_are_honoured_for_allowed_clickers_only(stage: Stage) -> None:
    sim = stage.sim
    add_outsiders(stage)
    number = await open_core_pr(stage)
    await stage.settle()
    run_id = latest_check(stage, number)["id"]
    labels = [a["label"] for a in latest_check(stage, number)["actions"]]
    assert labels == ["Recheck", "Request reviewer"]

    sim.reset_calls()
    await sim.click_button(REPO, run_id, user="mallory", identifier="request")
    await stage.settle()
    assert sim.review_requests(REPO, number) == []
    reply = the_reply(stage, number)
    assert "@mallory clicked the Request reviewer button" in reply
    assert count(stage, operation=PERMISSION) == 1

    await sim.click_button(REPO, run_id, user="wendy", identifier="request")
    await stage.settle()
    (asked,) = sim.review_requests(REPO, number)
    assert asked in OTHER_COMPANIES
    assert count(stage, operation=REPLY) == 1
    assert count(stage, operation=EDIT_REPLY) == 0

    await sim.click_button(REPO, run_id, user="carl", identifier="recheck")
    await stage.settle()
    reply = the_reply(stage, number)
    assert "@carl clicked the Recheck button" in reply
    assert "@mallory clicked" in reply, "earlier refused clicks stay in the reply"
    assert count(stage, operation=EDIT_REPLY) == 1

    await sim.click_button(REPO, run_id, user="alice", identifier="request")
    await stage.settle()
    assert count(stage, operation=REQUEST) == 1, "an eligible reviewer is already pending"
    assert count(stage, operation=EDIT_REPLY) == 1


async def test_a_rerun_request_re_evaluates(stage: Stage) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    await stage.settle()
    sim.reset_calls()
    await sim.rerequest_check(REPO, latest_check(stage, number)["id"], user="alice")
    await stage.settle()
    assert count(stage, query="Snapshot") == 1


async def test_coalesced_clicks_are_all_judged(stage_factory: Callable[..., Stage]) -> None:
    async with stage_factory(coalesce_seconds=0.3) as stage:
        seed(stage)
        add_outsiders(stage)
        sim = stage.sim
        number = await open_core_pr(stage)
        await stage.settle()
        run_id = latest_check(stage, number)["id"]
        sim.reset_calls()
        await asyncio.gather(
            sim.click_button(REPO, run_id, user="mallory", identifier="recheck"),
            sim.click_button(REPO, run_id, user="alice", identifier="request"),
            sim.post_comment(REPO, number, author="carl", body="hello"),
        )
        await stage.settle()
        assert count(stage, query="Snapshot") == 1, "one evaluation for the burst"
        assert len(sim.review_requests(REPO, number)) == 1, "the request intent survived"
        assert "@mallory clicked the Recheck button" in the_reply(stage, number)


async def test_a_draft_is_evaluated_but_nobody_is_asked_until_ready(stage: Stage) -> None:
    sim = stage.sim
    number = await open_core_pr(stage, draft=True)
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"
    assert sim.review_requests(REPO, number) == []

    await sim.mark_ready(REPO, number)
    await stage.settle()
    (asked,) = sim.review_requests(REPO, number)
    assert asked in OTHER_COMPANIES
    assert count(stage, operation=REQUEST) == 1


async def test_a_map_pr_with_errors_is_annotated_on_its_lines_and_judged_by_the_base_map(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={".github/affiliations.yml": MAP})
        sim = stage.sim
        broken = MAP.replace("{company: initech}", "{company: initeck}").replace(
            "role: contributor", "role: janitor"
        )
        lines = broken.splitlines()
        expected = sorted(
            index + 1 for index, line in enumerate(lines) if "initeck" in line or "janitor" in line
        )
        number = await sim.open_pull_request(
            REPO, author="carl", title="Map", files={".github/affiliations.yml": broken}
        )
        await sim.post_comment(REPO, number, author="ivan", body="/coi declare")
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "failure"
        annotated = sorted(a["start_line"] for a in run["annotations"])
        assert annotated == expected
        assert all(a["path"] == ".github/affiliations.yml" for a in run["annotations"])
        # The base map still judges commands: ivan is a maintainer there.
        assert count(stage, operation=REACT) == 1
        assert sim.violations == []


async def test_a_reviewer_who_removes_their_request_is_replaced_and_never_asked_again(
    stage: Stage,
) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    (first,) = sim.review_requests(REPO, number)
    assert first in OTHER_COMPANIES
    assert count(stage, operation=REQUEST) == 1

    # Declining on GitHub: the requested reviewer removes themselves from the request.
    await sim.remove_review_request(REPO, number, reviewer=first, sender=first)
    await stage.settle()
    (second,) = sim.review_requests(REPO, number)
    assert second in OTHER_COMPANIES - {first}
    assert count(stage, operation=REQUEST) == 2, "exactly one new request"
    summary = latest_check(stage, number)["output"]["summary"]
    assert f"@{second}" in summary
    assert f"@{first}" not in summary

    await nudge(stage, number, "later")
    await nudge(stage, number, "later-still")
    assert sim.review_requests(REPO, number) == [second]
    assert count(stage, operation=REQUEST) == 2, "never again while an eligible one is pending"

    # A TSC member with no conflict removes the second one: not fought either; the last
    # candidate is asked. (The author's removals are fought: see tests/e2e/test_conflicted.py.)
    await sim.remove_review_request(REPO, number, reviewer=second, sender=first)
    await stage.settle()
    (third,) = sim.review_requests(REPO, number)
    assert third == (OTHER_COMPANIES - {first, second}).pop()
    assert count(stage, operation=REQUEST) == 3

    # The last one declines too: nobody is left, and the check asks the TSC to act.
    await sim.remove_review_request(REPO, number, reviewer=third, sender=third)
    await stage.settle()
    await nudge(stage, number, "again")
    assert sim.review_requests(REPO, number) == []
    assert count(stage, operation=REQUEST) == 3, "nobody removed is ever asked again"
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert NOBODY_LEFT in run["output"]["summary"]


async def test_an_applied_command_edited_into_a_request_asks_once(stage: Stage) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    comment = await sim.post_comment(REPO, number, author="gus", body="/coi declare")
    await stage.settle()
    assert sim.reactions(REPO, comment) == ["+1"]
    assert sim.review_requests(REPO, number) == [], "no review needed yet"

    sim.reset_calls()
    await sim.edit_comment(REPO, comment, body="/coi request")
    await stage.settle()
    (asked,) = sim.review_requests(REPO, number)
    assert asked in OTHER_COMPANIES, "gus's withdrawn declaration no longer bars him"
    assert count(stage, operation=REQUEST) == 1
    assert count(stage, operation=REACT) == 0, "the +1 is already there: never a second"
    assert sim.reactions(REPO, comment) == ["+1"]
    assert bot_comments(stage, number) == []

    # Later evaluations, and an edit that keeps the request, ask nobody else.
    await nudge(stage, number, "later")
    await sim.edit_comment(REPO, comment, body="/coi request\n\nPlease, soon.")
    await stage.settle()
    assert count(stage, operation=REQUEST) == 1, "never again while an eligible one is pending"
    assert count(stage, operation=REACT) == 0


async def test_a_command_edited_into_a_refused_request_asks_nobody(stage: Stage) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    comment = await sim.post_comment(REPO, number, author="carl", body="/coi declare")
    await stage.settle()
    assert sim.reactions(REPO, comment) == ["+1"], "carl is in the map: he may declare"

    sim.reset_calls()
    await sim.edit_comment(REPO, comment, body="/coi request")
    await stage.settle()
    assert sim.review_requests(REPO, number) == []
    reply = the_reply(stage, number)
    assert "@carl" in reply
    assert "is for the PR's author, people with write access" in reply.replace("`", "'")
    assert f"#issuecomment-{comment}" in reply
    assert count(stage, operation=REQUEST) + count(stage, operation=REACT) == 0
    # The +1 said "applied": taken back, once; the reply says why the command is refused now.
    assert sim.reactions(REPO, comment) == []
    assert count(stage, query="RemoveAppliedMark") == 1
    assert count(stage, operation=PERMISSION) == 1, "carl's write access, looked up once"

    await nudge(stage, number, "later")
    assert count(stage, query="RemoveAppliedMark") == 1, "nothing is taken back twice"
    await sim.edit_comment(REPO, comment, body="/coi declare")
    await stage.settle()
    assert sim.reactions(REPO, comment) == ["+1"], "applied again, marked again"
    assert "@carl" not in the_reply(stage, number)
