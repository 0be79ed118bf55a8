"""Coordination of several replicas through one Redis (DESIGN.md, "Several replicas share Redis").

Keys, all under a configurable prefix (default `coi:`):

    {prefix}delivery:{guid}           "1", EX 3 days: a delivery accepted by some replica
    {prefix}work                      stream of deliveries; consumer group `workers`
    {prefix}lease:pr:{pr}             owner token, PX ttl: the replica evaluating that PR
    {prefix}dirty:pr:{pr}             "1": an event for that PR arrived while it was leased
    {prefix}lease:singleton:{name}    owner token, PX ttl: the replica running that background job
    {prefix}token:{installation}      `expires_at token`, expiring just before the token does
    {prefix}faults                    sorted set: delivery IDs whose handler failed after the
                                      202, scored by when; for the replica that redelivers

Durable work. The webhook acknowledges GitHub only after `enqueue` (XADD) returned; workers
`read` new entries (XREADGROUP) and `ack` (XACK) them once handled. An entry read by a replica
that died stays pending; `claim_stale` (XAUTOCLAIM) hands entries idle longer than
`claim_idle_ms` to a live replica, so a death loses nothing. An entry can thus be handled twice:
evaluations are idempotent (an unchanged verdict writes nothing).

Per-PR lease, so that one replica at a time evaluates a PR and no update is lost:

1. A worker with work for a PR calls `acquire_pr`. One script either takes the lease (SET NX PX)
   and clears the dirty mark (the evaluation about to start reads everything marked before it),
   or, when another replica holds the lease, sets the dirty mark and answers False. Marking in
   the same script closes the race where the holder releases between a failed acquire and a
   separate mark. The worker then acks its entry: the holder will evaluate again.
2. The holder renews (`renew_pr`, compare-and-pexpire) while an evaluation runs longer than
   its ttl allows.
3. The holder calls `release_pr`, one script: when the PR is dirty it clears the mark, keeps the
   lease for another ttl and answers EVALUATE_AGAIN (the holder evaluates once more, then
   releases again); otherwise it deletes the lease if still owned (RELEASED). A holder whose
   lease expired meanwhile gets LOST when another replica holds it now (that one evaluates the
   rest); when the lease is free but the PR dirty, it takes the lease back and answers
   EVALUATE_AGAIN, since nobody else is going to evaluate that mark.

Background jobs (reconciler, redelivery) run on one replica: `acquire_singleton`, renewed while
the job runs, released with the same compare-and-set scripts.

Redis down: every operation raises `CoordinationUnavailable` within about half a second (short
socket timeouts, one immediate retry on a broken connection, none on a timeout), counts it in
`coi_redis_errors_total{operation}`, and logs once per outage; the first success afterwards logs
"redis reachable again". The caller then behaves as a single replica; the client reconnects by
itself, so the same Coordinator works again when Redis is back. Every command sent is counted in
`coi_redis_commands_total{operation}`: round trips per evaluation are measurable.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.metrics import Metrics
from bot.settings import REDIS_SCHEMES, Secret

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "coi:"
# A redelivery keeps its delivery ID; GitHub allows it within 3 days.
DELIVERY_TTL_SECONDS = 3 * 24 * 3600
DEFAULT_CLAIM_IDLE_MS = 30_000
DEFAULT_STREAM_MAXLEN = 100_000
DEFAULT_MAX_BLOCK_MS = 5_000
# Handler faults kept for the redeliverer: a fault storm cannot grow the set beyond this.
MAX_FAULTS = 10_000
SOCKET_TIMEOUT_SECONDS = 0.5
DIRTY_TTL_MS = 3_600_000  # a mark outlives any lease; a stale one costs one extra evaluation
TOKEN_MARGIN_SECONDS = 60  # a shared token disappears a minute before GitHub expires it
GROUP = "workers"

# Errors that mean "Redis cannot serve us now", as opposed to a bug in a command.
_UNAVAILABLE: Final = (
    redis.exceptions.ConnectionError,  # includes BusyLoadingError and AuthenticationError
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,  # a replica promoted away from under us
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
)

# KEYS[1] lease; ARGV[1] owner token, ARGV[2] ttl ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS[1] lease; ARGV[1] owner token.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS[1] lease, KEYS[2] dirty mark; ARGV[1] owner token, ARGV[2] lease ttl ms, ARGV[3] mark ttl.
_ACQUIRE_PR = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return 0
"""

