"""Carry out the map's trust rules (bot.policy.trust): the verdict on a map push, the comment
on a merge over the check. Decided in `policy/`, read and written here, as the engine does for
a pull request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import gidgethub.abc

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import DEFAULT_CHECK_NAME
from bot.github.checks import CheckWrite, write_check_run
from bot.github.map_history import OWNER_REPOSITORY, read_map_history
from bot.github.map_source import MapSource, git_blob_sha, own_runs_named
from bot.github.snapshot import ExistingCheckRun
from bot.judge import Judge
from bot.policy.render import CheckOutput, render_map_push
from bot.policy.trust import (
    MERGED_OVER_CHECK_MARKER,
    MapPush,
    judge_map_push,
    map_changes,
    merged_over_check_comment,
    owner_governed_before,
)
from bot.pr import MapPushRef, MergedPullRequestRef

NO_COMMIT = "0" * 40


@dataclass(frozen=True, slots=True)
class MapPushOutcome:
    written: CheckWrite
    output: CheckOutput
    graphql_requests: int


async def write_map_push_verdict(
    gh: gidgethub.abc.GitHubAPI,
    ref: MapPushRef,
    *,
    maps: MapSource,
    graphql_url: str,
    app_id: int | None,
    now: datetime,
) -> MapPushOutcome:
    """Read how the pushed map landed, write `COI review` on the pushed commit, and remember a
    reviewed version as in force (one history read, plus the previous map's text)."""
    read = await read_map_history(
        gh,
        owner=ref.owner,
        repo=ref.repo,
        rev=ref.head_sha,
        branch=ref.branch,
        map_path=maps.map_path,
        check_name=own_runs_named(app_id),
        app_id=app_id,
        endpoint=graphql_url,
    )
    requests = 1
    before: AffiliationMap | None = None
    if ref.before != NO_COMMIT:  # after a force push too: the old commit stays readable
        old_text = await maps.text_at(gh, owner=ref.owner, repo=ref.repo, oid=ref.before)
        requests += 1
        if old_text is not None:
            before = maps.parsed(git_blob_sha(old_text.encode()), old_text).map
    tip = read.tip
    after = maps.parsed(tip.blob_sha, tip.text).map if tip.blob_sha and tip.text else None
    history = read.history
    first_version = history.complete and len(history.commits) == 1
    owner_governed = (
        ref.repo != OWNER_REPOSITORY
        and bool(history.commits)
        and owner_governed_before(history, history.commits[-1].committed_at)
    )
    push = MapPush(
        head_sha=ref.head_sha,
        pusher=ref.pusher,
        forced=ref.forced,
        first_version=first_version,
        owner_governed=owner_governed,
        pull_request=tip.pull_request,
        commits=tuple(sha[:7] for sha in ref.commits),
    )
    verdict = judge_map_push(
        push,
        reviewer_map=before,
        changes=map_changes(before.document if before else None, after.document if after else None),
        day=now.date(),
    )
    check_name = before.policy.check_name if before is not None else DEFAULT_CHECK_NAME
    output = render_map_push(verdict, check_name=check_name)
    runs = [
        ExistingCheckRun(run.id, run.external_id, run.conclusion, run.name)
        for run in tip.runs
        if run.name == check_name
    ]
    written = await write_check_run(
        gh,
        owner=ref.owner,
        repo=ref.repo,
        head_sha=ref.head_sha,
        check_name=check_name,
        output=output,
        existing=runs[0] if runs else None,
        duplicates=tuple(runs[1:]),
        now=now,
        actions=(),
    )
    maps.forget(ref.owner, ref.repo)
    if verdict.conclusion != "failure" and tip.blob_sha is not None:
        await maps.remember_reviewed(ref.owner, ref.repo, tip.blob_sha)
    await maps.learn(ref.owner, ref.repo, history)  # the evaluations that follow read nothing
    return MapPushOutcome(written, output, requests)


async def comment_merged_over_check(
    gh: gidgethub.abc.GitHubAPI,
    ref: MergedPullRequestRef,
    *,
    judge: Judge,
    now: datetime,
) -> tuple[str | None, int]:
    """Say once on a PR merged while its check had not passed who merged it, their company and
    the verdict overridden; the comment's body (None when nothing was said) and the GraphQL
    reads it took."""
    snapshot = await judge.read(gh, owner=ref.owner, repo=ref.repo, number=ref.number)
    facts = snapshot.facts
    reads = snapshot.graphql_requests
    if any(c.by_viewer and MERGED_OVER_CHECK_MARKER in c.body for c in facts.comments):
        return None, reads  # said already (a redelivery, a second replica)
    loaded, _ = await judge.maps.map_for(
        gh, owner=ref.owner, repo=ref.repo, branch=snapshot.default_branch, hint=snapshot.base_map
    )
    amap = loaded.map
    check_name = amap.policy.check_name if amap is not None else DEFAULT_CHECK_NAME
    runs = [run for run in snapshot.check_runs if run.name == check_name]
    conclusion = (
        "success"
        if any(run.conclusion == "success" for run in runs)
        else (runs[0].conclusion or runs[0].status if runs else None)
    )
    body = merged_over_check_comment(
        merged_by=ref.merged_by,
        check_name=check_name,
        conclusion=conclusion,
        amap=amap,
        day=now.date(),
    )
    if body is None:
        return None, reads
    await gh.post(
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        {"owner": ref.owner, "repo": ref.repo, "issue_number": ref.number},
        data={"body": body},
    )
    return body, reads
