"""`POST /webhook`: verify, deduplicate, route, queue; answer within milliseconds.

Status codes (DESIGN.md, "The runtime contract"): 202 queued, 200 ignored or duplicate,
400 malformed, 401 bad or missing signature, 413 above 25 MiB, 503 queue full.
The work itself runs later in the scheduler; handlers only decide what to queue.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web
from gidgethub import sansio

from bot.handlers import router
from bot.intents import ButtonClick, CommentEdit
from bot.logs import log_context
from bot.pr import PullRequestRef
from bot.scheduler import Scheduler
from bot.web.signature import SIGNATURE_HEADER, signature_matches
from bot.web.state import LEDGER_KEY, METRICS_KEY, SCHEDULER_KEY, SETTINGS_KEY

log = logging.getLogger(__name__)

# GitHub caps payloads at 25 MB (LIMITS.md, "Max payload size").
MAX_BODY_BYTES = 25 * 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
# Label for deliveries whose headers cannot be trusted (unsigned): keeps metric cardinality fixed.
UNVERIFIED = "-"


class DeliveryScheduling:
    """The scheduler as one delivery's handlers see it: records what they queued or were refused."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self.accepted = 0
        self.refused = 0

    def _record(self, accepted: bool) -> bool:
        if accepted:
            self.accepted += 1
        else:
            self.refused += 1
        return accepted

    def schedule(
        self,
        ref: PullRequestRef,
        *,
        click: ButtonClick | None = None,
        edit: CommentEdit | None = None,
    ) -> bool:
        return self._record(self._scheduler.schedule(ref, click=click, edit=edit))

    def sweep(self, installation_id: int, owner: str, repo: str) -> bool:
        return self._record(self._scheduler.sweep(installation_id, owner, repo))

    def sweep_owner(self, installation_id: int, owner: str) -> bool:
        return self._record(self._scheduler.sweep_owner(installation_id, owner))

    def map_changed(self, owner: str, repo: str) -> None:
        self._scheduler.map_changed(owner, repo)


async def _read_capped(request: web.Request, *, limit: int) -> bytes | None:
    """The raw body, or None as soon as it grows beyond `limit` (chunked bodies have no length)."""
    body = bytearray()
    async for chunk in request.content.iter_chunked(READ_CHUNK_BYTES):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _subject(data: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """Repository and PR number of a payload, for log lines only."""
    repository = data.get("repository")
    full_name = repository.get("full_name") if isinstance(repository, Mapping) else None
    number = None
    for key in ("pull_request", "issue"):
        item = data.get(key)
        if isinstance(item, Mapping) and isinstance(item.get("number"), int):
            number = item["number"]
            break
    return (full_name if isinstance(full_name, str) else None), number


def _answer(
    request: web.Request,
    status: int,
    outcome: str,
    *,
    delivery: str | None,
    event: str = UNVERIFIED,
    action: str = UNVERIFIED,
    reason: str | None = None,
) -> web.Response:
    request.app[METRICS_KEY].deliveries.labels(event=event, action=action, outcome=outcome).inc()
    body: dict[str, Any] = {"status": outcome, "delivery": delivery}
    if reason is not None:
        body["reason"] = reason
    level = logging.WARNING if status >= 400 else logging.INFO
    log.log(level, "delivery %s", outcome, extra={"status": status, "reason": reason})
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


async def handle_webhook(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS_KEY]
    delivery = request.headers.get(DELIVERY_HEADER)
    with log_context(delivery=delivery):
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _answer(request, 413, "too_large", delivery=delivery, reason="above 25 MiB")
        body = await _read_capped(request, limit=MAX_BODY_BYTES)
        if body is None:
            return _answer(request, 413, "too_large", delivery=delivery, reason="above 25 MiB")
        if not signature_matches(
            body,
            secret=settings.webhook_secret.reveal(),
            header=request.headers.get(SIGNATURE_HEADER),
        ):
            reason = f"missing or bad {SIGNATURE_HEADER}"
            return _answer(request, 401, "unauthorized", delivery=delivery, reason=reason)
        event_name = request.headers.get(EVENT_HEADER)
        if not event_name or not delivery:
            reason = f"missing {EVENT_HEADER} or {DELIVERY_HEADER} header"
            return _answer(request, 400, "malformed", delivery=delivery, reason=reason)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            reason = f"not JSON: {error}"
            return _answer(
                request, 400, "malformed", delivery=delivery, event=event_name, reason=reason
            )
        if not isinstance(data, dict):
            reason = "the body is not a JSON object"
            return _answer(
                request, 400, "malformed", delivery=delivery, event=event_name, reason=reason
            )
        action = data.get("action")
        action = action if isinstance(action, str) else ""
        repository, number = _subject(data)
        with log_context(event=event_name, action=action or None, repository=repository, pr=number):
            return await _route(
                request, data, event_name=event_name, action=action, delivery=delivery
            )


async def _route(
    request: web.Request, data: dict[str, Any], *, event_name: str, action: str, delivery: str
) -> web.Response:
    labels = {"delivery": delivery, "event": event_name, "action": action}
    ledger = request.app[LEDGER_KEY]
    if not ledger.claim(delivery):
        return _answer(request, 200, "duplicate", **labels)
    scheduling = DeliveryScheduling(request.app[SCHEDULER_KEY])
    event = sansio.Event(data, event=event_name, delivery_id=delivery)
    try:
        await router.dispatch(
            event, scheduler=scheduling, map_path=request.app[SETTINGS_KEY].map_path
        )
    except (KeyError, TypeError, AttributeError) as error:
        # Signed by GitHub but not the shape its docs describe for this event.
        ledger.release(delivery)
        reason = f"payload lacks or mistypes {error}"
        return _answer(request, 400, "malformed", reason=reason, **labels)
    except BaseException:
        ledger.release(delivery)
        raise
    if scheduling.refused:
        # Forget the ID so that GitHub's redelivery of this failed delivery is processed.
        ledger.release(delivery)
        return _answer(request, 503, "queue_full", reason="the evaluation queue is full", **labels)
    if scheduling.accepted:
        return _answer(request, 202, "queued", **labels)
    return _answer(request, 200, "ignored", **labels)
