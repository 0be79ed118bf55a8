"""`coi-bot report OWNER/REPO`: how independent review went over the merged PRs of a period.

Each merged PR is judged with the map that was in force on its base when it was merged (the map
at the merge commit's first parent), on the reviews and comments made before the merge, at the
moment of the merge. Reading is sequential through the one client (its pacing and retries); the
PR listing is REST with ETags, each PR one GraphQL read, each distinct map blob read once.
The TSC votes of the period, on any PR or issue, are read apart (bot/report_votes.py).
The numbers come from `summarize`, a pure function of the judged PRs and the votes.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TextIO

import gidgethub.abc

from bot.affiliations.loader import LoadResult, load_map_text
from bot.affiliations.model import DEFAULT_CHECK_NAME
from bot.github.map_history import OWNER_REPOSITORY, read_map_history
from bot.github.map_source import MapSource
from bot.github.queries import DEFAULT_MAP_AT, MAP_AT_COMMIT
from bot.github.snapshot import SnapshotError
from bot.github.times import github_time
from bot.judge import Judge
from bot.policy.facts import PullRequestFacts
from bot.policy.trust import LandedChange, bootstrap_commit, how_it_landed
from bot.policy.verdict import MapRef, Verdict
from bot.policy.vote_records import Outcome
from bot.report_votes import VoteThread, votes_of_period

Progress = Callable[[int, int], None]  # (judged so far, total)
NO_COMPANY = "(no company on record)"


@dataclass(frozen=True, slots=True)
class ReviewRequested:
    reviewer: str
    at: datetime
    tsc: bool = True  # a TSC member by the map that judged the PR


@dataclass(frozen=True, slots=True)
class JudgedPullRequest:
    number: int
    title: str
    url: str
    merged_at: datetime
    verdict: Verdict
    requests: tuple[ReviewRequested, ...] = ()
    # The COI check on the head when merged: a conclusion ("success", "action_required"...),
    # "in_progress" for a run still waiting, "incomplete" for a run with no conclusion and no
    # status, or "missing" when there was no run at all.
    check: str = "success"


@dataclass(slots=True)
class Load:
    """Approvals given (excluded ones aside), how many counted as independent, requests got."""

    approvals: int = 0
    independent: int = 0
    requested: int = 0


@dataclass(frozen=True, slots=True)
class Report:
    repository: str
    since: datetime
    until: datetime
    merged: tuple[JudgedPullRequest, ...]
    major: tuple[JudgedPullRequest, ...]
    independent: tuple[JudgedPullRequest, ...]  # major, with the independent approvals required
    same_company_only: tuple[JudgedPullRequest, ...]  # major, approved only by non-independents
    unapproved: tuple[JudgedPullRequest, ...]  # major, merged with no approval at all
    by_company: dict[str, Load] = field(default_factory=dict)  # company display name -> load
    by_member: dict[str, Load] = field(default_factory=dict)  # TSC login -> load
    wait_hours: tuple[float, ...] = ()  # request -> independent approval, sorted
    maps: tuple[MapRef, ...] = ()  # every map that judged a PR, in order of first use
    # Merged while the COI check was not `success`: an admin's bypass, or the check not required.
    unchecked: tuple[JudgedPullRequest, ...] = ()
    # Every TSC vote that opened or closed in the period, on PRs (merged or not) and issues.
    votes: tuple[VoteThread, ...] = ()
    # Threads whose vote records were written by a bot the reader cannot tell is the App.
    votes_unattributed: tuple[int, ...] = ()
    # Changes of the repository's map in the period that did not land reviewed (issue 22).
    unreviewed_map_changes: tuple[LandedChange, ...] = ()

    @property
    def independent_share(self) -> float | None:
        return len(self.independent) / len(self.major) if self.major else None

    @property
    def wait_median(self) -> float | None:
        return percentile(self.wait_hours, 50)

    @property
    def wait_p90(self) -> float | None:
        return percentile(self.wait_hours, 90)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (a value that occurred); None for no values."""
    if not 0 < q <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {q}")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _is_independent(verdict: Verdict) -> bool:
    return verdict.independent_count >= max(1, verdict.independent_required)