# KEYS[1] lease, KEYS[2] dirty mark; ARGV[1] owner token, ARGV[2] lease ttl ms.
_TAKE_FREE_PR = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""

# KEYS[1] lease, KEYS[2] dirty mark; ARGV[1] owner token, ARGV[2] lease ttl ms.
# Returns 1 released, 2 evaluate again (lease kept or taken back), 0 held by another owner.
_RELEASE_PR = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return 0
end
if redis.call('DEL', KEYS[2]) == 1 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
if holder then
  redis.call('DEL', KEYS[1])
end
return 1
"""

# KEYS[1] faults; ARGV[1] delivery ID, ARGV[2] now, ARGV[3] oldest score kept, ARGV[4] most kept.
_RECORD_FAULT = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
return 1
"""

# KEYS[1] faults; ARGV[1] delivery ID, ARGV[2] latest score removed.
_FORGET_FAULT = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""

_operation: ContextVar[str] = ContextVar("coi_redis_operation", default="other")


class CoordinationUnavailable(Exception):
    """Redis cannot be reached or cannot serve now; the caller acts as a single replica."""


class ReleaseOutcome(enum.Enum):
    RELEASED = "released"
    EVALUATE_AGAIN = "evaluate again"  # the lease is still (or again) the caller's
    LOST = "lost"  # the lease expired and another replica holds it now; it evaluates the rest


@dataclass(frozen=True, slots=True)
class Work:
    """One webhook delivery as the webhook received it, waiting in the stream."""

    entry_id: str
    event: str
    delivery: str
    body: bytes


class _CountingRedis(redis.asyncio.Redis):
    """A client that reports every command it sends, so that round trips can be counted."""

    on_command: Callable[[], None] = staticmethod(lambda: None)

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.on_command()
        # redis-py leaves execute_command unannotated; its answer is whatever the command returns
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


