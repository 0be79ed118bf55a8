"""`merge_group`: GitHub's merge queue asks for the required checks on a group's head commit.

`checks_requested` queues the group (bot.pr.MergeGroupRef): the engine judges each PR the group
holds (those its head ref names, and those its commits belong to) and writes one check on the
group's head. `destroyed` needs nothing: the group's
commit is gone with it. A head ref that is not a merge queue branch is logged and ignored.
docs.github.com/en/webhooks/webhook-events-and-payloads#merge_group
"""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.handlers.common import Scheduling, installation_id, log, repository_of
from bot.merge_queue import queued_pull_requests
from bot.pr import MergeGroupRef

router = routing.Router()


def _text(group: dict[str, Any], key: str) -> str:
    value = group.get(key)
    return value if isinstance(value, str) else ""


@router.register("merge_group", action="checks_requested")
async def evaluate_merge_group(
    event: sansio.Event, *args: Any, scheduler: Scheduling, **kwargs: Any
) -> None:
    group = event.data.get("merge_group")
    group = group if isinstance(group, dict) else {}
    head_sha, head_ref, base_ref = (_text(group, k) for k in ("head_sha", "head_ref", "base_ref"))
    if not head_sha or queued_pull_requests(head_ref, base_ref=base_ref) is None:
        log.warning(
            "merge group %r into %r (head %r) names no pull request: ignored",
            head_ref,
            base_ref,
            head_sha,
        )
        return
    installation = installation_id(event.data)
    if installation is None:
        return
    owner, repo = repository_of(event.data)
    # The default branch's map judges the group, whatever branch it merges into.
    default_branch = event.data["repository"].get("default_branch")
    default_branch = default_branch if isinstance(default_branch, str) else ""
    scheduler.schedule(
        MergeGroupRef(installation, owner, repo, head_sha, head_ref, base_ref, default_branch)
    )