def summarize(
    repository: str,
    judged: Sequence[JudgedPullRequest],
    *,
    since: datetime,
    until: datetime,
    map_changes: Sequence[LandedChange] = (),
    votes: Sequence[VoteThread] = (),
    votes_unattributed: Sequence[int] = (),
) -> Report:
    """The report's numbers from judged PRs and the map's changes in the period: pure, so tests
    give verdicts and read numbers."""
    merged = tuple(sorted(judged, key=lambda pr: (pr.merged_at, pr.number)))
    major = tuple(pr for pr in merged if pr.verdict.classification.major)
    independent = tuple(pr for pr in major if _is_independent(pr.verdict))
    approved = [
        (pr, [a for a in pr.verdict.approvals if not a.excluded])
        for pr in major
        if not _is_independent(pr.verdict)
    ]
    same_company_only = tuple(pr for pr, given in approved if any(a.conflicted for a in given))
    unapproved = tuple(pr for pr, given in approved if not given)

    by_company: dict[str, Load] = {}
    by_member: dict[str, Load] = {}
    waits: list[float] = []
    maps: dict[tuple[str, str | None, str], MapRef] = {}
    for pr in merged:
        verdict = pr.verdict
        ref = verdict.map_ref
        maps.setdefault((ref.path, ref.blob_sha, ref.source), ref)
        names = dict(verdict.company_names)
        for approval in verdict.approvals:
            if approval.excluded:
                continue
            for company in approval.companies or (None,):
                load = by_company.setdefault(
                    names.get(company, company) if company else NO_COMPANY, Load()
                )
                load.approvals += 1
                load.independent += approval.counted
            if approval.tsc:
                member = by_member.setdefault(approval.reviewer, Load())
                member.approvals += 1
                member.independent += approval.counted
            if approval.counted:
                asked = [
                    r.at
                    for r in pr.requests
                    if r.reviewer.lower() == approval.reviewer.lower()
                    and r.at <= approval.submitted_at
                ]
                if asked:
                    waits.append((approval.submitted_at - max(asked)).total_seconds() / 3600)
        for request in pr.requests:
            if request.tsc:
                by_member.setdefault(request.reviewer, Load()).requested += 1
    return Report(
        repository=repository,
        since=since,
        until=until,
        merged=merged,
        major=major,
        independent=independent,
        same_company_only=same_company_only,
        unapproved=unapproved,
        by_company=dict(sorted(by_company.items(), key=lambda kv: (-kv[1].approvals, kv[0]))),
        by_member=dict(sorted(by_member.items(), key=lambda kv: (-kv[1].approvals, kv[0]))),
        wait_hours=tuple(sorted(waits)),
        maps=tuple(maps.values()),
        unchecked=tuple(pr for pr in merged if pr.check != "success"),
        votes=tuple(sorted(votes, key=lambda thread: (thread.vote.opened_at, thread.number))),
        votes_unattributed=tuple(votes_unattributed),
        unreviewed_map_changes=tuple(
            change
            for change in map_changes
            if not change.reviewed and since <= change.commit.committed_at < until
        ),
    )


# --- reading GitHub ---------------------------------------------------------------------------


def facts_at_merge(facts: PullRequestFacts, merged_at: datetime) -> PullRequestFacts:
    """What was there when the PR was merged: reviews and comments made later are dropped."""
    return dataclasses.replace(
        facts,
        reviews=tuple(r for r in facts.reviews if r.submitted_at <= merged_at),
        comments=tuple(c for c in facts.comments if c.created_at <= merged_at),
        requested_reviewers=(),
    )


async def merged_numbers(
    gh: gidgethub.abc.GitHubAPI, *, owner: str, repo: str, since: datetime, until: datetime
) -> list[tuple[int, datetime]]:
    """(number, merged_at) of the PRs merged in [since, until), oldest first.

    Closed PRs newest-updated first: a PR is updated when merged, so the listing stops at the
    first one last updated before `since`.
    """
    found: list[tuple[int, datetime]] = []
    pulls = gh.getiter(
        "/repos/{owner}/{repo}/pulls{?state,sort,direction,per_page}",
        {
            "owner": owner,
            "repo": repo,
            "state": "closed",
            "sort": "updated",
            "direction": "desc",
            "per_page": 100,
        },
    )
    async for pull in pulls:
        if github_time(pull["updated_at"]) < since:
            break
        merged_at = pull.get("merged_at")
        if merged_at and since <= github_time(merged_at) < until:
            found.append((int(pull["number"]), github_time(merged_at)))
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


