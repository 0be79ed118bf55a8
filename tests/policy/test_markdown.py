"""User text never becomes markup or a mention: the escaping function and every place it is used
(check-run summary and text, annotations, the reply), with every injection string in a table."""

from __future__ import annotations

import re

import pytest

from bot.affiliations.loader import MapError
from bot.github.replies import reply_body
from bot.policy.commands import CommandOutcome
from bot.policy.facts import Commit, MapFile
from bot.policy.markdown import ZERO_WIDTH_JOINER, code, mention, one_line, text
from bot.policy.render import render
from bot.policy.verdict import MapRef, evaluate

from .builders import HEAD, NOW, approve, comment, facts, make_map

REF = MapRef(path=".github/affiliations.yml", blob_sha="abc123", source="repository")

# What a hostile author writes in a reason, a label, a company name or a path.
INJECTIONS = [
    "[x](https://evil.example)",
    "![img](https://evil.example/x.png)",
    "<img src=x onerror=alert(1)>",
    "<sub>small</sub>",
    "<details><summary>hidden</summary>",
    "@torvalds",
    "@org/team",
    "**bold** _it_ ~~gone~~",
    "a | b | c",
    "line one\n# a heading",
    "`code` out",
    "``` fenced",
    "https://evil.example/path",
    "www.evil.example",
    "&lt;b&gt;entity&lt;/b&gt;",
    "> quoted",
    "- listed",
]
LIVE_MENTION = re.compile(r"@(?!\u200d)(?:torvalds|org/team)")


CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)")
MARKUP = re.compile(r"[\\`*_\[\]<>#+\-.!|~&]|://|www")


def live_mention(markdown: str) -> re.Match[str] | None:
    """A mention GitHub would link: outside code spans, with nothing between `@` and name."""
    return LIVE_MENTION.search(CODE_SPAN.sub("", markdown))


def assert_inert(output: str, injection: str) -> None:
    """Outside code spans, every character of the injection that could be markup is escaped,
    and no mention it wrote is live."""
    # The App's record of declarations is an HTML comment nothing can close (bot.policy.records).
    output = re.sub(r"<!-- coi-bot:declarations \[[^<>]*\] -->", "", output)
    assert live_mention(output) is None, output
    assert "\n# a heading" not in output
    written = one_line(injection)
    outside_code = re.sub(r"\\.", "", CODE_SPAN.sub("", output))
    if MARKUP.search(written):
        assert written not in outside_code, output


@pytest.mark.parametrize("injection", INJECTIONS)
def test_text_is_inert(injection: str) -> None:
    assert_inert(text(injection), injection)
    assert "\n" not in text(injection)


@pytest.mark.parametrize(
    "value", ["plain", "a`b", "```", "`start", "end`", "x|y", "two\nlines", " ", "``a``"]
)
def test_a_code_span_cannot_be_broken_out_of(value: str) -> None:
    span = code(value)
    fence = re.match(r"`+", span)
    assert fence is not None
    inner = span[len(fence[0]) : -len(fence[0])]
    assert span.endswith(fence[0])
    assert fence[0] not in inner, "no run inside is as long as the fence"
    assert "\n" not in span
    assert "|" not in inner.replace("\\|", "")


def test_only_real_logins_are_mentioned() -> None:
    assert mention("gus") == "@gus"
    assert mention("renovate[bot]") == "@renovate[bot]"
    assert (
        mention("x](https://evil)") == f"@{ZERO_WIDTH_JOINER}x\\](https:{ZERO_WIDTH_JOINER}//evil)"
    )


def _summary_and_text(pr: object, **kwargs: object) -> str:
    verdict = evaluate(pr, make_map(**kwargs), now=NOW, map_ref=REF)  # type: ignore[arg-type]
    output = render(verdict, check_name="COI review")
    return output.summary + "\n" + output.text


@pytest.mark.parametrize("injection", INJECTIONS)
def test_a_declaration_reason_in_the_summary(injection: str) -> None:
    pr = facts(
        reviews=(approve("carol"),),
        comments=(comment("carol", f"/coi declare {injection.replace(chr(10), ' ')}"),),
    )
    assert_inert(_summary_and_text(pr), injection.replace("\n", " "))


