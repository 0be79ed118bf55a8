"""`pull_request_review`: an approval given, changed or dismissed changes the verdict."""

from __future__ import annotations

from gidgethub import routing

from bot.handlers.common import schedule_payload_pull_request

router = routing.Router()

EVALUATED_ACTIONS = ("submitted", "edited", "dismissed")


for _action in EVALUATED_ACTIONS:
    router.add(schedule_payload_pull_request, "pull_request_review", action=_action)
