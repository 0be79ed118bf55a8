"""The webhook routers, one module per event family, composed into one.

Called as `router.dispatch(event, scheduler=..., map_path=...)`: `scheduler` implements
`bot.handlers.common.Scheduling`, `map_path` is `Settings.map_path`.
"""

from __future__ import annotations

from gidgethub import routing

from bot.handlers import (
    checks,
    comments,
    installation,
    issues,
    merge_group,
    pull_request,
    push,
    reviews,
)
from bot.handlers.common import Scheduling

router = routing.Router(
    pull_request.router,
    reviews.router,
    comments.router,
    checks.router,
    installation.router,
    push.router,
    merge_group.router,
    issues.router,
)

__all__ = ["Scheduling", "router"]
