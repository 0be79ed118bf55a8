"""Issue 20 end to end: nobody conflicted on a PR can lower the bar, each story told as the
conflicted person would try it, over real HTTP against the simulator."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from bot.stage import Stage
from tests.e2e.conftest import MAP, REPO, count, latest_check, seed
from tests.e2e.test_commands import (
    REACT,
    REQUEST,
    add_outsiders,
    bot_comments,
    nudge,
    open_core_pr,
    open_docs_pr,
    the_reply,
)


async def test_the_authors_own_minor_is_refused_with_the_reason(stage: Stage) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"

    sim.reset_calls()
    comment = await sim.post_comment(REPO, number, author="alice", body="/coi minor just docs")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required", "the author cannot lower the bar"
    reply = the_reply(stage, number)
    assert "@alice is an author: only a TSC member with no conflict" in reply
    assert f"#issuecomment-{comment}" in reply
    assert sim.reactions(REPO, comment) == []
    assert count(stage, operation=REACT) == 0


async def test_a_colleagues_minor_never_cancels_an_independent_major(stage: Stage) -> None:
    sim = stage.sim
    number = await open_docs_pr(stage)
    await sim.post_comment(REPO, number, author="ivan", body="/coi major touches the API")
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"

    colleague = await sim.post_comment(REPO, number, author="anna", body="/coi minor")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert "`/coi major` by @ivan" in run["output"]["summary"]
    assert "@anna works for Acme (`acme`), like the author" in the_reply(stage, number)
    assert sim.reactions(REPO, colleague) == []


async def test_the_declared_person_cannot_withdraw_anothers_declaration(stage: Stage) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    await sim.post_comment(REPO, number, author="ivan", body="/coi declare @gus consults for Acme")
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"

    withdrawal = await sim.post_comment(REPO, number, author="gus", body="/coi withdraw")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required", "gus's approval is still not independent"
    assert "consults for Acme" in run["output"]["summary"]
    reply = the_reply(stage, number)
    assert "@gus has a conflict declared on this pull request by @ivan" in reply
    assert "only @ivan, who declared it, or a TSC member with no conflict" in reply
    assert sim.reactions(REPO, withdrawal) == []

    # The declarer may withdraw it; gus's approval then counts.
    await sim.post_comment(REPO, number, author="ivan", body="/coi withdraw @gus")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"
    assert len(bot_comments(stage, number)) == 1, "one reply, kept up to date"


MINOR_MAP = MAP.replace(
    '  major: {paths: ["core/**"]}', '  major: {paths: ["core/**"]}\n  minor_labels: [trivial]'
)


async def test_the_authors_minor_label_does_not_count(stage_factory: Callable[..., Stage]) -> None:
    async with stage_factory(map_text=MINOR_MAP) as stage:
        seed(stage)
        sim = stage.sim
        number = await open_core_pr(stage)
        await sim.submit_review(REPO, number, reviewer="anna")
        await stage.settle()
        sim.reset_calls()
        await sim.set_labels(REPO, number, ["trivial"], sender="alice")
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "action_required"
        summary = run["output"]["summary"]
        assert "| @alice | added the label `trivial` | @alice is an author |" in summary
        assert count(stage, query="Snapshot") == 1, "who set it comes with the one snapshot"
        assert count(stage, query="ReviewLoad") == 0

        # An independent member setting it again lowers the bar.
        await sim.set_labels(REPO, number, [], sender="gus")
        await sim.set_labels(REPO, number, ["trivial"], sender="gus")
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "success"
        assert "label `trivial` marks the change minor" in run["output"]["summary"]
        assert "Refused or ignored" not in run["output"]["summary"]
        assert sim.violations == []


async def test_the_author_removing_the_major_label_changes_nothing(stage: Stage) -> None:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Docs", files={"docs/guide.md": "words\n"}, labels=["major"]
    )
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"

    await sim.set_labels(REPO, number, [], sender="alice")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert (
        "| @alice | removed the label `major` | @alice is an author |" in run["output"]["summary"]
    )

    await sim.set_labels(REPO, number, ["major"], sender="alice")
    await sim.set_labels(REPO, number, [], sender="ivan")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"


async def edit_as(stage: Stage, login: str, comment_id: int, body: str) -> None:
    """`login` edits a comment on GitHub with their own token, as anyone with write access may."""
    async with (
        aiohttp.ClientSession() as session,
        session.patch(
            f"{stage.sim.url}/repos/{REPO}/issues/comments/{comment_id}",
            json={"body": body},
            headers={
                "Authorization": f"token {stage.sim.user_token(login)}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        ) as response,
    ):
        assert response.status == 200, await response.text()


async def test_a_writer_editing_a_tsc_members_comment_into_minor_is_refused(stage: Stage) -> None:
    sim = stage.sim
    add_outsiders(stage)
    number = await open_core_pr(stage)
    await sim.submit_review(REPO, number, reviewer="anna")
    lgtm = await sim.post_comment(REPO, number, author="gus", body="LGTM")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"

    sim.reset_calls()
    await edit_as(stage, "wendy", lgtm, "/coi minor")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required", "gus's name does not lend wendy his rights"
    reply = the_reply(stage, number)
    assert "@gus (edited by @wendy)" in reply
    assert "only TSC members may use" in reply.replace("`", "'")
    assert "@gus (edited by @wendy)" in run["output"]["summary"]
    assert sim.reactions(REPO, lgtm) == [], "no +1 in gus's name"

    # An independent TSC member editing it is their own act, and says so.
    await edit_as(stage, "ivan", lgtm, "/coi minor")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "success"
    assert "`/coi minor` in @gus's comment, edited by @ivan" in run["output"]["summary"]
    assert sim.violations == []


async def test_the_author_deleting_an_independent_declaration_changes_nothing(
    stage: Stage,
) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    declaration = await sim.post_comment(
        REPO, number, author="ivan", body="/coi declare @gus consults for Acme"
    )
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"

    sim.reset_calls()
    await sim.delete_comment(REPO, declaration, sender="alice")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required", "the declaration stands"
    summary = run["output"]["summary"]
    assert "consults for Acme" in summary
    assert "| @alice | deleted @gus's conflict declared by @ivan | @alice is an author |" in summary
    assert count(stage, query="Snapshot") == 1, "the record comes back with the one snapshot"

    # Still there on the next evaluation, and the declarer may still withdraw it.
    await sim.post_comment(REPO, number, author="ivan", body="/coi withdraw @gus")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"
    assert sim.violations == []


async def test_a_declaration_deleted_by_its_declarer_is_gone(stage: Stage) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    declaration = await sim.post_comment(REPO, number, author="ivan", body="/coi declare @gus")
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"
    await sim.delete_comment(REPO, declaration, sender="ivan")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "success"
    assert "Refused or ignored" not in run["output"]["summary"]


async def test_the_author_removing_the_requested_reviewer_never_picks_another(
    stage: Stage,
) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    await sim.submit_review(REPO, number, reviewer="anna")
    await stage.settle()
    (asked,) = sim.review_requests(REPO, number)
    assert count(stage, operation=REQUEST) == 1

    # First removal by the author: the same reviewer is asked again, and the summary says so.
    await sim.remove_review_request(REPO, number, reviewer=asked, sender="alice")
    await stage.settle()
    assert sim.review_requests(REPO, number) == [asked]
    assert count(stage, operation=REQUEST) == 2
    summary = latest_check(stage, number)["output"]["summary"]
    removal = f"| @alice | removed @{asked}'s review request | @alice is an author; "
    assert f"{removal}@{asked} is asked again |" in summary

    # Second removal: nobody is asked again, nobody else is asked; the check waits.
    await sim.remove_review_request(REPO, number, reviewer=asked, sender="alice")
    await stage.settle()
    await nudge(stage, number, "later")
    assert sim.review_requests(REPO, number) == []
    assert count(stage, operation=REQUEST) == 2
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert f"The check waits on @{asked}" in run["output"]["summary"]

    # A third try, by a colleague this time, changes nothing either.
    await sim.request_review(REPO, number, reviewer=asked, sender="anna")
    await sim.remove_review_request(REPO, number, reviewer=asked, sender="anna")
    await stage.settle()
    assert sim.review_requests(REPO, number) == []
    assert count(stage, operation=REQUEST) == 2
    assert f"The check waits on @{asked}" in latest_check(stage, number)["output"]["summary"]

    # The reviewer it waits on decides.
    await sim.submit_review(REPO, number, reviewer=asked)
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"


async def test_a_stranger_opener_asks_once_and_only_on_a_major_change(stage: Stage) -> None:
    sim = stage.sim
    add_outsiders(stage)
    docs = await sim.open_pull_request(
        REPO, author="mallory", title="Docs", files={"docs/guide.md": "words\n"}
    )
    await sim.post_comment(REPO, docs, author="mallory", body="/coi request")
    await stage.settle()
    assert sim.review_requests(REPO, docs) == []
    assert "works only on a major change" in the_reply(stage, docs)

    core = await sim.open_pull_request(
        REPO, author="mallory", title="Core", files={"core/engine.py": "x = 2\n"}
    )
    first = await sim.post_comment(REPO, core, author="mallory", body="/coi request")
    await stage.settle()
    (asked,) = sim.review_requests(REPO, core)
    assert sim.reactions(REPO, first) == ["+1"]

    # The reviewer declines; asking again is refused, so nobody else is asked.
    await sim.remove_review_request(REPO, core, reviewer=asked, sender=asked)
    second = await sim.post_comment(REPO, core, author="mallory", body="/coi request")
    await stage.settle()
    assert sim.review_requests(REPO, core) == []
    assert sim.reactions(REPO, second) == []
    assert "once per pull request, and already did" in the_reply(stage, core)
    assert count(stage, operation=REQUEST) == 1


async def test_a_deleted_declaration_still_stands_after_a_push(stage: Stage) -> None:
    sim = stage.sim
    number = await open_core_pr(stage)
    declaration = await sim.post_comment(
        REPO, number, author="ivan", body="/coi declare @gus consults for Acme"
    )
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    await sim.delete_comment(REPO, declaration, sender="alice")
    await stage.settle()
    reply = the_reply(stage, number)
    assert "@alice deleted @gus's conflict declared by @ivan" in reply
    assert "the declaration stands" in reply

    # A new head has no check run yet: the App's reply still holds the record.
    await sim.push_commits(REPO, number, author="alice", files={"core/more.py": "y = 2\n"})
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required", "gus's approval is still not independent"
    assert "consults for Acme" in run["output"]["summary"]
    assert len(bot_comments(stage, number)) == 1
    assert sim.violations == []