class MapHistory:
    """Maps by blob SHA, each read and parsed once, whatever number of PRs it judged."""

    def __init__(self, maps: MapSource) -> None:
        self.maps = maps
        self._by_blob: dict[str, tuple[LoadResult, MapRef]] = {}
        self.reads = 0

    async def default_at(
        self,
        gh: gidgethub.abc.GitHubAPI,
        *,
        owner: str,
        repo: str,
        moment: datetime,
        endpoint: str,
    ) -> tuple[str, str | None]:
        """(the default branch's last commit at `moment`, the map's blob there or None)."""
        data = await gh.graphql(
            DEFAULT_MAP_AT,
            endpoint=endpoint,
            owner=owner,
            name=repo,
            until=moment.isoformat().replace("+00:00", "Z"),
            mapPath=self.maps.map_path,
        )
        self.reads += 1
        ref = (data.get("repository") or {}).get("defaultBranchRef") or {}
        nodes = ((ref.get("target") or {}).get("history") or {}).get("nodes") or []
        if not nodes or not nodes[0]:
            raise SnapshotError(f"{owner}/{repo}: the default branch had no commit at {moment}")
        blob = (nodes[0].get("mapFile") or {}).get("oid")
        return str(nodes[0]["oid"]), blob if isinstance(blob, str) else None

    async def at(
        self,
        gh: gidgethub.abc.GitHubAPI,
        *,
        owner: str,
        repo: str,
        commit: str,
        blob: str | None,
        endpoint: str,
    ) -> tuple[LoadResult, MapRef]:
        if blob is None:  # no map in the repository then: the owner's, else the bundled one
            return await self.maps.map_for(gh, owner=owner, repo=repo, branch=commit)
        cached = self._by_blob.get(blob)
        if cached is None:
            data = await gh.graphql(
                MAP_AT_COMMIT,
                endpoint=endpoint,
                owner=owner,
                name=repo,
                oid=commit,
                mapPath=self.maps.map_path,
            )
            self.reads += 1
            found = ((data.get("repository") or {}).get("object") or {}).get("mapFile") or {}
            text = (found.get("object") or {}).get("text")
            if text is None:
                raise SnapshotError(
                    f"{owner}/{repo}@{commit[:7]}: the map blob {blob} is unreadable"
                )
            ref = MapRef(path=self.maps.map_path, blob_sha=blob, source="repository")
            cached = (load_map_text(text, path=self.maps.map_path), ref)
            self._by_blob[blob] = cached
        return cached


async def judge_merged(
    gh: gidgethub.abc.GitHubAPI,
    judge: Judge,
    history: MapHistory,
    *,
    owner: str,
    repo: str,
    number: int,
) -> JudgedPullRequest:
    """One merged PR: one GraphQL read (plus pages), judged by the map in force at its merge."""
    snapshot = await judge.read(gh, owner=owner, repo=repo, number=number, merged=True)
    merge = snapshot.merge
    assert merge is not None  # read with merged=True
    commit, blob = merge.base_oid, merge.base_map_blob
    if merge.default_branch and snapshot.facts.base_ref != merge.default_branch:
        # Merged into another branch: judged, then as now, by the default branch's map.
        commit, blob = await history.default_at(
            gh, owner=owner, repo=repo, moment=merge.merged_at, endpoint=judge.graphql_url
        )
    chosen = await history.at(
        gh, owner=owner, repo=repo, commit=commit, blob=blob, endpoint=judge.graphql_url
    )
    then = facts_at_merge(snapshot.facts, merge.merged_at)
    # Write access then is unknown today: commands that turn on it are judged without it.
    judged = await judge.decide(gh, snapshot, chosen, now=merge.merged_at, facts=then, plan=False)
    amap = judged.map
    requests = tuple(
        ReviewRequested(reviewer=login, at=at, tsc=amap is not None and amap.is_tsc(login))
        for login, at in merge.requests
    )
    return JudgedPullRequest(
        number=number,
        title=snapshot.facts.title,
        url=merge.url,
        merged_at=merge.merged_at,
        verdict=judged.verdict,
        requests=requests,
        check=merge.check_conclusion(judged.check_name),
    )


