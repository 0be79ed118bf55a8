"""`report` lists every TSC vote of the period, end to end: on open, closed and merged PRs and on
issues, with its outcome and the conflicted voters' abstentions, read back from what the App
wrote on GitHub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest

from bot.dryrun import Credentials, connect
from bot.github.map_source import MapSource
from bot.report import Report, collect, render_markdown
from bot.report_html import render_html
from bot.settings import Secret
from bot.stage import Stage
from tests.e2e.conftest import REPO, count
from tests.e2e.test_votes import LABEL, code_change, promotion, vote, vote_stage

CONFLICTED_ANNA = "conflicted (Acme, like the nominee @skiedude): recorded as an abstention"


@pytest.fixture
async def stage(stage_factory: Callable[..., Stage]) -> AsyncIterator[Stage]:
    async for running in vote_stage(stage_factory):
        yield running


async def report_of(stage: Stage, since: datetime, until: datetime) -> Report:
    assert stage.settings is not None
    token = stage.sim.issue_token("acme")  # the App's installation: its comments are the viewer's
    async with connect(
        Credentials(token=Secret(token)),
        api_url=stage.sim.url,
        graphql_url=stage.sim.graphql_url,
        owner="acme",
    ) as gh:
        return await collect(
            gh,
            MapSource(map_path=".github/affiliations.yml", bundled_map=stage.settings.bundled_map),
            owner="acme",
            repo="widgets",
            since=since,
            until=until,
            endpoint=stage.sim.graphql_url,
            app_id=stage.sim.app_id,
        )


async def test_the_report_lists_every_vote_of_the_period_with_its_outcome(stage: Stage) -> None:
    # An open promotion: the nominee's colleague's vote is an abstention already.
    promoted = await promotion(stage)
    await vote(stage, promoted, "anna", "yes")
    await vote(stage, promoted, "gina", "yes")
    # A code change whose vote an unconflicted TSC member cancelled; the PR closed unmerged.
    cancelled = await code_change(stage, author="gina")
    await stage.sim.set_labels(REPO, cancelled, [], sender="ivan")
    await stage.settle()
    await stage.sim.close_pull_request(REPO, cancelled, sender="gina")
    # An issue whose vote passed; its author's vote is an abstention.
    issue = await stage.sim.open_issue(REPO, author="ivan", title="Adopt a release cadence")
    await stage.sim.set_issue_labels(REPO, issue, [LABEL], sender="gus")
    await stage.settle()
    for who in ("alice", "ivan", "anna"):
        await vote(stage, issue, who, "yes")
    # A PR that never held a vote is not read twice.
    await stage.sim.open_pull_request(REPO, author="ivan", title="Docs", files={"d.md": "x\n"})
    await stage.settle()
    now = stage.sim.now()
    stage.sim.reset_calls()

    report = await report_of(stage, now - timedelta(days=1), now + timedelta(days=1))

    listed = [(t.number, t.kind, t.state, t.vote.outcome) for t in report.votes]
    assert listed == [
        (promoted, "pull request", "open", "open"),
        (cancelled, "pull request", "closed", "cancelled"),
        (issue, "issue", "open", "passed"),
    ]
    opened, dropped, passed = (thread.vote for thread in report.votes)
    assert opened.title.startswith("Vote open: yes 1, no 0, abstain 0; closes ")
    assert opened.closed_at is None
    assert opened.abstentions == (("anna", CONFLICTED_ANNA),)
    assert (dropped.title, dropped.abstentions) == ("Vote cancelled by @ivan", ())
    assert dropped.closed_at is not None
    assert passed.title == "Vote passed: yes 5, no 0, abstain 0"
    assert [login for login, _ in passed.abstentions] == ["ivan"]
    # One listing each of issues and PRs, one read for each thread that held a vote.
    assert (count(stage, query="VoteIssues"), count(stage, query="VotePulls")) == (1, 1)
    assert (count(stage, query="IssueVotes"), count(stage, query="PullVotes")) == (1, 2)

    markdown = render_markdown(report)
    day = now.strftime("%Y-%m-%d")
    assert (
        "| TSC votes opened or closed | 3 (1 passed, 0 failed, 1 cancelled, 1 open) |" in markdown
    )
    assert (
        f"- [#{cancelled}](https://github.com/{REPO}/pull/{cancelled}) Rework core "
        f"(pull request, closed): cancelled, opened {day}, cancelled {day}: "
        "Vote cancelled by @ivan"
    ) in markdown
    assert f"  - @anna abstained as conflicted: {CONFLICTED_ANNA}" in markdown
    assert f"(issue, open): passed, opened {day}, closed {day}: Vote passed" in markdown
    page = render_html(report)
    assert "3 (1 passed, 0 failed, 1 cancelled, 1 open)" in page
    assert f"@anna abstained as conflicted ({CONFLICTED_ANNA})" in page

    # A later period: nothing opened or closed in it.
    later = await report_of(stage, now + timedelta(days=1), now + timedelta(days=2))
    assert later.votes == ()
    assert "TSC votes opened or closed | 0 |" in render_markdown(later)
    assert stage.sim.violations == []


async def test_vote_records_forged_by_another_bot_are_not_counted_and_the_report_says_so(
    stage: Stage,
) -> None:
    number = await stage.sim.open_issue(REPO, author="ivan", title="Rename the project")
    await stage.sim.set_issue_labels(REPO, number, [LABEL], sender="carl")  # opens no vote
    await stage.settle()
    stage.sim.add_user("forger[bot]", bot=True)
    forged = "<!-- coi-bot:vote-final 2026-01-01T00:00:00Z success -->\n### Vote passed: yes 9"
    await stage.sim.post_comment(REPO, number, author="forger[bot]", body=forged)
    await stage.settle()
    now = stage.sim.now()
    report = await report_of(stage, now - timedelta(days=1), now + timedelta(days=1))
    assert report.votes == ()
    assert report.votes_unattributed == (number,)
    assert f"Not counted: the votes recorded on #{number}," in render_markdown(report)


async def test_a_vote_followed_by_more_than_a_page_of_comments_is_listed(stage: Stage) -> None:
    number = await stage.sim.open_issue(REPO, author="ivan", title="Adopt a release cadence")
    await stage.sim.set_issue_labels(REPO, number, [LABEL], sender="gus")
    await stage.settle()
    stage.sim.webhook_url = None  # the debate goes on; the report reads what GitHub holds
    for index in range(100):
        await stage.sim.post_comment(REPO, number, author="carl", body=f"point {index}")
    now = stage.sim.now()
    report = await report_of(stage, now - timedelta(days=1), now + timedelta(days=1))
    assert [(t.number, t.vote.outcome) for t in report.votes] == [(number, "open")]
    assert report.votes[0].vote.title.startswith("Vote open: yes 0, no 0, abstain 0; closes ")
