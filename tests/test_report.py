"""The report's pure parts: verdicts in, numbers out; percentiles; Markdown, HTML and progress."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.github.snapshot import MergeFacts
from bot.policy.verdict import MapRef, evaluate
from bot.policy.vote_records import HeldVote
from bot.report import (
    NO_COMPANY,
    JudgedPullRequest,
    ReviewRequested,
    facts_at_merge,
    parse_day,
    percentile,
    progress_printer,
    render_markdown,
    summarize,
)
from bot.report_html import bar_chart, render_html, wait_histogram
from bot.report_votes import Kind, VoteThread
from tests.policy.builders import T0, approve, at, comment, facts, make_map

REF = MapRef(path=".github/affiliations.yml", blob_sha="a" * 40, source="repository")
OTHER_REF = MapRef(path=".github/affiliations.yml", blob_sha="b" * 40, source="repository")
SINCE, UNTIL = T0 - timedelta(days=1), T0 + timedelta(days=60)


def judged(
    number: int,
    *reviews: str,
    files: tuple[str, ...] = ("core/engine.py",),
    opener: str = "alice",
    requests: tuple[ReviewRequested, ...] = (),
    ref: MapRef = REF,
    **policy: object,
) -> JudgedPullRequest:
    amap = make_map(policy=policy) if policy else make_map()
    pr = facts(opener=opener, files=files, reviews=tuple(approve(r, 1) for r in reviews))
    verdict = evaluate(pr, amap, now=at(2), map_ref=ref)
    return JudgedPullRequest(
        number=number,
        title=f"PR {number}",
        url=f"https://github.com/acme/widgets/pull/{number}",
        merged_at=at(2 + number),
        verdict=verdict,
        requests=requests,
    )


def test_major_prs_are_split_by_the_approval_they_had() -> None:
    prs = [
        judged(1, "bob"),  # same company as alice only
        judged(2, "bob", "carol"),  # an independent approval too
        judged(3),  # nobody approved
        judged(4, "bob", files=("docs/a.md",)),  # minor: not counted among major
        judged(5, "dave"),  # Globex but not TSC: no independent approval, not conflicted
    ]
    report = summarize("acme/widgets", prs, since=SINCE, until=UNTIL)
    assert [pr.number for pr in report.merged] == [1, 2, 3, 4, 5]
    assert [pr.number for pr in report.major] == [1, 2, 3, 5]
    assert [pr.number for pr in report.independent] == [2]
    assert [pr.number for pr in report.same_company_only] == [1]
    assert [pr.number for pr in report.unapproved] == [3]
    assert report.independent_share == 0.25


def test_the_policy_may_require_more_than_one_independent_approval() -> None:
    pr = judged(1, "carol", independent_approvals=2, require="always")
    report = summarize("acme/widgets", [pr], since=SINCE, until=UNTIL)
    assert report.independent == ()
    assert report.same_company_only == ()


def test_load_per_company_and_per_member() -> None:
    requested = (ReviewRequested("carol", at(0.5)), ReviewRequested("erin", at(0.2)))
    prs = [judged(1, "bob", "carol", requests=requested), judged(2, "carol", "dave")]
    report = summarize("acme/widgets", prs, since=SINCE, until=UNTIL)
    assert {k: (v.approvals, v.independent) for k, v in report.by_company.items()} == {
        "Globex": (3, 2),
        "Acme": (1, 0),
    }
    assert list(report.by_company) == ["Globex", "Acme"]  # busiest first
    members = {k: (v.approvals, v.independent, v.requested) for k, v in report.by_member.items()}
    assert members == {"carol": (2, 2, 1), "bob": (1, 0, 0), "erin": (0, 0, 1)}


def test_someone_without_a_company_is_counted_apart() -> None:
    report = summarize("acme/widgets", [judged(1, "stranger")], since=SINCE, until=UNTIL)
    assert report.by_company[NO_COMPANY].approvals == 1
    assert "stranger" not in report.by_member  # not in the map: no TSC member


@pytest.mark.parametrize(
    ("requests", "expected"),
    [
        ((), ()),
        ((ReviewRequested("carol", at(0.5)),), (12.0,)),
        # the latest request before the approval is the one answered
        ((ReviewRequested("carol", at(0)), ReviewRequested("Carol", at(0.75))), (6.0,)),
        ((ReviewRequested("carol", at(1.5)),), ()),  # asked after approving: no wait
        ((ReviewRequested("erin", at(0.5)),), ()),  # someone else was asked
    ],
)
def test_wait_from_request_to_independent_approval(
    requests: tuple[ReviewRequested, ...], expected: tuple[float, ...]
) -> None:
    report = summarize(
        "acme/widgets", [judged(1, "carol", requests=requests)], since=SINCE, until=UNTIL
    )
    assert report.wait_hours == expected


def test_every_map_that_judged_is_listed_once() -> None:
    prs = [judged(1, ref=REF), judged(2, ref=OTHER_REF), judged(3, ref=REF)]
    report = summarize("acme/widgets", prs, since=SINCE, until=UNTIL)
    assert report.maps == (REF, OTHER_REF)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ((), 50, None),
        ((3.0,), 90, 3.0),
        ((1.0, 2.0, 3.0, 4.0), 50, 2.0),
        ((5.0, 1.0, 4.0, 2.0, 3.0), 50, 3.0),
        (tuple(float(i) for i in range(1, 11)), 90, 9.0),
        ((1.0, 2.0), 100, 2.0),
    ],
)
def test_percentile_is_nearest_rank(
    values: tuple[float, ...], q: float, expected: float | None
) -> None:
    assert percentile(values, q) == expected


@pytest.mark.parametrize("q", [0, -5, 101])
def test_percentile_refuses_impossible_ranks(q: float) -> None:
    with pytest.raises(ValueError, match="percentile must be"):
        percentile([1.0], q)


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1), st.floats(1, 100))
def test_percentile_is_a_value_that_occurred_and_grows_with_rank(
    values: list[float], q: float
) -> None:
    found = percentile(values, q)
    assert found in values
    assert found is not None
    assert found <= (percentile(values, min(100.0, q + 10)) or 0.0)


def test_facts_at_merge_drop_what_came_later() -> None:
    pr = facts(
        reviews=(approve("bob", 1), approve("carol", 5)),
        comments=(comment("bob", "/coi declare", 0.5), comment("carol", "late", 6)),
        requested_reviewers=("erin",),
    )
    then = facts_at_merge(pr, at(2))
    assert [r.author for r in then.reviews] == ["bob"]
    assert [c.author for c in then.comments] == ["bob"]
    assert then.requested_reviewers == ()


def test_markdown_lists_same_company_merges_with_links() -> None:
    report = summarize(
        "acme/widgets", [judged(1, "bob"), judged(2, "carol")], since=SINCE, until=UNTIL
    )
    text = render_markdown(report)
    assert text.startswith("# Independent review in acme/widgets\n")
    assert "| Major, with independent approval | 1 (50%) |" in text
    assert "- [#1](https://github.com/acme/widgets/pull/1) PR 1, merged " in text
    assert "@bob (same company as the authors, Acme (`acme`))" in text
    assert "| @carol | 1 | 1 | 0 |" in text


def test_an_empty_period_says_so() -> None:
    report = summarize("acme/widgets", [], since=SINCE, until=UNTIL)
    assert report.independent_share is None
    assert report.wait_median is None
    text = render_markdown(report)
    assert "| Request to independent approval, median | — |" in text
    assert "none: nothing was merged in the period" in text
    page = render_html(report)
    assert "No major change was merged in the period" in page


def test_html_is_one_self_contained_page() -> None:
    requests = (ReviewRequested("carol", at(0.9)),)
    report = summarize(
        "acme/<widgets>",
        [judged(1, "bob"), judged(2, "carol", requests=requests)],
        since=SINCE,
        until=UNTIL,
    )
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 3
    assert "<script" not in page
    assert "<link" not in page
    assert "acme/&lt;widgets&gt;" in page  # everything shown is escaped
    assert '<a href="https://github.com/acme/widgets/pull/1">#1</a>' in page


def test_bar_widths_are_proportional() -> None:
    svg = bar_chart("t", [("a", 2, 2), ("b", 1, 0)])
    assert svg.count('width="200"') == 2  # the longest bar spans 400 px, split in two
    assert 'width="100"' in svg


def test_wait_histogram_buckets() -> None:
    svg = wait_histogram([1.0, 5.0, 30.0, 100.0, 500.0, 600.0])
    for label in ("&lt; 4 h", "&lt; 1 day", "&lt; 3 days", "&lt; 1 week", "1 week or more"):
        assert label in svg


@pytest.mark.parametrize(
    ("text", "message"),
    [("2025-13-01", "not a date"), ("yesterday", "not a date"), ("", "not a date")],
)
def test_dates_are_days(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_day(text, option="--since")


def test_a_day_is_midnight_utc() -> None:
    assert parse_day("2025-02-01", option="--until").isoformat() == "2025-02-01T00:00:00+00:00"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal() -> None:
    stream = Terminal()
    show = progress_printer(stream)
    show(1, 4)
    show(4, 4)
    assert stream.getvalue() == (
        "\r[########......................] 1/4 PRs\r[##############################] 4/4 PRs\n"
    )


def test_progress_is_a_plain_count_elsewhere() -> None:
    stream = io.StringIO()
    show = progress_printer(stream)
    for done in range(1, 41):
        show(done, 40)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[-1] == "report: 40/40 merged pull requests judged"


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ((), "missing"),
        ((("lint", "success"),), "missing"),
        ((("COI review", None),), "incomplete"),
        ((("COI review", "neutral"), ("COI review", "success")), "success"),
        ((("COI review", "action_required"), ("lint", "success")), "action_required"),
    ],
)
def test_the_coi_check_a_pr_was_merged_with(
    runs: tuple[tuple[str, str | None], ...], expected: str
) -> None:
    merge = MergeFacts(
        merged_at=at(3), url="", base_oid="b" * 40, base_map_blob=None, requests=(), check_runs=runs
    )
    assert merge.check_conclusion("COI review") == expected


def test_merges_without_a_successful_check_are_listed_with_their_state() -> None:
    prs = [
        judged(1, "carol"),
        replace(judged(2, "carol"), check="incomplete"),
        replace(judged(3, "bob"), check="neutral"),
    ]
    report = summarize("acme/widgets", prs, since=SINCE, until=UNTIL)
    assert [pr.number for pr in report.unchecked] == [2, 3]
    text = render_markdown(report)
    assert "PR 2, merged 2026-03-05: the COI check had not finished" in text
    assert "PR 3, merged 2026-03-06: COI check `neutral`" in text
    assert "Merged while the COI check was not successful" not in render_markdown(
        summarize("acme/widgets", prs[:1], since=SINCE, until=UNTIL)
    )


def thread(number: int, vote: HeldVote, *, kind: Kind = "issue", state: str = "open") -> VoteThread:
    url = f"https://github.com/acme/widgets/issues/{number}"
    return VoteThread(kind, number, f"Proposal <{number}>", url, state, vote)


def test_every_vote_of_the_period_is_listed_with_its_outcome_in_order_of_opening() -> None:
    abstained = (("anna", "conflicted (Acme | Initech)"),)
    votes = [
        thread(7, HeldVote(at(3), "open", "Vote open: yes 1", None, abstained)),
        thread(5, HeldVote(at(1), "failed", "Vote failed: yes 0", at(2)), kind="pull request"),
        thread(6, HeldVote(at(1), "cancelled", "Vote cancelled by @gus", at(1.2)), state="closed"),
    ]
    report = summarize("acme/widgets", [], since=SINCE, until=UNTIL, votes=votes)
    assert [t.number for t in report.votes] == [5, 6, 7]
    text = render_markdown(report)
    assert "| TSC votes opened or closed | 3 (0 passed, 1 failed, 1 cancelled, 1 open) |" in text
    day = at(1).strftime("%Y-%m-%d")
    assert (
        f"- [#6](https://github.com/acme/widgets/issues/6) Proposal <6> (issue, closed): "
        f"cancelled, opened {day}, cancelled {day}: Vote cancelled by @gus"
    ) in text
    assert "(issue, open): open, opened " in text
    assert "  - @anna abstained as conflicted: conflicted (Acme \\| Initech)" in text
    page = render_html(report)
    assert "3 (0 passed, 1 failed, 1 cancelled, 1 open)" in page
    assert "Proposal &lt;7&gt; (issue, open)" in page
    assert "@anna abstained as conflicted (conflicted (Acme | Initech))" in page


def test_a_period_without_votes_says_none() -> None:
    report = summarize("acme/widgets", [], since=SINCE, until=UNTIL)
    assert "| TSC votes opened or closed | 0 |" in render_markdown(report)
    assert "## TSC votes" not in render_markdown(report)
    assert "<h2>TSC votes</h2>\n<p>None.</p>" in render_html(report)


def test_votes_recorded_by_a_bot_not_known_as_the_app_are_said_not_counted() -> None:
    report = summarize("acme/widgets", [], since=SINCE, until=UNTIL, votes_unattributed=[4, 9])
    text = render_markdown(report)
    assert "| TSC votes opened or closed | 0 and some not counted |" in text
    assert "Not counted: the votes recorded on #4, #9, by a bot this token cannot tell" in text
    assert "Not counted: the votes recorded on #4, #9" in render_html(report)
