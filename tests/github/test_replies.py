"""Answers to commands: which comments get a `+1`, the reply's text, and its single upkeep."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.github.queries import MINIMIZE_DUPLICATE_REPLY, REMOVE_APPLIED_MARK
from bot.github.replies import (
    ALL_CLEAR,
    CLICK_MARKER,
    MAX_CLICK_LINES,
    MAX_QUOTED_CHARS,
    MAX_REPLY_CHARS,
    REPLY_MARKER,
    answer_commands,
    click_line,
    comments_to_react,
    desired_reply,
    duplicate_replies,
    kept_click_lines,
    marks_to_remove,
    own_replies,
    own_reply,
    reply_body,
)
from bot.policy.commands import APPLIED_MARK, CommandOutcome, new_request_asked, replay
from bot.policy.conflicts import Declaration, RefusedAct
from bot.policy.facts import Comment
from bot.policy.records import record_line
from tests.github.fakes import GRAPHQL_URL, FakeServer
from tests.policy.builders import at, comment, facts, make_map

AMAP = make_map()


async def authorization() -> str:
    return "token t"


def reacted(c: Comment) -> Comment:
    return dataclasses.replace(c, viewer_reactions=(APPLIED_MARK,))


def bot_reply(
    body: str, *, days: float = 0.9, database_id: int = 777, minimized: bool = False
) -> Comment:
    return dataclasses.replace(
        comment("coi-bot[bot]", body, days, cid=f"reply-{days}-{database_id}", bot=True),
        by_viewer=True,
        database_id=database_id,
        is_minimized=minimized,
    )


def click(login: str, *, reason: str = "not allowed") -> CommandOutcome:
    return CommandOutcome("", None, login, "the Recheck button", "recheck", False, reason)


def outcomes_of(*comments: Comment) -> tuple[CommandOutcome, ...]:
    return replay(facts(comments=comments), AMAP, writers=frozenset()).outcomes


def test_only_applied_and_unanswered_commands_get_a_reaction() -> None:
    applied = comment("carol", "/coi declare", 0.1)
    answered = reacted(comment("erin", "/coi declare", 0.2))
    refused = comment("zoe", "/coi declare", 0.3)
    twice = comment("bob", "/coi declare\n/coi recheck", 0.4)
    pr = facts(comments=(applied, answered, refused, twice))
    outcomes = replay(pr, AMAP, writers=frozenset()).outcomes
    assert comments_to_react(pr, outcomes) == (applied.database_id, twice.database_id)


def test_the_plus_one_is_taken_back_where_nothing_applies_any_more() -> None:
    still_applied = reacted(comment("carol", "/coi declare", 0.1))
    now_refused = reacted(comment("zoe", "/coi declare", 0.2))  # zoe is not in the map
    edited_to_chat = reacted(comment("erin", "thanks, all", 0.3))
    never_marked = comment("zoe", "/coi major", 0.4)
    pr = facts(comments=(still_applied, now_refused, edited_to_chat, never_marked))
    outcomes = replay(pr, AMAP, writers=frozenset()).outcomes
    assert marks_to_remove(pr, outcomes) == (now_refused.id, edited_to_chat.id)
    assert comments_to_react(pr, outcomes) == ()


async def test_answering_takes_back_a_stale_plus_one_once() -> None:
    stale = reacted(comment("erin", "thanks, all", 0.3))
    recorder = Recorder()
    answers = await answer_commands(
        recorder.server.factory(authorization),
        facts(comments=(stale,)),
        (),
        prefix="/coi",
        endpoint=GRAPHQL_URL,
    )
    assert answers.unmarked == (stale.id,)
    ((method, path, body),) = recorder.summary()
    assert (method, path) == ("POST", "/graphql")
    assert body == {"query": REMOVE_APPLIED_MARK, "variables": {"subjectId": stale.id}}
    # GitHub's next snapshot shows no `+1` from the App: nothing more to take back.
    unmarked = dataclasses.replace(stale, viewer_reactions=())
    assert marks_to_remove(facts(comments=(unmarked,)), ()) == ()


def test_a_request_is_asked_until_the_app_reacted_to_it() -> None:
    fresh = comment("alice", "/coi request", 0.1)
    pr = facts(comments=(fresh,))
    assert new_request_asked(pr, outcomes_of(fresh))
    done = facts(comments=(reacted(fresh),))
    assert not new_request_asked(done, outcomes_of(fresh))
    refused = comment("zoe", "/coi request", 0.1)
    assert not new_request_asked(facts(comments=(refused,)), outcomes_of(refused))


def test_the_reply_is_the_apps_own_marked_comment() -> None:
    someone_quoting = comment("zoe", f"{REPLY_MARKER} copied", 0.1)
    other_app = dataclasses.replace(comment("x[bot]", REPLY_MARKER, 0.2, bot=True))
    unmarked = dataclasses.replace(comment("coi-bot[bot]", "hello", 0.3, bot=True), by_viewer=True)
    mine = bot_reply(REPLY_MARKER + "\nold")
    pr = facts(comments=(someone_quoting, other_app, unmarked, mine))
    assert own_reply(pr) == mine
    assert own_reply(facts(comments=(someone_quoting, other_app))) is None


def test_no_refusal_and_no_reply_means_nothing_to_write() -> None:
    ok = comment("carol", "/coi declare", 0.1)
    assert desired_reply(facts(comments=(ok,)), outcomes_of(ok), prefix="/coi") is None


def test_the_reply_lists_refusals_with_links_then_the_syntax() -> None:
    bad = comment("zoe", "/coi major `now`", 0.1)
    body = desired_reply(facts(comments=(bad,)), outcomes_of(bad), prefix="/coi")
    assert body is not None
    first, *rest = body.splitlines()
    assert first == REPLY_MARKER
    line = next(x for x in rest if x.startswith("- @zoe"))
    assert f"(#issuecomment-{bad.database_id})" in line
    assert "only TSC members may use" in line
    assert body.rstrip().endswith("`/coi vote yes|no|abstain [reason]`.")


def test_refused_clicks_are_carried_over_deduplicated_and_bounded() -> None:
    earlier = reply_body([], prefix="/coi", clicks=[click_line(click("mallory"))])
    pr = facts(comments=(bot_reply(earlier),))
    body = desired_reply(pr, (), prefix="/coi", refused_clicks=[click("mallory"), click("carl")])
    assert body is not None
    assert kept_click_lines(body) == [click_line(click("mallory")), click_line(click("carl"))]
    many = [click(f"user{i}") for i in range(MAX_CLICK_LINES + 3)]
    body = desired_reply(pr, (), prefix="/coi", refused_clicks=many)
    assert body is not None
    lines = kept_click_lines(body)
    assert len(lines) == MAX_CLICK_LINES
    assert lines[-1] == click_line(many[-1])


def test_an_existing_reply_with_nothing_refused_says_all_clear() -> None:
    pr = facts(comments=(bot_reply(REPLY_MARKER + "\n- @zoe: refused"),))
    assert desired_reply(pr, (), prefix="/coi") == f"{REPLY_MARKER}\n{ALL_CLEAR}\n"


@given(st.text(max_size=80))
def test_a_reason_never_breaks_the_reply_layout(reason: str) -> None:
    line = click_line(click("zoe", reason=reason))
    assert "\n" not in line
    assert "\r" not in line
    assert line.endswith(CLICK_MARKER)
    assert kept_click_lines(reply_body([], prefix="/coi", clicks=[line])) == [line]


class Recorder:
    def __init__(self) -> None:
        self.server = FakeServer()
        for method, pattern, status in [
            ("POST", r"/repos/acme/widgets/issues/comments/\d+/reactions", 201),
            ("POST", r"/repos/acme/widgets/issues/\d+/comments", 201),
            ("PATCH", r"/repos/acme/widgets/issues/comments/\d+", 200),
        ]:
            self.server.route(method, pattern, self.answer(status))
        minimized = {"minimizeComment": {"minimizedComment": {"isMinimized": True}}}
        self.server.reply("POST", "/graphql", 200, {"data": minimized})

    @staticmethod
    def answer(status: int) -> Any:
        return lambda call, match: (status, {"id": 1})

    def summary(self) -> list[tuple[str, str, Any]]:
        return [(c.method, c.path, c.body) for c in self.server.calls]


async def test_answering_reacts_then_creates_the_reply() -> None:
    ok = comment("carol", "/coi declare", 0.1)
    bad = comment("zoe", "/coi declare", 0.2)
    pr = facts(comments=(ok, bad))
    recorder = Recorder()
    answers = await answer_commands(
        recorder.server.factory(authorization),
        pr,
        outcomes_of(ok, bad),
        prefix="/coi",
        endpoint=GRAPHQL_URL,
    )
    assert answers.reacted == (ok.database_id,)
    assert answers.reply == "created"
    (react, create) = recorder.summary()
    assert react == (
        "POST",
        f"/repos/acme/widgets/issues/comments/{ok.database_id}/reactions",
        {"content": "+1"},
    )
    assert create[:2] == ("POST", f"/repos/acme/widgets/issues/{pr.number}/comments")
    assert "@zoe" in create[2]["body"]


async def test_answering_twice_writes_nothing_the_second_time() -> None:
    bad = comment("zoe", "/coi declare", 0.2)
    body = desired_reply(facts(comments=(bad,)), outcomes_of(bad), prefix="/coi")
    assert body is not None
    pr = facts(comments=(bad, bot_reply(body.replace("\n", "\r\n"))))
    recorder = Recorder()
    answers = await answer_commands(
        recorder.server.factory(authorization),
        pr,
        outcomes_of(bad),
        prefix="/coi",
        endpoint=GRAPHQL_URL,
    )
    assert (answers.reacted, answers.reply) == ((), "unchanged")
    assert recorder.server.calls == []


async def test_a_changed_reply_is_edited_in_place() -> None:
    pr = facts(comments=(bot_reply(REPLY_MARKER + "\nstale", database_id=4242),))
    recorder = Recorder()
    answers = await answer_commands(
        recorder.server.factory(authorization), pr, (), prefix="/coi", endpoint=GRAPHQL_URL
    )
    assert answers.reply == "updated"
    ((method, path, body),) = recorder.summary()
    assert (method, path) == ("PATCH", "/repos/acme/widgets/issues/comments/4242")
    assert ALL_CLEAR in body["body"]


async def test_a_reply_without_a_rest_id_cannot_be_edited() -> None:
    reply = dataclasses.replace(bot_reply(REPLY_MARKER + "\nstale"), database_id=None)
    with pytest.raises(ValueError, match="no REST id"):
        await answer_commands(
            FakeServer().factory(authorization),
            facts(comments=(reply,)),
            (),
            prefix="/coi",
            endpoint=GRAPHQL_URL,
        )


async def test_nothing_to_say_costs_nothing() -> None:
    server = FakeServer()
    answers = await answer_commands(
        server.factory(authorization), facts(), (), prefix="/coi", endpoint=GRAPHQL_URL
    )
    assert (answers.reacted, answers.reply, answers.hidden) == ((), "none", ())
    assert server.calls == []


# (days after T0, REST id, minimized) of the App's marked comments -> the reply, then duplicates
REPLY_CHOICES = [
    pytest.param([(0.5, 50, False)], 50, [], id="one-reply"),
    pytest.param([(0.7, 70, False), (0.5, 50, False)], 50, [70], id="oldest-wins"),
    pytest.param([(0.5, 9, False), (0.5, 3, False)], 3, [9], id="same-second-lower-id-wins"),
    pytest.param(
        [(0.5, 50, True), (0.6, 60, False), (0.8, 80, False)], 60, [80], id="minimized-ignored"
    ),
    pytest.param([(0.5, 50, True), (0.6, 60, True)], None, [], id="all-minimized"),
    pytest.param(
        [(0.9, 90, False), (0.2, 20, False), (0.4, 40, False)], 20, [40, 90], id="three-copies"
    ),
]


@pytest.mark.parametrize(("replies", "canonical", "duplicates"), REPLY_CHOICES)
def test_the_oldest_visible_copy_is_the_reply_and_younger_ones_are_duplicates(
    replies: list[tuple[float, int, bool]], canonical: int | None, duplicates: list[int]
) -> None:
    quoted = comment("zoe", f"{REPLY_MARKER} copied", 0.1)
    pr = facts(
        comments=(
            quoted,
            *(bot_reply(REPLY_MARKER, days=d, database_id=i, minimized=m) for d, i, m in replies),
        )
    )
    reply = own_reply(pr)
    assert (reply.database_id if reply else None) == canonical
    assert [c.database_id for c in duplicate_replies(pr)] == duplicates


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(1, 10**6), st.booleans()),
        max_size=8,
        unique_by=lambda r: r[1],
    ),
    st.randoms(use_true_random=False),
)
def test_every_evaluation_picks_the_same_reply_whatever_order_github_lists_them(
    replies: list[tuple[int, int, bool]], shuffler: Any
) -> None:
    copies = [
        bot_reply(REPLY_MARKER, days=d / 86400, database_id=i, minimized=m) for d, i, m in replies
    ]
    shuffled = list(copies)
    shuffler.shuffle(shuffled)
    chosen = own_replies(facts(comments=tuple(shuffled)))
    assert chosen == own_replies(facts(comments=tuple(copies)))
    visible = [c for c in copies if not c.is_minimized]
    assert set(chosen) == set(visible)
    assert [c.created_at for c in chosen] == sorted(c.created_at for c in visible)
    if chosen:
        assert chosen[0].created_at == min(c.created_at for c in visible)


def graphql_subjects(recorder: Recorder) -> list[str]:
    calls = [c for c in recorder.server.calls if c.path == "/graphql"]
    assert all(c.body["query"] == MINIMIZE_DUPLICATE_REPLY for c in calls)
    return [c.body["variables"]["subjectId"] for c in calls]


async def test_duplicates_are_hidden_once_and_the_oldest_is_edited() -> None:
    canonical = bot_reply(REPLY_MARKER + "\nstale", days=0.3, database_id=30)
    hidden_before = bot_reply(REPLY_MARKER + "\nstale", days=0.2, database_id=20, minimized=True)
    younger = bot_reply(REPLY_MARKER + "\nstale", days=0.4, database_id=40)
    youngest = bot_reply(REPLY_MARKER + "\nstale", days=0.5, database_id=50)
    pr = facts(comments=(youngest, canonical, hidden_before, younger))
    recorder = Recorder()
    answers = await answer_commands(
        recorder.server.factory(authorization), pr, (), prefix="/coi", endpoint=GRAPHQL_URL
    )
    assert (answers.reply, answers.hidden) == ("updated", (younger.id, youngest.id))
    edit, *minimized = recorder.summary()
    assert edit[:2] == ("PATCH", "/repos/acme/widgets/issues/comments/30")
    assert [method for method, *_ in minimized] == ["POST", "POST"]
    assert graphql_subjects(recorder) == [younger.id, youngest.id]


async def test_an_up_to_date_reply_with_a_duplicate_costs_only_the_mutation() -> None:
    bad = comment("zoe", "/coi declare", 0.2)
    body = desired_reply(facts(comments=(bad,)), outcomes_of(bad), prefix="/coi")
    assert body is not None
    first = bot_reply(body, days=0.3, database_id=30)
    second = dataclasses.replace(first, id="reply-second", database_id=31)  # same second
    recorder = Recorder()
    answers = await answer_commands(
        recorder.server.factory(authorization),
        facts(comments=(bad, second, first)),
        outcomes_of(bad),
        prefix="/coi",
        endpoint=GRAPHQL_URL,
    )
    assert (answers.reply, answers.hidden) == ("unchanged", (second.id,))
    assert [c.path for c in recorder.server.calls] == ["/graphql"]
    assert graphql_subjects(recorder) == [second.id]


async def test_a_reply_hidden_by_someone_is_replaced_while_refusals_remain() -> None:
    bad = comment("zoe", "/coi declare", 0.2)
    hidden = bot_reply(REPLY_MARKER + "\nold", days=0.3, database_id=30, minimized=True)
    pr = facts(comments=(bad, hidden))
    recorder = Recorder()
    answers = await answer_commands(
        recorder.server.factory(authorization),
        pr,
        outcomes_of(bad),
        prefix="/coi",
        endpoint=GRAPHQL_URL,
    )
    assert (answers.reply, answers.hidden) == ("created", ())
    ((method, path, body),) = recorder.summary()
    assert (method, path) == ("POST", f"/repos/acme/widgets/issues/{pr.number}/comments")
    assert "old" not in body["body"]


def test_a_kept_declaration_is_said_and_recorded_in_the_reply() -> None:
    kept = RefusedAct(
        "alice",
        "deleted @gus's conflict declared by @ivan",
        "@alice is an author",
        keeps_declaration=True,
    )
    record = record_line([Declaration("gus", "ivan", "consults", "C_1", at=at(1))])
    body = desired_reply(facts(), (), prefix="/coi", kept=[kept], record=record)
    assert body is not None
    assert ALL_CLEAR in body, "no command is refused"
    assert (
        "- @alice deleted @gus's conflict declared by @ivan: @alice is an author; "
        "the declaration stands"
    ) in body
    assert body.rstrip().endswith(record)
    assert desired_reply(facts(), (), prefix="/coi") is None, "nothing kept: no reply"


def test_a_reply_quotes_a_long_command_cut_and_never_outgrows_a_comment() -> None:
    huge = CommandOutcome("c1", 1, "carl", "/coi " + "x" * 70_000, "unknown", False, "unknown")
    body = reply_body([huge] * 400, prefix="/coi")
    assert len(body) <= MAX_REPLY_CHARS
    first = body.splitlines()[3]
    assert first.endswith("…`: unknown")
    assert len(first) < MAX_QUOTED_CHARS + 100
    shown = body.count("- @carl")
    assert f"- ... and {400 - shown} more" in body