@pytest.mark.parametrize("injection", INJECTIONS)
def test_an_override_reason_in_the_summary(injection: str) -> None:
    pr = facts(comments=(comment("carol", f"/coi major {injection.replace(chr(10), ' ')}"),))
    assert_inert(_summary_and_text(pr), injection.replace("\n", " "))


@pytest.mark.parametrize("injection", INJECTIONS)
def test_a_label_a_path_and_a_company_name_in_the_summary(injection: str) -> None:
    pr = facts(
        labels=(injection,),
        files=(f"core/{injection}.py", f"GOVERNANCE.md/{injection}"),
        reviews=(approve("bob"),),
    )
    companies = {"acme": {"name": injection}, "globex": {"name": "Globex"}}
    people = {
        "alice": {"role": "maintainer", "affiliations": [{"company": "acme"}]},
        "bob": {"role": "maintainer", "affiliations": [{"company": "acme"}]},
    }
    output = _summary_and_text(
        pr,
        companies=companies,
        people=people,
        policy={"major": {"paths": ["core/**"], "labels": [injection]}},
    )
    assert_inert(output, injection)


@pytest.mark.parametrize("injection", INJECTIONS)
def test_a_commit_author_name_in_the_summary(injection: str) -> None:
    trailer = f"Co-authored-by: {injection.replace(chr(10), ' ')} <x@example.org>"
    pr = facts(commits=(Commit(sha=HEAD, author_login="alice", message=f"fix\n\n{trailer}"),))
    assert_inert(_summary_and_text(pr), injection.replace("\n", " "))


@pytest.mark.parametrize("injection", INJECTIONS)
def test_a_refused_command_in_the_reply(injection: str) -> None:
    written = injection.replace("\n", " ")
    outcomes = [
        CommandOutcome("c1", 1, "zed", f"/coi {written}", "unknown", False, "unknown command"),
        CommandOutcome("c2", 2, "zed", f"/coi declare {written}", "declare", False, "refused"),
    ]
    assert_inert(reply_body(outcomes, prefix="/coi"), written)


@pytest.mark.parametrize("injection", ["@torvalds", "@org/team"])
def test_a_user_written_login_in_a_refusal_is_no_mention(injection: str) -> None:
    pr = facts(comments=(comment("carol", f"/coi declare {injection}"),))
    verdict = evaluate(pr, make_map(), now=NOW, map_ref=REF)
    (outcome,) = verdict.command_outcomes
    assert outcome.reason is not None
    assert live_mention(reply_body([outcome], prefix="/coi")) is None


@pytest.mark.parametrize("injection", INJECTIONS)
def test_a_map_error_in_an_annotation_and_the_text(injection: str) -> None:
    written = injection.replace("\n", " ")
    broken = MapError(".github/affiliations.yml", 3, 1, f"unknown company {written!r}")
    pr = facts(
        files=(".github/affiliations.yml",),
        head_map=MapFile(path=".github/affiliations.yml", text=f"version: [{written}"),
    )
    verdict = evaluate(pr, make_map(), now=NOW, map_ref=REF)
    output = render(verdict, check_name="COI review")
    messages = " ".join(str(a["message"]) for a in output.annotations)
    assert LIVE_MENTION.search(messages) is None
    assert live_mention(output.text) is None
    assert code(str(broken)) not in output.text or "`" not in written


@pytest.mark.parametrize(
    "path", ["core/new\nline.py", "core/`tick`.py", "core/a|b.py", "core/x\rb.py"]
)
def test_a_path_with_a_newline_or_a_backtick_matches_and_stays_in_its_span(path: str) -> None:
    verdict = evaluate(facts(files=(path,)), make_map(), now=NOW, map_ref=REF)
    assert verdict.classification.major, "`core/**` matches whatever the path holds"
    output = render(verdict, check_name="COI review")
    assert code(path) in output.text
    assert code(path) in output.summary


def test_an_annotation_message_stays_within_githubs_64_kb() -> None:
    key = "\U0001f600@" * 30_000  # four bytes and a mention each
    pr = facts(
        files=(".github/affiliations.yml",),
        head_map=MapFile(path=".github/affiliations.yml", text=f"version: 1\n{key}: 1\n"),
    )
    output = render(evaluate(pr, make_map(), now=NOW, map_ref=REF), check_name="COI review")
    assert output.annotations
    for annotation in output.annotations:
        assert len(str(annotation["message"]).encode()) <= 64 * 1024
