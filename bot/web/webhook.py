"""`POST /webhook`: verify, deduplicate, keep the raw delivery, answer within milliseconds.

Status codes (DESIGN.md, "The runtime contract"): 202 kept for routing, 200 ignored (an event no
handler wants) or duplicate, 400 malformed headers, 401 bad or missing signature, 413 above
25 MiB, 503 inbox full, 500 a bug on the request path (GitHub records it; it is redelivered).

Nothing is parsed on the request path: `DeliveryRouter` takes the raw deliveries from the inbox,
parses them and routes them through the handlers into the scheduler. What it then finds wrong
is logged and counted (`coi_routed_deliveries_total`); a handler that raises is a bug, and its
delivery is asked again from GitHub by the redeliverer (`FailedAfterAck`).

Before its signature is checked a body is anyone's: bodies in flight are held to
`Settings.unverified_body_bytes` together (a declared length is reserved before a byte is read;
above the bound, 503 at once) and each is read once, into one buffer of its final size.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

import orjson
from aiohttp import web
from gidgethub import routing, sansio

from bot.handlers import payload, router
from bot.intents import ButtonClick, CommentEdit
from bot.logs import log_context
from bot.metrics import Metrics
from bot.pr import WorkRef
from bot.scheduler import Scheduler
from bot.web.inbox import Inbox, RawDelivery
from bot.web.signature import SIGNATURE_HEADER, body_key, signature_matches
from bot.web.state import (
    INBOX_KEY,
    LEDGER_KEY,
    METRICS_KEY,
    SETTINGS_KEY,
    DeliveryLedger,
    FailedAfterAck,
)

log = logging.getLogger(__name__)

# GitHub caps payloads at 25 MB (LIMITS.md, "Max payload size").
MAX_BODY_BYTES = 25 * 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
# Label for what the door cannot know: unsigned headers, or the action inside the unparsed body.
UNVERIFIED = "-"
# How long the router waits before asking a full scheduler again.
RETRY_SECONDS = 0.05
# Failures in a row, with no delivery routed between them, before the router stays down.
MAX_ROUTER_FAILURES = 5


class UnverifiedBodies:
    """Bytes of request bodies being read or held before their signature is checked."""

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError(f"the bound on unverified bodies must be positive, got {limit}")
        self.limit = limit
        self.held = 0

    @contextmanager
    def reservation(self) -> Iterator[Callable[[int], None]]:
        """A function that reserves more bytes for one body (_Busy past the bound); all it
        reserved is released on leaving."""
        held = 0

        def reserve(size: int) -> None:
            nonlocal held
            if self.held + size > self.limit:
                raise _Busy
            self.held += size
            held += size

        try:
            yield reserve
        finally:
            self.held -= held


UNVERIFIED_KEY = web.AppKey("unverified_bodies", UnverifiedBodies)


class _Busy(Exception):
    """Unverified bodies in flight already hold all the memory they may."""


class _TooLarge(Exception):
    """A chunked body grew beyond MAX_BODY_BYTES."""


def handled_events(events_router: routing.Router) -> frozenset[str]:
    """The events some handler is registered for; any other is answered 200 from its header."""
    # gidgethub has no public listing of a router's routes; both tables are keyed by event.
    return frozenset(events_router._shallow_routes) | frozenset(events_router._deep_routes)


HANDLED_EVENTS = handled_events(router)


class DeliveryScheduling:
    """The scheduler as one delivery's handlers see it: records what they queued or were refused,
    and keeps each refused call so that the router can ask again once there is room."""

    def __init__(self, scheduler: Scheduler, *, track_evaluations: bool = True) -> None:
        self._scheduler = scheduler
        self._track = track_evaluations
        self.accepted = 0
        self._refused: list[tuple[Callable[[], bool], WorkRef | None]] = []
        # One per PR scheduled: resolved once its evaluation has finished (a durable inbox
        # acknowledges the delivery only then).
        self.evaluations: list[asyncio.Future[None]] = []

    @property
    def refused(self) -> int:
        return len(self._refused)

    def _attempt(self, call: Callable[[], bool], ref: WorkRef | None = None) -> bool:
        if call():
            self.accepted += 1
            if ref is not None and self._track:
                self.evaluations.append(self._scheduler.evaluated(ref))
            return True
        self._refused.append((call, ref))
        return False

    def schedule(
        self,
        ref: WorkRef,
        *,
        click: ButtonClick | None = None,
        edit: CommentEdit | None = None,
    ) -> bool:
        return self._attempt(partial(self._scheduler.schedule, ref, click=click, edit=edit), ref)

    def sweep(self, installation_id: int, owner: str, repo: str) -> bool:
        return self._attempt(partial(self._scheduler.sweep, installation_id, owner, repo))

    def sweep_owner(self, installation_id: int, owner: str) -> bool:
        return self._attempt(partial(self._scheduler.sweep_owner, installation_id, owner))

    def map_changed(self, owner: str, repo: str) -> None:
        self._scheduler.map_changed(owner, repo)

    def retry_refused(self) -> bool:
        """Ask again for every refused call; True once none is left refused."""
        calls, self._refused = self._refused, []
        for call, ref in calls:
            self._attempt(call, ref)
        return not self._refused


async def _read_declared(request: web.Request, length: int) -> bytearray:
    """A body of declared length, read into one buffer of that size (no second copy)."""
    body = bytearray(length)
    view = memoryview(body)
    filled = 0
    while filled < length:
        chunk = await request.content.readany()
        if not chunk:  # the client sent less than it declared: the signature will not match
            view.release()
            del body[filled:]
            return body
        view[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    view.release()
    return body


async def _read_chunked(request: web.Request, reserve: Callable[[int], None]) -> bytearray:
    """A body without a declared length, reserved chunk by chunk as it comes; _TooLarge
    beyond MAX_BODY_BYTES."""
    body = bytearray()
    async for chunk in request.content.iter_chunked(READ_CHUNK_BYTES):
        if len(body) + len(chunk) > MAX_BODY_BYTES:
            raise _TooLarge
        reserve(len(chunk))
        body += chunk
    return body


async def _read_unverified(request: web.Request, length: int | None) -> bytes | None:
    """The body once its signature matches; None when it does not. Reserves its bytes against
    the bound on unverified bodies until then."""
    with request.app[UNVERIFIED_KEY].reservation() as reserve:
        if length is not None:
            reserve(length)  # before a byte is read: above the bound, nothing is read
            body = await _read_declared(request, length)
        else:
            body = await _read_chunked(request, reserve)
        if not signature_matches(
            body,
            secret=request.app[SETTINGS_KEY].webhook_secret.reveal(),
            header=request.headers.get(SIGNATURE_HEADER),
        ):
            return None
    # Signed by GitHub: one immutable copy for the inbox (Redis takes bytes, not a bytearray).
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
    metrics = request.app[METRICS_KEY]
    metrics.increment(metrics.deliveries, event, action, outcome)
    body: dict[str, Any] = {"status": outcome, "delivery": delivery}
    if reason is not None:
        body["reason"] = reason
    # Every delivery is counted; a line per accepted one would cost the ack a fifth of its time.
    level = logging.WARNING if status >= 400 else logging.DEBUG
    if log.isEnabledFor(level):
        # The delivery as a field, not a log context: one less context switch per request.
        extra = {"delivery": delivery, "status": status, "reason": reason}
        log.log(level, "delivery %s", outcome, extra=extra)
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


async def handle_webhook(request: web.Request) -> web.Response:
    try:
        return await _acknowledge(request)
    except Exception:
        # A bug of ours, not bad input: a 500 that GitHub records and the redeliverer retries.
        delivery = request.headers.get(DELIVERY_HEADER)
        log.exception("the request path failed", extra={"delivery": delivery})
        return _answer(request, 500, "error", delivery=delivery, reason="internal error")


async def _acknowledge(request: web.Request) -> web.Response:
    app = request.app
    delivery = request.headers.get(DELIVERY_HEADER)
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return _answer(request, 413, "too_large", delivery=delivery, reason="above 25 MiB")
    try:
        body = await _read_unverified(request, length)
    except _TooLarge:
        return _answer(request, 413, "too_large", delivery=delivery, reason="above 25 MiB")
    except _Busy:
        reason = "too many unverified bodies in flight"
        busy = _answer(request, 503, "busy", delivery=delivery, reason=reason)
        busy.force_close()  # the rest of the body is not wanted: do not read it to keep-alive
        return busy
    if body is None:
        reason = f"missing or bad {SIGNATURE_HEADER}"
        return _answer(request, 401, "unauthorized", delivery=delivery, reason=reason)
    event = request.headers.get(EVENT_HEADER)
    if not event or not delivery:
        reason = f"missing {EVENT_HEADER} or {DELIVERY_HEADER} header"
        return _answer(request, 400, "malformed", delivery=delivery, reason=reason)
    if event not in HANDLED_EVENTS:
        return _answer(request, 200, "ignored", delivery=delivery, event=event)
    ledger = app[LEDGER_KEY]
    if not ledger.claim(delivery, body_key(body)):
        return _answer(request, 200, "duplicate", delivery=delivery, event=event)
    try:
        kept = await app[INBOX_KEY].offer(RawDelivery(event, delivery, body))
    except BaseException:
        ledger.release(delivery)
        raise
    if not kept:
        # Forget the ID so that GitHub's redelivery of this refused delivery is processed.
        ledger.release(delivery)
        reason = "the inbox is full"
        return _answer(request, 503, "inbox_full", delivery=delivery, event=event, reason=reason)
    return _answer(request, 202, "queued", delivery=delivery, event=event)


class DeliveryRouter:
    """Takes acknowledged deliveries from the inbox, parses them and routes them through the
    handlers into the scheduler, as they arrived; nothing acknowledged is dropped.

    `start()` runs it in a task until the inbox is closed and empty; `stop(drain_seconds=...)`
    closes the inbox and waits for what it holds to be handed over (shutdown).
    """

    def __init__(
        self,
        inbox: Inbox,
        scheduler: Scheduler,
        *,
        ledger: DeliveryLedger,
        failed_after_ack: FailedAfterAck,
        metrics: Metrics,
        map_path: str,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._inbox = inbox
        self._scheduler = scheduler
        self._ledger = ledger
        self._failed_after_ack = failed_after_ack
        self._metrics = metrics
        self._map_path = map_path
        self._retry_seconds = retry_seconds
        self._current: RawDelivery | None = None
        self._task: asyncio.Task[None] | None = None
        self._routed = 0

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the delivery router is already started")
        self._task = asyncio.create_task(self._supervised(), name="coi-delivery-router")

    async def _supervised(self) -> None:
        """`run`, started again when it fails (a bug); after MAX_ROUTER_FAILURES failures with
        nothing routed in between it stays down, the health check fails, and the orchestrator
        restarts the process."""
        failures = 0
        while True:
            routed = self._routed
            try:
                await self.run()
                return
            except Exception:
                failures = 1 if self._routed > routed else failures + 1
                self._metrics.router_restarts.inc()
                if failures >= MAX_ROUTER_FAILURES:
                    log.critical("the delivery router keeps failing: the process is unhealthy")
                    raise
                log.exception("the delivery router failed; starting it again")
                await asyncio.sleep(self._retry_seconds)

    @property
    def alive(self) -> bool:
        """False once the router's task died for good (see `_supervised`)."""
        return self._task is not None and not self._task.done()

    async def run(self) -> None:
        while (delivery := await self._inbox.take()) is not None:
            self._current = delivery
            evaluations: list[asyncio.Future[None]] = []
            try:
                evaluations = await self.route(delivery)
                self._routed += 1
            finally:
                self._current = None
                await self._inbox.done(delivery, evaluations)

    async def stop(self, *, drain_seconds: float) -> None:
        """Close the inbox and let the task hand over what is left, for at most `drain_seconds`;
        log every delivery it could not hand over."""
        self._inbox.close()
        task = self._task
        if task is None or (task.done() and not task.cancelled() and task.exception()):
            return  # it died for good: logged when it did
        try:
            async with asyncio.timeout(drain_seconds):
                await asyncio.shield(task)
        except TimeoutError:
            stuck = [self._current] if self._current is not None else []
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            lost = [delivery.delivery_id for delivery in stuck + self._inbox.leftovers()]
            log.error(
                "stopped before handing %d acknowledged deliveries to the scheduler",
                len(lost),
                extra={"deliveries": lost},
            )

    async def route(self, delivery: RawDelivery) -> list[asyncio.Future[None]]:
        """Parse one delivery and hand what its handlers decide to the scheduler; the
        evaluations it asked for, each resolved once finished."""
        try:
            data = payload.parse(delivery.body)
        except payload.Malformed as error:
            self._malformed(delivery, str(error))
            return []
        action = data.get("action")
        action = action if isinstance(action, str) else ""
        repository, number = _subject(data)
        with log_context(
            delivery=delivery.delivery_id,
            event=delivery.event,
            action=action or None,
            repository=repository,
            pr=number,
        ):
            return await self._dispatch(delivery, data, action)

    async def _dispatch(
        self, delivery: RawDelivery, data: Mapping[str, Any], action: str
    ) -> list[asyncio.Future[None]]:
        scheduling = DeliveryScheduling(self._scheduler, track_evaluations=self._inbox.durable)
        event = sansio.Event(data, event=delivery.event, delivery_id=delivery.delivery_id)
        try:
            await router.dispatch(event, scheduler=scheduling, map_path=self._map_path)
        except Exception:
            # A bug of ours, after the 202: GitHub saw a success, so ask it to redeliver.
            self._ledger.release(delivery.delivery_id)
            self._failed_after_ack.add(delivery.delivery_id)
            self._count(delivery, action, "fault")
            log.exception("a handler failed after the delivery was acknowledged")
            return scheduling.evaluations
        self._failed_after_ack.discard(delivery.delivery_id)
        if scheduling.refused:
            await self._until_scheduled(scheduling)
        self._count(delivery, action, "queued" if scheduling.accepted else "ignored")
        return scheduling.evaluations

    async def _until_scheduled(self, scheduling: DeliveryScheduling) -> None:
        """Backpressure: wait for room rather than drop; meanwhile the inbox fills and the door
        answers 503."""
        log.warning("the evaluation queue is full: routing waits for room")
        while not scheduling.retry_refused():
            self._metrics.routing_waits.inc()
            await asyncio.sleep(self._retry_seconds)

    def _malformed(self, delivery: RawDelivery, reason: str) -> None:
        # Signed by GitHub, so not an attack; a redelivery would repeat it byte for byte.
        self._count(delivery, UNVERIFIED, "malformed")
        with log_context(delivery=delivery.delivery_id, event=delivery.event):
            log.warning("acknowledged delivery is malformed: %s", reason)

    def _count(self, delivery: RawDelivery, action: str, outcome: str) -> None:
        self._metrics.increment(self._metrics.routed_deliveries, delivery.event, action, outcome)