async def collect(
    gh: gidgethub.abc.GitHubAPI,
    maps: MapSource,
    *,
    owner: str,
    repo: str,
    since: datetime,
    until: datetime,
    endpoint: str,
    app_id: int,
    progress: Progress | None = None,
) -> Report:
    """Read and judge every PR merged in [since, until), one after the other; `app_id`: the
    App whose check runs say how each PR stood when merged (runs of other Apps never count)."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be timezone-aware")
    if since >= until:
        raise ValueError(f"the period is empty: {since.date()} is not before {until.date()}")
    numbers = await merged_numbers(gh, owner=owner, repo=repo, since=since, until=until)
    judge = Judge(maps=maps, graphql_url=endpoint, app_id=app_id)
    history = MapHistory(maps)
    judged: list[JudgedPullRequest] = []
    for done, (number, _) in enumerate(numbers, start=1):
        judged.append(await judge_merged(gh, judge, history, owner=owner, repo=repo, number=number))
        if progress is not None:
            progress(done, len(numbers))
    changes = await map_changes_landed(gh, maps, owner=owner, repo=repo, endpoint=endpoint)
    votes = await votes_of_period(
        gh,
        maps,
        owner=owner,
        repo=repo,
        since=since,
        until=until,
        endpoint=endpoint,
        app_id=app_id,
    )
    return summarize(
        f"{owner}/{repo}",
        judged,
        since=since,
        until=until,
        map_changes=changes,
        votes=votes.threads,
        votes_unattributed=votes.unattributed,
    )


async def map_changes_landed(
    gh: gidgethub.abc.GitHubAPI, maps: MapSource, *, owner: str, repo: str, endpoint: str
) -> tuple[LandedChange, ...]:
    """How the last changes of the repository's own map landed (one history read)."""
    read = await read_map_history(
        gh,
        owner=owner,
        repo=repo,
        rev="HEAD",
        branch=None,
        map_path=maps.map_path,
        check_name=DEFAULT_CHECK_NAME,
        app_id=None,
        endpoint=endpoint,
    )
    first = bootstrap_commit(read.history, owner_repository=repo == OWNER_REPOSITORY)
    return tuple(
        how_it_landed(
            commit,
            path=maps.map_path,
            bootstrap=first is not None and commit.oid == first.oid,
            amap=None,
            day=commit.committed_at.date(),
        )
        for commit in read.history.commits
    )


# --- markdown ---------------------------------------------------------------------------------


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def _md(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


UNCHECKED_TITLE = "Merged while the COI check was not successful"
UNREVIEWED_MAP_TITLE = "Map changes that landed without review"
UNCHECKED_NOTE = (
    "Merged by an administrator's bypass, or while the check was not a required status check."
)


def check_state(check: str) -> str:
    """How the report words the COI check a PR was merged with."""
    if check == "missing":
        return "no COI check run"
    if check == "incomplete":
        return "the COI check had not finished"
    if check == "in_progress":
        return "the COI check was waiting for an approval (`in_progress`)"
    return f"COI check `{check}`"


VOTE_OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "cancelled", "open")


def vote_line(thread: VoteThread, shown: Callable[[str], str] = _md) -> str:
    """One vote of the period in words: where, what became of it, when, its tally's title;
    `shown` quotes the user's text (Markdown by default)."""
    vote = thread.vote
    when = f"opened {_day(vote.opened_at)}"
    if vote.closed_at is not None:
        when += f", {'cancelled' if vote.outcome == 'cancelled' else 'closed'} "
        when += _day(vote.closed_at)
    return (
        f"{shown(thread.title)} ({thread.kind}, {thread.state}): {vote.outcome}, {when}: "
        f"{shown(vote.title)}"
    )


def vote_counts(report: Report) -> str:
    """How many votes of the period, and of each outcome."""
    counts = Counter(thread.vote.outcome for thread in report.votes)
    shown = ", ".join(f"{counts[outcome]} {outcome}" for outcome in VOTE_OUTCOMES)
    total = f"{len(report.votes)} ({shown})" if report.votes else "0"
    return total + (" and some not counted" if report.votes_unattributed else "")


def unattributed_note(report: Report) -> str | None:
    """The threads whose vote records could not be counted, and what to do about it."""
    if not report.votes_unattributed:
        return None
    numbers = ", ".join(f"#{number}" for number in report.votes_unattributed)
    return (
        f"Not counted: the votes recorded on {numbers}, by a bot this token cannot tell is the "
        "App (run `report` with the App's key, or a token of its installation)."
    )


def _votes_section(report: Report) -> list[str]:
    """Each TSC vote of the period: its outcome and the conflicted voters' abstentions."""
    if not report.votes and not report.votes_unattributed:
        return []
    lines = ["## TSC votes", ""]
    note = unattributed_note(report)
    if note is not None:
        lines += [note, ""]
    for thread in report.votes:
        link = f"[#{thread.number}]({thread.url})" if thread.url else f"#{thread.number}"
        lines.append(f"- {link} {vote_line(thread)}")
        lines += [
            f"  - @{login} abstained as conflicted: {_md(why)}"
            for login, why in thread.vote.abstentions
        ]
    return [*lines, ""]


