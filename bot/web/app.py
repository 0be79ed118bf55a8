"""The aiohttp application: `create_app(settings)` builds everything, nothing at import time."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import aiohttp
import gidgethub
from aiohttp import web

from bot.jobs import BackgroundJobs, RepairSources, background_jobs
from bot.jobs.vote_timers import VoteTimers
from bot.metrics import CONTENT_TYPE, Metrics
from bot.pr import IssueRef, PullRequestRef, WorkRef
from bot.replicas.coordinator import Coordinator
from bot.replicas.lease import LeasedEvaluate
from bot.replicas.link import CoordinationUnavailable
from bot.replicas.reviewed_maps import SharedReviewedMaps
from bot.replicas.vote_deadlines import SharedDeadlines
from bot.scheduler import (
    Evaluate,
    ForgetMap,
    InstallationRepositories,
    OpenPullRequests,
    Scheduler,
)
from bot.settings import Settings
from bot.web.inbox import Inbox, MemoryInbox, RedisInbox
from bot.web.state import (
    FAULTS_KEY,
    INBOX_KEY,
    LEDGER_KEY,
    METRICS_KEY,
    SCHEDULER_KEY,
    SESSION_KEY,
    SETTINGS_KEY,
    WIRING_KEY,
    DeliveryLedger,
    FailedAfterAck,
    Wiring,
)
from bot.web.webhook import (
    MAX_BODY_BYTES,
    UNVERIFIED_KEY,
    DeliveryRouter,
    UnverifiedBodies,
    handle_webhook,
)

log = logging.getLogger(__name__)

# Above GitHub's 25 MiB cap, so that the 413 (and its JSON body) comes from our own check.
CLIENT_MAX_SIZE = MAX_BODY_BYTES + 1024 * 1024
# At shutdown, how long acknowledged deliveries may take to reach the scheduler.
DRAIN_SECONDS = 10.0


def create_app(
    settings: Settings,
    *,
    evaluate: Evaluate | None = None,
    open_pull_requests: OpenPullRequests | None = None,
    installation_repositories: InstallationRepositories | None = None,
    metrics: Metrics | None = None,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The webhook server. Without `evaluate`, the real Engine runs evaluations and sweeps.

    With `settings.redis_url`, one replica among several (bot.replicas): shared dedupe, the
    inbox in a Redis stream, a per-PR lease around each evaluation, the background jobs on one
    replica. Without it, a single replica that keeps everything in memory. `clock`: the time
    the Engine and its repairs read (a test's, to pass a vote's close without waiting)."""
    app = web.Application(client_max_size=CLIENT_MAX_SIZE)
    app[SETTINGS_KEY] = settings
    app[CLOCK_KEY] = clock
    app[METRICS_KEY] = metrics if metrics is not None else Metrics()
    coordinator = None
    if settings.redis_url is not None:
        # connects at first use: a Redis down at start is an outage like any other
        coordinator = Coordinator.from_url(settings.redis_url.reveal(), metrics=app[METRICS_KEY])
        app[COORDINATOR_KEY] = coordinator
        app.cleanup_ctx.append(_coordination)
    app[LEDGER_KEY] = DeliveryLedger(shared=coordinator)
    app[FAULTS_KEY] = FailedAfterAck(shared=coordinator)
    app[UNVERIFIED_KEY] = UnverifiedBodies(settings.unverified_body_bytes)
    injected = None
    if evaluate is not None:
        injected = Wiring(
            evaluate=evaluate,
            open_pull_requests=open_pull_requests,
            installation_repositories=installation_repositories,
        )
    elif open_pull_requests is not None or installation_repositories is not None:
        raise ValueError("open_pull_requests and installation_repositories need an evaluate")
    app.cleanup_ctx.append(_github_session(injected))
    app.cleanup_ctx.append(_map_changes)
    app.cleanup_ctx.append(_scheduler)
    app.cleanup_ctx.append(_delivery_router)  # cleaned up first: drains into the scheduler
    app.cleanup_ctx.append(background_repairs)
    app.router.add_post("/webhook", handle_webhook)
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/metrics", handle_metrics)
    return app