class Coordinator:
    """Shared state of the replicas. Build with `Coordinator.from_url`; `aclose` at shutdown."""

    def __init__(
        self,
        *,
        client: _CountingRedis,
        blocking_client: _CountingRedis,
        metrics: Metrics,
        prefix: str = DEFAULT_PREFIX,
        delivery_ttl_seconds: int = DELIVERY_TTL_SECONDS,
        claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
        stream_maxlen: int = DEFAULT_STREAM_MAXLEN,
        max_block_ms: int = DEFAULT_MAX_BLOCK_MS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._blocking = blocking_client
        client.on_command = blocking_client.on_command = self._count_command
        self._metrics = metrics
        self.prefix = prefix
        self.delivery_ttl_seconds = delivery_ttl_seconds
        self.claim_idle_ms = claim_idle_ms
        self.stream_maxlen = stream_maxlen
        self.max_block_ms = max_block_ms
        self._clock = clock
        self._stream = f"{prefix}work"
        self._reachable = True
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._acquire_pr = client.register_script(_ACQUIRE_PR)
        self._release_pr = client.register_script(_RELEASE_PR)
        self._take_free_pr = client.register_script(_TAKE_FREE_PR)
        self._record_fault = client.register_script(_RECORD_FAULT)
        self._forget_fault = client.register_script(_FORGET_FAULT)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        metrics: Metrics,
        socket_timeout: float = SOCKET_TIMEOUT_SECONDS,
        max_block_ms: int = DEFAULT_MAX_BLOCK_MS,
        **options: Any,
    ) -> Coordinator:
        """A Coordinator on `redis://`, `rediss://` or `unix://` URL; connects at first use.

        `options` are the keyword arguments of `Coordinator` (prefix, ttl and idle times).
        """
        scheme = url.partition("://")[0] if "://" in url else ""
        if scheme not in REDIS_SCHEMES:
            # only the scheme is shown: the rest of the URL may hold a password
            raise ValueError(
                f"a Redis URL starts with redis://, rediss:// or unix://, not {scheme!r}"
            )

        def client(read_timeout: float) -> _CountingRedis:
            pool = redis.asyncio.ConnectionPool.from_url(
                url,
                socket_connect_timeout=socket_timeout,
                socket_timeout=read_timeout,
                # one immediate retry heals a pooled connection Redis closed; a timeout is final
                retry=Retry(NoBackoff(), 1, (redis.exceptions.ConnectionError,)),
            )
            counting = _CountingRedis(connection_pool=pool)
            counting.auto_close_connection_pool = True  # aclose() closes the pool too
            return counting

        return cls(
            client=client(socket_timeout),
            # blocking reads wait up to max_block_ms for an answer before the socket gives up
            blocking_client=client(socket_timeout + max_block_ms / 1000),
            metrics=metrics,
            max_block_ms=max_block_ms,
            **options,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._blocking.aclose()

    def _count_command(self) -> None:
        self._metrics.redis_commands.labels(operation=_operation.get()).inc()

    @asynccontextmanager
    async def _run(self, operation: str) -> AsyncIterator[None]:
        """Counts commands under `operation` and turns an outage into CoordinationUnavailable."""
        token = _operation.set(operation)
        try:
            yield
        except _UNAVAILABLE as error:
            self._metrics.redis_errors.labels(operation=operation).inc()
            if self._reachable:
                self._reachable = False
                # the error's class and text name host and cause, never the URL's password
                log.warning(
                    "redis unreachable; acting as a single replica until it answers",
                    extra={"operation": operation, "error": f"{type(error).__name__}: {error}"},
                )
            raise CoordinationUnavailable(
                f"redis is unavailable ({operation}): {type(error).__name__}: {error}"
            ) from error
        finally:
            _operation.reset(token)
        if not self._reachable:
            self._reachable = True
            log.info("redis reachable again", extra={"operation": operation})

    async def ping(self) -> None:
        """Raises CoordinationUnavailable unless Redis answers (for a start-up check)."""
        async with self._run("ping"):
            await self._client.ping()

    # Shared delivery dedupe.

    def _delivery_key(self, guid: str) -> str:
        return f"{self.prefix}delivery:{guid}"

    async def claim_delivery(self, guid: str) -> bool:
        """True the first time any replica claims this delivery ID; False for a duplicate."""
        async with self._run("claim_delivery"):
            claimed = await self._client.set(
                self._delivery_key(guid), b"1", nx=True, ex=self.delivery_ttl_seconds
            )
        return bool(claimed)

    async def release_delivery(self, guid: str) -> None:
        """Forget a delivery that was refused or failed, so that its redelivery is processed."""
        async with self._run("release_delivery"):
            await self._client.delete(self._delivery_key(guid))

    # Durable work.

    async def enqueue(self, event: str, delivery: str, body: bytes) -> str:
        """Append a delivery to the stream; the webhook answers 202 only after this returned."""
        async with self._run("enqueue"):
            entry_id = await self._client.xadd(
                self._stream,
                {b"event": event.encode(), b"delivery": delivery.encode(), b"body": body},
                maxlen=self.stream_maxlen,
                approximate=True,
            )
        return _text(entry_id)

    async def read(self, consumer: str, *, count: int = 10, block_ms: int = 0) -> list[Work]:
        """New entries for `consumer`; waits up to `block_ms` for one (0: answers at once)."""
        if count <= 0:
            raise ValueError(f"count must be positive, not {count}")
        if not 0 <= block_ms <= self.max_block_ms:
            raise ValueError(f"block_ms must be between 0 and {self.max_block_ms}, not {block_ms}")
        async with self._run("read"):
            client = self._blocking if block_ms else self._client
            response = await self._with_group(
                client.xreadgroup,
                GROUP,
                consumer,
                {self._stream: ">"},
                count=count,
                # Redis reads BLOCK 0 as "forever": leave BLOCK out instead
                block=block_ms or None,
            )
            entries = [
                entry for _stream, stream_entries in response or () for entry in stream_entries
            ]
            return await self._works(entries)

    async def ack(self, entry_id: str) -> None:
        """The entry is handled (or handed to the lease holder): no replica will take it again."""
        async with self._run("ack"):
            await self._client.xack(self._stream, GROUP, entry_id)

    async def claim_stale(self, consumer: str, *, count: int = 10) -> list[Work]:
        """Entries other consumers read but left unacknowledged for longer than claim_idle_ms."""
        if count <= 0:
            raise ValueError(f"count must be positive, not {count}")
        claimed: list[Any] = []
        cursor: str | bytes = "0-0"
        async with self._run("claim_stale"):
            while len(claimed) < count:
                response = await self._with_group(
                    self._client.xautoclaim,
                    self._stream,
                    GROUP,
                    consumer,
                    self.claim_idle_ms,
                    start_id=cursor,
                    count=count - len(claimed),
                )
                # Redis 7 answers [cursor, entries, deleted ids]; deleted ones left the PEL already
                cursor, entries = response[0], response[1]
                claimed.extend(entries)
                if _text(cursor) == "0-0":
                    break
            return await self._works(claimed)

    async def _with_group(
        self, command: Callable[..., Awaitable[Any]], *args: Any, **options: Any
    ) -> Any:
        """Run a group command, creating the group first when Redis lost it (or never had it)."""
        try:
            return await command(*args, **options)
        except redis.exceptions.ResponseError as error:
            if not str(error).startswith("NOGROUP"):
                raise
        try:
            # from id 0: deliveries enqueued before any worker read are delivered too
            await self._client.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as error:
            if not str(error).startswith("BUSYGROUP"):  # another replica created it meanwhile
                raise
        return await command(*args, **options)

    async def _works(self, entries: list[Any]) -> list[Work]:
        works = []
        for entry_id, fields in entries:
            try:
                work = Work(
                    entry_id=_text(entry_id),
                    event=fields[b"event"].decode(),
                    delivery=fields[b"delivery"].decode(),
                    body=fields[b"body"],
                )
            except (KeyError, TypeError, AttributeError, UnicodeDecodeError):
                # no code of ours writes such an entry; acknowledged so that it is not retried
                log.error("dropping a malformed work entry", extra={"entry": _text(entry_id)})
                await self._client.xack(self._stream, GROUP, entry_id)
                continue
            works.append(work)
        return works

    # Per-PR lease.

    def _pr_keys(self, pr: str) -> list[str]:
        return [f"{self.prefix}lease:pr:{pr}", f"{self.prefix}dirty:pr:{pr}"]

    async def acquire_pr(self, pr: str, owner_token: str, ttl_ms: int) -> bool:
        """Take the PR's lease; when another replica holds it, mark the PR dirty: False."""
        _check_ttl(ttl_ms)
        async with self._run("acquire_pr"):
            taken = await self._acquire_pr(
                keys=self._pr_keys(pr), args=[owner_token, ttl_ms, DIRTY_TTL_MS]
            )
        return bool(taken)

    async def take_free_pr(self, pr: str, owner_token: str, ttl_ms: int) -> bool:
        """Take the PR's lease if nobody holds it, without marking the PR dirty otherwise: for a
        replica waiting for the lease after `acquire_pr` marked it once (repeated marks would
        keep the holder evaluating again as long as the waiter asks)."""
        _check_ttl(ttl_ms)
        async with self._run("take_free_pr"):
            taken = await self._take_free_pr(keys=self._pr_keys(pr), args=[owner_token, ttl_ms])
        return bool(taken)

    async def renew_pr(self, pr: str, owner_token: str, ttl_ms: int) -> bool:
        """Extend a lease still held; False when it expired (another replica may hold it now)."""
        _check_ttl(ttl_ms)
        async with self._run("renew_pr"):
            renewed = await self._renew(keys=self._pr_keys(pr)[:1], args=[owner_token, ttl_ms])
        return bool(renewed)

    async def release_pr(self, pr: str, owner_token: str, ttl_ms: int) -> ReleaseOutcome:
        """Let go of the lease, unless the PR turned dirty: then evaluate again (ttl_ms more)."""
        _check_ttl(ttl_ms)
        async with self._run("release_pr"):
            outcome = await self._release_pr(keys=self._pr_keys(pr), args=[owner_token, ttl_ms])
        return {1: ReleaseOutcome.RELEASED, 2: ReleaseOutcome.EVALUATE_AGAIN}.get(
            int(outcome), ReleaseOutcome.LOST
        )

    # One replica for a background job.

    def _singleton_key(self, name: str) -> str:
        return f"{self.prefix}lease:singleton:{name}"

    async def acquire_singleton(self, name: str, owner_token: str, ttl_ms: int) -> bool:
        _check_ttl(ttl_ms)
        async with self._run("acquire_singleton"):
            taken = await self._client.set(
                self._singleton_key(name), owner_token, nx=True, px=ttl_ms
            )
        return bool(taken)

    async def renew_singleton(self, name: str, owner_token: str, ttl_ms: int) -> bool:
        _check_ttl(ttl_ms)
        async with self._run("renew_singleton"):
            renewed = await self._renew(
                keys=[self._singleton_key(name)], args=[owner_token, ttl_ms]
            )
        return bool(renewed)

    async def release_singleton(self, name: str, owner_token: str) -> bool:
        """True when the caller still held the job and let it go."""
        async with self._run("release_singleton"):
            released = await self._release(keys=[self._singleton_key(name)], args=[owner_token])
        return bool(released)

    # Deliveries whose handler failed after the 202, whichever replica routed them.

    def _faults_key(self) -> str:
        return f"{self.prefix}faults"

    async def record_fault(self, guid: str) -> None:
        """Keep a delivery ID for the replica that asks GitHub to redeliver (the background
        jobs run on one replica only); at most MAX_FAULTS, none past GitHub's window."""
        now = self._clock()
        async with self._run("record_fault"):
            await self._record_fault(
                keys=[self._faults_key()],
                args=[guid, now, now - self.delivery_ttl_seconds, MAX_FAULTS],
            )

    async def faults(self) -> tuple[list[str], float]:
        """Every delivery ID recorded by `record_fault` within GitHub's window, oldest first,
        and the time they were read at (for `forget_fault`)."""
        now = self._clock()
        async with self._run("faults"):
            members = await self._client.zrangebyscore(
                self._faults_key(), now - self.delivery_ttl_seconds, "+inf"
            )
        return [_text(member) for member in members if isinstance(member, str | bytes)], now

    async def forget_fault(self, guid: str, *, recorded_before: float) -> None:
        """GitHub was asked for this delivery again. A fault recorded after `recorded_before`
        (the redelivery failed again, on some replica) is kept, to be asked for again."""
        async with self._run("forget_fault"):
            await self._forget_fault(keys=[self._faults_key()], args=[guid, recorded_before])

    # Shared installation tokens.

    def _token_key(self, installation_id: int) -> str:
        return f"{self.prefix}token:{installation_id}"

    async def get_token(self, installation_id: int) -> tuple[Secret, float] | None:
        """A token some replica minted for this installation and its expiry (epoch seconds)."""
        async with self._run("get_token"):
            raw = await self._client.get(self._token_key(installation_id))
        if raw is None:
            return None
        expires_at, _, token = _text(raw).partition(" ")
        try:
            return Secret(token), float(expires_at)
        except ValueError:
            return None  # written by something else: mint a fresh one

    async def put_token(self, installation_id: int, token: Secret, expires_at: float) -> None:
        """Share a minted token until shortly before it expires; an expiring one is not shared."""
        ttl_ms = int((expires_at - TOKEN_MARGIN_SECONDS - self._clock()) * 1000)
        if ttl_ms <= 0:
            return
        async with self._run("put_token"):
            await self._client.set(
                self._token_key(installation_id), f"{expires_at!r} {token.reveal()}", px=ttl_ms
            )

    # Map versions known to have landed reviewed (bot.github.map_source.ReviewedMaps).

    def _reviewed_maps_key(self) -> str:
        return f"{self.prefix}reviewed-maps"

    async def reviewed_map_known(self, key: str) -> bool:
        """Whether some replica found this map version (`owner/repo@blob`) reviewed."""
        async with self._run("reviewed_map_known"):
            return bool(await self._client.sismember(self._reviewed_maps_key(), key))

    async def remember_reviewed_maps(self, keys: list[str]) -> None:
        """A reviewed version stays reviewed: the set only grows, by one entry per map change."""
        if not keys:
            return
        async with self._run("remember_reviewed_maps"):
            await self._client.sadd(self._reviewed_maps_key(), *keys)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _check_ttl(ttl_ms: int) -> None:
    if ttl_ms <= 0:
        raise ValueError(f"a lease's ttl_ms must be positive, not {ttl_ms}")