def render_markdown(report: Report) -> str:
    share = report.independent_share
    lines = [
        f"# Independent review in {report.repository}",
        "",
        f"Pull requests merged from {_day(report.since)} to {_day(report.until)} (exclusive), "
        "each judged with the map in force on its base when it was merged.",
        "",
        "| | |",
        "|---|---|",
        f"| Merged pull requests | {len(report.merged)} |",
        f"| Major changes | {len(report.major)} |",
        f"| Major, with independent approval | {len(report.independent)}"
        + (f" ({share:.0%})" if share is not None else "")
        + " |",
        f"| Major, approved only from the authors' side | {len(report.same_company_only)} |",
        f"| Major, merged without approval | {len(report.unapproved)} |",
        f"| Merged over the COI check | {len(report.unchecked)} |",
        f"| Changes of the map that landed unreviewed | {len(report.unreviewed_map_changes)} |",
        f"| TSC votes opened or closed | {vote_counts(report)} |",
        f"| Request to independent approval, median | {_hours(report.wait_median)} |",
        f"| Request to independent approval, p90 | {_hours(report.wait_p90)} |",
        "",
    ]
    if report.same_company_only:
        lines += ["## Merged with only same-company approval", ""]
        for pr in report.same_company_only:
            who = ", ".join(
                f"@{a.reviewer} ({_md(a.why_not or '')})"
                for a in pr.verdict.approvals
                if not a.excluded
            )
            link = f"[#{pr.number}]({pr.url})" if pr.url else f"#{pr.number}"
            lines.append(f"- {link} {_md(pr.title)}, merged {_day(pr.merged_at)}: {who}")
        lines.append("")
    if report.unchecked:
        lines += [f"## {UNCHECKED_TITLE}", "", UNCHECKED_NOTE, ""]
        for pr in report.unchecked:
            link = f"[#{pr.number}]({pr.url})" if pr.url else f"#{pr.number}"
            lines.append(
                f"- {link} {_md(pr.title)}, merged {_day(pr.merged_at)}: {check_state(pr.check)}"
            )
        lines.append("")
    if report.unreviewed_map_changes:
        lines += [f"## {UNREVIEWED_MAP_TITLE}", ""]
        for change in report.unreviewed_map_changes:
            commit = change.commit
            lines.append(
                f"- [`{commit.oid[:7]}`]({commit.url}), {_day(commit.committed_at)}: "
                f"{_md(change.how)}"
            )
        lines.append("")
    if report.unapproved:
        lines += ["## Major changes merged without approval", ""]
        for pr in report.unapproved:
            link = f"[#{pr.number}]({pr.url})" if pr.url else f"#{pr.number}"
            lines.append(f"- {link} {_md(pr.title)}, merged {_day(pr.merged_at)}")
        lines.append("")
    lines += _votes_section(report)
    lines += ["## Review load per company", "", "| Company | Approvals | Independent |"]
    lines.append("|---|---:|---:|")
    lines += [
        f"| {_md(k)} | {v.approvals} | {v.independent} |" for k, v in report.by_company.items()
    ]
    lines += ["", "## Review load per TSC member", ""]
    lines += ["| Member | Approvals | Independent | Review requests |", "|---|---:|---:|---:|"]
    lines += [
        f"| @{k} | {v.approvals} | {v.independent} | {v.requested} |"
        for k, v in report.by_member.items()
    ]
    lines += ["", "## Maps that judged", ""]
    lines += [f"- `{m.path}` ({m.source}, blob `{m.blob_sha}`)" for m in report.maps]
    if not report.maps:
        lines.append("- none: nothing was merged in the period")
    return "\n".join(lines) + "\n"


# --- the command ------------------------------------------------------------------------------


def parse_day(text: str, *, option: str) -> datetime:
    """`YYYY-MM-DD` as midnight UTC; anything else is refused with the expected form."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a date: expected YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def progress_printer(
    stream: TextIO,
    *,
    unit: str = "PRs",
    line: str = "report: {done}/{total} merged pull requests judged",
) -> Progress:
    """A bar redrawn in place on a terminal; elsewhere a plain count every 10 % and at the end."""
    tty = stream.isatty()
    step = [0]

    def show(done: int, total: int) -> None:
        if tty:
            filled = round(30 * done / total)
            end = "\n" if done == total else ""
            stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {unit}{end}")
            stream.flush()
        elif done == total or done * 10 // total > step[0]:
            step[0] = done * 10 // total
            stream.write(line.format(done=done, total=total) + "\n")

    return show