def _github_session(
    injected: Wiring | None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            app[SESSION_KEY] = session
            app[WIRING_KEY] = injected if injected is not None else _engine_wiring(app, session)
            if injected is None:
                await _learn_app_id(app)
            yield

    return context


async def _learn_app_id(app: web.Application) -> None:
    """At start, the App's numeric id (`GET /app`); GitHub unreachable, the first evaluation
    asks again: no check run is read or written before it is known."""
    github = app[REPAIR_KEY].github
    try:
        app_id = await github.numeric_id()
    except (gidgethub.GitHubException, aiohttp.ClientError, TimeoutError) as error:
        log.warning("the App's id could not be read at start: %s", error)
        return
    log.info("the App's numeric id is %s", app_id, extra={"numeric_app_id": app_id})


def _engine_wiring(app: web.Application, session: aiohttp.ClientSession) -> Wiring:
    from bot.engine import Engine

    engine = Engine(app[SETTINGS_KEY], session, app[METRICS_KEY], clock=app[CLOCK_KEY])
    coordinator = app.get(COORDINATOR_KEY)
    engine.vote_timers = app[VOTE_TIMERS_KEY] = VoteTimers(
        lambda ref: app[SCHEDULER_KEY].schedule(ref),
        share=None if coordinator is None else _shared_close(coordinator),
    )
    if coordinator is not None:
        engine.app.share_tokens(coordinator.tokens)
        engine.maps.share_reviewed(SharedReviewedMaps(coordinator))
    app[REPAIR_KEY] = RepairSources(
        github=engine.app, maps=engine.maps, pacer=engine.pacer, clock=app[CLOCK_KEY]
    )
    forget_map: ForgetMap = engine.map_changed
    if coordinator is not None:
        app[LOCAL_FORGET_KEY] = engine.map_changed
        forget_map = _shared_forget(engine.map_changed, coordinator)
    return Wiring(
        evaluate=engine.evaluate,
        open_pull_requests=engine.open_pull_requests,
        installation_repositories=engine.installation_repositories,
        forget_map=forget_map,
    )


def _shared_forget(forget: ForgetMap, coordinator: Coordinator) -> ForgetMap:
    """Forget here at once, and on every other replica through Redis (bot.replicas.maps)."""
    publishing: set[asyncio.Task[None]] = set()

    async def publish(owner: str, repo: str) -> None:
        try:
            await coordinator.maps.publish(owner, repo)
        except CoordinationUnavailable:
            log.warning("could not share a map change: other replicas forget it in a minute")

    def forget_everywhere(owner: str, repo: str) -> None:
        forget(owner, repo)
        task = asyncio.create_task(publish(owner, repo))
        publishing.add(task)
        task.add_done_callback(publishing.discard)

    return forget_everywhere


def _shared_close(coordinator: Coordinator) -> Callable[[WorkRef, datetime], None]:
    """Keeps each vote close armed here in Redis too: the replica running the jobs closes it
    if this one is gone by then (bot.replicas.vote_deadlines)."""
    deadlines = SharedDeadlines(coordinator.link)
    adding: set[asyncio.Task[None]] = set()

    def share(ref: WorkRef, closes_at: datetime) -> None:
        if not isinstance(ref, PullRequestRef | IssueRef):
            return  # only PRs and issues hold votes
        task = asyncio.create_task(deadlines.add(ref, closes_at))
        adding.add(task)
        task.add_done_callback(adding.discard)

    return share


async def _map_changes(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: with Redis and the real Engine, maps pushed through another replica."""
    forget = app.get(LOCAL_FORGET_KEY)
    coordinator = app.get(COORDINATOR_KEY)
    if forget is None or coordinator is None:
        yield
        return
    listener = asyncio.create_task(coordinator.maps.listen(forget), name="coi-map-changes")
    yield
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)


async def _coordination(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: says at start whether Redis answers; closes its connections last."""
    coordinator = app[COORDINATOR_KEY]
    try:
        await coordinator.ping()
        log.info("sharing work with other replicas through redis")
    except CoordinationUnavailable:
        pass  # logged and counted by the Coordinator; used as soon as it answers
    yield
    inbox = app.get(INBOX_KEY)
    if isinstance(inbox, RedisInbox):
        # after the scheduler stopped: what it did not evaluate goes to another replica now
        await inbox.hand_over()
    await app[LEDGER_KEY].settle()
    await app[FAULTS_KEY].settle()
    await coordinator.aclose()


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS_KEY]
    wiring = app[WIRING_KEY]
    coordinator = app.get(COORDINATOR_KEY)
    evaluate = (
        wiring.evaluate if coordinator is None else LeasedEvaluate(wiring.evaluate, coordinator)
    )
    scheduler = Scheduler(
        evaluate,
        workers=settings.workers,
        max_pending=settings.queue_size,
        coalesce_seconds=settings.coalesce_seconds,
        metrics=app[METRICS_KEY],
        open_pull_requests=wiring.open_pull_requests,
        installation_repositories=wiring.installation_repositories,
        forget_map=wiring.forget_map,
    )
    app[SCHEDULER_KEY] = scheduler
    async with scheduler:
        log.info("scheduler started", extra={"workers": settings.workers})
        yield
        if VOTE_TIMERS_KEY in app:
            app[VOTE_TIMERS_KEY].close()
    log.info("scheduler stopped")


async def _delivery_router(app: web.Application) -> AsyncIterator[None]:
    coordinator = app.get(COORDINATOR_KEY)
    inbox: Inbox
    if coordinator is None:
        inbox = MemoryInbox(maxsize=app[SETTINGS_KEY].inbox_size)
    else:
        inbox = RedisInbox(
            coordinator, consumer=_replica_name(), maxsize=app[SETTINGS_KEY].inbox_size
        )
    app[INBOX_KEY] = inbox
    app[METRICS_KEY].inbox_depth.set_function(lambda: inbox.depth)
    router = DeliveryRouter(
        inbox,
        app[SCHEDULER_KEY],
        ledger=app[LEDGER_KEY],
        failed_after_ack=app[FAULTS_KEY],
        metrics=app[METRICS_KEY],
        map_path=app[SETTINGS_KEY].map_path,
    )
    app[ROUTER_KEY] = router
    router.start()
    yield
    await router.stop(drain_seconds=DRAIN_SECONDS)
    log.info("delivery router stopped")


def _replica_name() -> str:
    """This process's consumer name in the stream: readable in XINFO, unique across restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


REPAIR_KEY = web.AppKey("repair", RepairSources)
COORDINATOR_KEY = web.AppKey("coordinator", Coordinator)
ROUTER_KEY = web.AppKey("router", DeliveryRouter)
JOBS_KEY = web.AppKey("jobs", BackgroundJobs)
# This replica's own forgetting of a map (no publish): what a change published elsewhere calls.
LOCAL_FORGET_KEY: web.AppKey[ForgetMap] = web.AppKey("forget_map_here")
VOTE_TIMERS_KEY = web.AppKey("vote_timers", VoteTimers)
CLOCK_KEY: web.AppKey[Callable[[], float]] = web.AppKey("clock")


async def background_repairs(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the background jobs, only with the real Engine (tests that inject `evaluate`
    have nothing to repair from)."""
    sources = app.get(REPAIR_KEY)
    failed_after_ack: FailedAfterAck = app[FAULTS_KEY]
    if sources is None:
        yield
        return
    scheduler = app[SCHEDULER_KEY]
    # Live events first: repairs wait while more PRs wait than the workers can take.
    sources = dataclasses.replace(sources, queue_busy=lambda: scheduler.depth >= scheduler.workers)
    async with background_jobs(
        sources,
        app[SETTINGS_KEY],
        scheduler.schedule,
        app[METRICS_KEY],
        failed_after_ack=failed_after_ack,
        coordinator=app.get(COORDINATOR_KEY),
    ) as jobs:
        app[JOBS_KEY] = jobs
        yield


async def handle_healthz(request: web.Request) -> web.Response:
    app = request.app
    scheduler = app[SCHEDULER_KEY]
    alive = scheduler.workers_alive
    router = app.get(ROUTER_KEY)
    router_alive = router is None or router.alive
    inbox = app.get(INBOX_KEY)
    inbox_alive = not isinstance(inbox, RedisInbox) or inbox.keeper_alive
    jobs = app.get(JOBS_KEY)
    jobs_alive = jobs is None or jobs.alive
    healthy = alive == scheduler.workers and router_alive and inbox_alive and jobs_alive
    body = {
        "status": "ok" if healthy else "unhealthy",
        "queue_depth": scheduler.depth,
        "running": scheduler.running,
        "workers": scheduler.workers,
        "workers_alive": alive,
        "router_alive": router_alive,
        "inbox_alive": inbox_alive,
        "background_jobs_alive": jobs_alive,
    }
    return web.json_response(body, status=200 if healthy else 503)


async def handle_metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[METRICS_KEY].render(), headers={"Content-Type": CONTENT_TYPE}
    )
