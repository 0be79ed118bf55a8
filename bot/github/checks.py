"""Write the check run on the head commit: create it once, then update it in place.

Nothing is written when the stored `external_id` already equals the output's fingerprint, so an
unchanged verdict costs no API call. docs.github.com/en/rest/checks/runs

The `external_id` is `<fingerprint> coi-bot/<rules version>`: the reconciler reads the version
back to re-evaluate what older verdict rules decided; a release that changes no rule re-evaluates
nothing (a full re-evaluation costs an installation of 5,000 open PRs a whole hour's budget).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import gidgethub.abc

from bot.github.snapshot import ExistingCheckRun
from bot.policy.render import annotation_batches

TEXT_LIMIT = 65_535  # maxLength of output.summary and output.text
_TRUNCATED = "\n\n… (truncated: GitHub keeps at most 65,535 characters)"

# Requested actions: label <= 20, description <= 40, identifier <= 20 (LIMITS.md).
ACTIONS: tuple[dict[str, str], ...] = (
    {
        "label": "Recheck",
        "description": "Evaluate this pull request again",
        "identifier": "recheck",
    },
    {
        "label": "Request reviewer",
        "description": "Ask a third-party TSC member to review",
        "identifier": "request",
    },
)

CheckWrite = Literal["created", "updated", "unchanged"]

_VERSION_MARK = " coi-bot/"


# Raise it with any change to bot/policy/ or bot/affiliations/ that can change a verdict of an
# unchanged PR: the reconciler then re-evaluates every open PR once, paced (bot/jobs/reconciler.py).
RULES_VERSION = "rules-2"  # rules-2: a major change with no approval yet waits (in_progress)


def stamped_external_id(fingerprint: str, *, version: str = RULES_VERSION) -> str:
    """The `external_id` written with an output: its fingerprint and the rules' version."""
    return f"{fingerprint}{_VERSION_MARK}{version}"


def parse_external_id(external_id: str | None) -> tuple[str | None, str | None]:
    """(fingerprint, rules version) of a stored `external_id`; a bare fingerprint has none."""
    if not external_id:
        return None, None
    fingerprint, mark, version = external_id.partition(_VERSION_MARK)
    return fingerprint, (version or None) if mark else None


class CheckOutputLike(Protocol):
    """What `bot.policy.render.render` returns."""

    @property
    def conclusion(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def annotations(self) -> Sequence[Any]: ...
    @property
    def fingerprint(self) -> str: ...


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - len(_TRUNCATED)] + _TRUNCATED


def annotation_json(annotation: Any) -> dict[str, Any]:
    """An annotation as GitHub's JSON, from a mapping or a dataclass; unset fields left out."""
    if isinstance(annotation, Mapping):
        fields = dict(annotation)
    elif dataclasses.is_dataclass(annotation) and not isinstance(annotation, type):
        fields = dataclasses.asdict(annotation)
    else:
        raise TypeError(f"cannot send {type(annotation).__name__} as a check-run annotation")
    return {key: value for key, value in fields.items() if value is not None}


def _output(output: CheckOutputLike, annotations: Sequence[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"title": output.title, "summary": _clip(output.summary)}
    if output.text:
        body["text"] = _clip(output.text)
    if annotations:
        body["annotations"] = list(annotations)
    return body


def _status_fields(conclusion: str, now: datetime) -> dict[str, str]:
    """A verdict as a run's status: `in_progress` is a status GitHub knows, never a conclusion
    (a conclusion or `completed_at` would complete the run). Either way the run carries the
    evaluation's time, which the reconciler compares with the PR's later changes."""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if conclusion == "in_progress":
        return {"status": "in_progress", "started_at": stamp}
    return {"status": "completed", "conclusion": conclusion, "completed_at": stamp}


# GitHub never opens a completed run again (it keeps its status and conclusion): a verdict that
# waits again on a completed run is written there as a completed verdict that still blocks.
REOPENED_WAIT = "action_required"


async def write_check_run(
    gh: gidgethub.abc.GitHubAPI,
    *,
    owner: str,
    repo: str,
    head_sha: str,
    check_name: str,
    output: CheckOutputLike,
    existing: ExistingCheckRun | None,
    now: datetime,
    duplicates: Sequence[ExistingCheckRun] = (),
    actions: Sequence[Mapping[str, str]] = ACTIONS,
) -> CheckWrite:
    """Create or update the run; at most one write plus one PATCH per 50 extra annotations.

    `duplicates`: younger runs of the same name on the head. Two evaluations (two bot processes)
    that read the head before either created its run each create one: GitHub has no idempotency
    key and no way to delete a run, so the younger one stays. Each is kept identical to the
    oldest (never retired as `neutral`, which would pass branch protection), so whichever run
    GitHub shows carries the same verdict. The race window that remains: from the snapshot read
    to the POST; until the next evaluation, each duplicate holds the verdict its writer computed.

    `actions`: the buttons shown (a merge group's run has none: there is no PR to act on).
    """
    external_id = stamped_external_id(output.fingerprint)
    stale_duplicates = [run for run in duplicates if run.external_id != external_id]
    if existing is not None and existing.external_id == external_id and not stale_duplicates:
        return "unchanged"
    # GitHub takes 50 annotations a request; the follow-up PATCHes append the rest.
    batches = annotation_batches([annotation_json(a) for a in output.annotations]) or [[]]
    body: dict[str, Any] = {
        "name": check_name,
        "head_sha": head_sha,
        **_status_fields(output.conclusion, now),
        "external_id": external_id,
        "output": _output(output, batches[0]),
        "actions": [dict(action) for action in actions],
    }
    url_vars: dict[str, str | int] = {"owner": owner, "repo": repo}
    to_update = list(stale_duplicates)
    created_ids: list[int] = []
    outcome: CheckWrite = "updated"
    if existing is None:
        created = await gh.post("/repos/{owner}/{repo}/check-runs", url_vars, data=body)
        created_ids.append(created["id"])
        outcome = "created"
    elif existing.external_id != external_id:
        to_update.insert(0, existing)
    del body["head_sha"]  # not a field of the update operation
    for run in to_update:
        fields = body
        if output.conclusion == "in_progress" and run.status == "completed":
            fields = {**body, **_status_fields(REOPENED_WAIT, now)}
            del fields["started_at"]
        await gh.patch(
            "/repos/{owner}/{repo}/check-runs/{check_run_id}",
            {**url_vars, "check_run_id": run.id},
            data=fields,
        )
    for run_id in created_ids + [run.id for run in to_update]:
        for batch in batches[1:]:
            await gh.patch(
                "/repos/{owner}/{repo}/check-runs/{check_run_id}",
                {**url_vars, "check_run_id": run_id},
                data={"output": _output(output, batch)},
            )
    return outcome
