"""`pull_request`: a change to the PR itself (commits, labels, draft state, review requests)."""

from __future__ import annotations

from gidgethub import routing

from bot.handlers.common import schedule_payload_pull_request

router = routing.Router()

EVALUATED_ACTIONS = (
    "opened",
    "reopened",
    "synchronize",
    "edited",
    "ready_for_review",
    "labeled",
    "unlabeled",
    # A removed request makes room for the next candidate; a new one may settle who is pending.
    "review_request_removed",
    "review_requested",
    # The open PRs a closed one shared its head commit with are judged again without it.
    "closed",
)


for _action in EVALUATED_ACTIONS:
    router.add(schedule_payload_pull_request, "pull_request", action=_action)
