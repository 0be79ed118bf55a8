"""One replica's connection to Redis, shared by every concern of bot.replicas.

Redis down: every operation raises `CoordinationUnavailable` within about half a second (short
socket timeouts, one immediate retry on a broken connection, none on a timeout), counts it in
`coi_redis_errors_total{operation}`, and logs once per outage; the first success afterwards logs
"redis reachable again". The caller then behaves as a single replica; the client reconnects by
itself. Every command sent is counted in `coi_redis_commands_total{operation}`: round trips per
evaluation are measurable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Final

import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.metrics import Metrics
from bot.settings import REDIS_SCHEMES

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "coi:"
SOCKET_TIMEOUT_SECONDS = 0.5
DEFAULT_MAX_BLOCK_MS = 5_000

# Errors that mean "Redis cannot serve us now", as opposed to a bug in a command.
UNAVAILABLE: Final = (
    redis.exceptions.ConnectionError,  # includes BusyLoadingError and AuthenticationError
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,  # a replica promoted away from under us
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
)

_operation: ContextVar[str] = ContextVar("coi_redis_operation", default="other")


class CoordinationUnavailable(Exception):
    """Redis cannot be reached or cannot serve now; the caller acts as a single replica."""


class CountingRedis(redis.asyncio.Redis):
    """A client that reports every command it sends, so that round trips can be counted."""

    on_command: Callable[[], None] = staticmethod(lambda: None)

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.on_command()
        # redis-py leaves execute_command unannotated; its answer is whatever the command returns
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


class RedisLink:
    """The clients (one for quick commands, one for blocking reads), the key prefix, the clock,
    and `run(operation)`, which counts commands and turns an outage into CoordinationUnavailable."""

    def __init__(
        self,
        *,
        client: CountingRedis,
        blocking_client: CountingRedis,
        metrics: Metrics,
        prefix: str = DEFAULT_PREFIX,
        max_block_ms: int = DEFAULT_MAX_BLOCK_MS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.blocking = blocking_client
        client.on_command = blocking_client.on_command = self._count_command
        self.metrics = metrics
        self.prefix = prefix
        self.max_block_ms = max_block_ms
        self.clock = clock
        self._reachable = True

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        metrics: Metrics,
        socket_timeout: float = SOCKET_TIMEOUT_SECONDS,
        max_block_ms: int = DEFAULT_MAX_BLOCK_MS,
        prefix: str = DEFAULT_PREFIX,
        clock: Callable[[], float] = time.time,
    ) -> RedisLink:
        """A link to a `redis://`, `rediss://` or `unix://` URL; connects at first use."""
        scheme = url.partition("://")[0] if "://" in url else ""
        if scheme not in REDIS_SCHEMES:
            # only the scheme is shown: the rest of the URL may hold a password
            raise ValueError(
                f"a Redis URL starts with redis://, rediss:// or unix://, not {scheme!r}"
            )

        def client(read_timeout: float) -> CountingRedis:
            pool = redis.asyncio.ConnectionPool.from_url(
                url,
                socket_connect_timeout=socket_timeout,
                socket_timeout=read_timeout,
                # one immediate retry heals a pooled connection Redis closed; a timeout is final
                retry=Retry(NoBackoff(), 1, (redis.exceptions.ConnectionError,)),
            )
            counting = CountingRedis(connection_pool=pool)
            counting.auto_close_connection_pool = True  # aclose() closes the pool too
            return counting

        return cls(
            client=client(socket_timeout),
            # blocking reads wait up to max_block_ms for an answer before the socket gives up
            blocking_client=client(socket_timeout + max_block_ms / 1000),
            metrics=metrics,
            prefix=prefix,
            max_block_ms=max_block_ms,
            clock=clock,
        )

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.blocking.aclose()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _count_command(self) -> None:
        self.metrics.redis_commands.labels(operation=_operation.get()).inc()

    @asynccontextmanager
    async def run(self, operation: str) -> AsyncIterator[None]:
        """Counts commands under `operation` and turns an outage into CoordinationUnavailable."""
        token = _operation.set(operation)
        try:
            yield
        except UNAVAILABLE as error:
            self.metrics.redis_errors.labels(operation=operation).inc()
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
        async with self.run("ping"):
            await self.client.ping()


def text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def check_ttl(ttl_ms: int) -> None:
    if ttl_ms <= 0:
        raise ValueError(f"a lease's ttl_ms must be positive, not {ttl_ms}")
