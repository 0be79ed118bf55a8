"""The one GitHub client: gidgethub over aiohttp, plus API version, retries, rate limits, metrics.

Every retry decision lives in `_request`, below gidgethub's request logic, because gidgethub's
`graphql()` calls `_request` directly and skips the `handle_rate_limit_error` hook: this way REST
and GraphQL share one path. Sleeping and the clock are injected so that tests never wait.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import aiohttp
import gidgethub
import gidgethub.abc
import gidgethub.aiohttp
from cachetools import LRUCache
from gidgethub import sansio

from bot.github.query_cost import query_cost
from bot.metrics import Metrics

API_VERSION = "2022-11-28"
USER_AGENT = "coi-bot"

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
# Returns the whole `authorization` header value; called before every request so that a token
# refreshed mid-evaluation is picked up without rebuilding the client.
Authorization = Callable[[], Awaitable[str]]


@runtime_checkable
class Refreshable(Protocol):
    """An authorization that can drop a credential GitHub refused (401), to mint a new one."""

    def refused(self) -> None: ...


# The REST operations the bot calls (each in the vendored openapi-subset.json); metrics label
# calls with these templates so that label cardinality stays bounded.
OPERATIONS: tuple[str, ...] = (
    "GET /app/hook/deliveries",
    "POST /app/hook/deliveries/{delivery_id}/attempts",
    "GET /app/installations",
    "POST /app/installations/{installation_id}/access_tokens",
    "GET /installation/repositories",
    "GET /repos/{owner}/{repo}",
    "POST /repos/{owner}/{repo}/check-runs",
    "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
    "GET /repos/{owner}/{repo}/collaborators",
    "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
    "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
    "GET /repos/{owner}/{repo}/contents/{path}",
    "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
    "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
    "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    "GET /repos/{owner}/{repo}/pulls",
    "POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
    "DELETE /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
)


def _operation_pattern(template: str) -> re.Pattern[str]:
    method, path = template.split(" ", 1)
    parts = re.split(r"(\{[a-z_]+\})", path)
    regex = "".join(
        (".+" if part == "{path}" else "[^/]+") if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(f"{method} {regex}")


# More literal segments first, so that `/issues/comments/{id}` wins over `/issues/{number}/...`.
_PATTERNS = sorted(
    ((template, _operation_pattern(template)) for template in OPERATIONS),
    key=lambda pair: -len(re.sub(r"\{[^}]+\}", "", pair[0])),
)

# The GraphQL operation name, set by `graphql()` and read by `_request` for the metric label.
_graphql_operation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "graphql_operation", default=None
)
_OPERATION_NAME = re.compile(r"^\s*(?:query|mutation)\s+(\w+)")


def operation_of(method: str, url: str, *, base_url: str) -> str:
    """`GET /repos/{owner}/{repo}/pulls` for a filled URL; `GET other` outside the known set."""
    path = urlsplit(url).path
    prefix = urlsplit(base_url).path.rstrip("/")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]
    candidate = f"{method.upper()} {path}"
    for template, pattern in _PATTERNS:
        if pattern.fullmatch(candidate):
            return template
    return f"{method.upper()} other"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before an error reaches the caller."""

    attempts: int = 4  # total tries for 5xx, timeouts and connection errors
    backoff_base: float = 0.5  # seconds before the 2nd try; doubles each time
    backoff_cap: float = 10.0
    max_total_wait: float = 120.0  # all sleeping for one request, rate limits included
    secondary_wait: float = 60.0  # GitHub's advice when a secondary limit gives no retry-after
    timeout: float = 30.0  # per attempt

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be at least 1, not {self.attempts}")
        if self.max_total_wait < 0 or self.timeout <= 0:
            raise ValueError("RetryPolicy waits and timeout must be positive")


@dataclass(frozen=True, slots=True)
class RateBudget:
    """One resource's primary limit as GitHub's latest answer gave it (x-ratelimit-*)."""

    remaining: int
    limit: int
    reset: float  # epoch seconds when the window starts again

    @property
    def fraction_left(self) -> float:
        return self.remaining / self.limit if self.limit > 0 else 0.0


class GitHubUnreachable(gidgethub.GitHubException):
    """GitHub could not be reached (timeouts or connection errors) within the retry budget."""


class GitHubClient(gidgethub.aiohttp.GitHubAPI):
    """A gidgethub client for one identity (the App's JWT or one installation's token)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        metrics: Metrics,
        base_url: str,
        graphql_url: str,
        authorization: Authorization | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        jitter: Callable[[], float] = random.random,
        cache: gidgethub.abc.CACHE_TYPE | None = None,
        identity: str = "app",
    ) -> None:
        super().__init__(session, USER_AGENT, base_url=base_url, cache=cache)
        self.graphql_url = graphql_url
        self.identity = identity  # "app", or the installation's id: the budget's metric label
        # Per resource ("core", "graphql", ...): what GitHub's latest answer said is left.
        self.budgets: dict[str, RateBudget] = {}
        # This process's clock minus GitHub's (its `Date` header), to a second; None until read.
        self.clock_offset: float | None = None
        self._metrics = metrics
        self._authorization = authorization
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)

    async def graphql(self, query: str, *, endpoint: str | None = None, **variables: Any) -> Any:
        """Run one GraphQL document; errors in the response are raised as `QueryError`.

        A primary limit on GraphQL is an HTTP 200 carrying a RATE_LIMITED error, so it is
        retried here rather than in `_request`.
        """
        match = _OPERATION_NAME.match(query)
        label = f"POST /graphql {match.group(1) if match else 'anonymous'}"
        token = _graphql_operation.set(label)
        points = query_cost(query).points
        waited = 0.0
        try:
            while True:
                try:
                    data = await super().graphql(
                        query, endpoint=endpoint or self.graphql_url, **variables
                    )
                    self._metrics.github_spent.labels(label, "graphql").inc(points)
                    return data
                except gidgethub.QueryError as error:
                    wait = self._graphql_rate_limit_wait(error)
                    if wait is None:
                        raise
                    if waited + wait > self._retry.max_total_wait:
                        log.error(
                            "GitHub GraphQL rate limit outlasts the wait budget; giving up",
                            extra={"operation": label, "wait_seconds": wait},
                        )
                        raise
                    waited += wait
                    await self._sleep(wait)
        finally:
            _graphql_operation.reset(token)

    def _graphql_rate_limit_wait(self, error: gidgethub.QueryError) -> float | None:
        errors = error.response.get("errors", []) if isinstance(error.response, dict) else []
        if not any(isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors):
            return None
        if self.rate_limit is None:
            return self._retry.secondary_wait
        return max(0.0, self.rate_limit.reset_datetime.timestamp() - self._clock()) + 1.0

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        is_graphql = url == self.graphql_url
        operation = (_graphql_operation.get() if is_graphql else None) or operation_of(
            method, url, base_url=self.base_url
        )
        send_headers = dict(headers)
        if not is_graphql:
            send_headers["x-github-api-version"] = API_VERSION
        waited = 0.0
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            if self._authorization is not None:
                send_headers["authorization"] = await self._authorization()
            try:
                status, response_headers, response_body = await self._send_once(
                    method, url, send_headers, body
                )
            except (TimeoutError, aiohttp.ClientError) as error:
                kind = "timeout" if isinstance(error, TimeoutError) else "error"
                self._metrics.github_calls.labels(operation, kind).inc()
                wait = self._backoff(attempt)
                if attempt >= self._retry.attempts or waited + wait > self._retry.max_total_wait:
                    log.error(
                        "GitHub unreachable after %d attempts",
                        attempt,
                        extra={"operation": operation, "error": repr(error)},
                    )
                    raise GitHubUnreachable(
                        f"{operation}: {type(error).__name__} after {attempt} attempts"
                    ) from error
                waited += wait
                await self._sleep(wait)
                continue
            self._metrics.github_calls.labels(operation, str(status)).inc()
            if not is_graphql and status != 304:  # a 304 is free; GraphQL is charged in points
                self._metrics.github_spent.labels(operation, "core").inc()
            self._read_budget(response_headers)
            if status == 401 and not refreshed and isinstance(self._authorization, Refreshable):
                # A revoked or suspended installation's token: mint a new one and try once more.
                log.warning(
                    "GitHub refused the token; minting a new one", extra={"operation": operation}
                )
                self._authorization.refused()
                refreshed = True
                continue
            wait_or_none = self._wait_before_retry(
                status, response_headers, response_body, attempt=attempt
            )
            if wait_or_none is None:
                return status, response_headers, response_body
            out_of_attempts = attempt >= self._retry.attempts
            if out_of_attempts or waited + wait_or_none > self._retry.max_total_wait:
                log.error(
                    "GitHub answered %d after %d attempts; giving up",
                    status,
                    attempt,
                    extra={"operation": operation, "wait_seconds": wait_or_none},
                )
                return status, response_headers, response_body
            waited += wait_or_none
            await self._sleep(wait_or_none)

    async def get_if_changed(
        self, url: str, url_vars: Mapping[str, Any], *, etag: str | None
    ) -> tuple[str | None, Any] | None:
        """GET `url` unless GitHub says it still matches `etag`: None for that answer (a 304,
        free against the primary limit), else (the new ETag, the body).

        The caller keeps the ETag: a few bytes per URL, where gidgethub's cache would keep
        every body (docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api
        #use-conditional-requests-if-appropriate)."""
        filled = sansio.format_url(url, url_vars, base_url=self.base_url)
        headers = sansio.create_headers(self.requester, accept=sansio.accept_format())
        if etag is not None:
            headers["if-none-match"] = etag
        status, response_headers, body = await self._request("GET", filled, headers)
        if status == 304:
            return None
        data, self.rate_limit, _ = sansio.decipher_response(status, response_headers, body)
        return response_headers.get("etag"), data

    def _read_budget(self, headers: Mapping[str, str]) -> None:
        """Keeps GitHub's word on what is left of the limit and on the time (`Date`)."""
        remaining = headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.isdigit():
            self._metrics.rate_limit_remaining.set(int(remaining))
            limit, reset = headers.get("x-ratelimit-limit", ""), headers.get("x-ratelimit-reset")
            resource = headers.get("x-ratelimit-resource") or "core"
            if limit.isdigit():
                budget = RateBudget(int(remaining), int(limit), float(reset or 0))
                self.budgets[resource] = budget
                self._metrics.budget_remaining.labels(self.identity, resource).set(budget.remaining)
        date = headers.get("date")
        if date:
            with suppress(TypeError, ValueError):  # an unreadable Date keeps the last offset
                self.clock_offset = self._clock() - parsedate_to_datetime(date).timestamp()

    async def _send_once(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        timeout = aiohttp.ClientTimeout(total=self._retry.timeout)
        async with self._session.request(
            method, url, headers=headers, data=body, timeout=timeout
        ) as response:
            return response.status, response.headers, await response.read()

    def _backoff(self, attempt: int) -> float:
        base = min(self._retry.backoff_cap, self._retry.backoff_base * 2.0 ** (attempt - 1))
        return base * (0.5 + self._jitter() / 2)  # jitter spreads retries of concurrent tasks

    def _wait_before_retry(
        self, status: int, headers: Mapping[str, str], body: bytes, *, attempt: int
    ) -> float | None:
        """Seconds to wait before retrying this response, or None to hand it to the caller.

        Rules from docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
        #exceeding-the-rate-limit.
        """
        if status >= 500:
            return self._backoff(attempt)
        if status not in (403, 429):
            return None
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                return self._retry.secondary_wait
        if headers.get("x-ratelimit-remaining") == "0":
            try:
                reset = float(headers.get("x-ratelimit-reset", ""))
            except ValueError:
                return self._retry.secondary_wait
            return max(0.0, reset - self._clock()) + 1.0
        if status == 429 or _mentions_secondary_limit(body):
            return self._retry.secondary_wait * 2.0 ** (attempt - 1)
        return None  # a plain 403: missing permission, not a limit


def _mentions_secondary_limit(body: bytes) -> bool:
    try:
        message = json.loads(body).get("message", "")
    except (ValueError, AttributeError):
        return False
    return secondary_limit_message(message)


def secondary_limit_message(message: object) -> bool:
    """Whether GitHub's error message is a secondary rate limit's (a 403 like any refusal)."""
    return isinstance(message, str) and "secondary rate limit" in message.lower()


ETAG_CACHE_ENTRIES = 512  # per client: maps and PR listings, a few KB each
ClientFactory = Callable[[Authorization], gidgethub.abc.GitHubAPI]


def clients_on(
    session: aiohttp.ClientSession,
    *,
    metrics: Metrics,
    base_url: str,
    graphql_url: str,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = time.time,
) -> ClientFactory:
    """Clients on one session, one per authorization (the App's, or an installation's), each
    with its own ETag cache."""

    def make(authorization: Authorization) -> gidgethub.abc.GitHubAPI:
        installation = getattr(authorization, "installation_id", None)
        return GitHubClient(
            session,
            metrics=metrics,
            base_url=base_url,
            graphql_url=graphql_url,
            authorization=authorization,
            retry=retry,
            sleep=sleep,
            clock=clock,
            cache=LRUCache(maxsize=ETAG_CACHE_ENTRIES),
            identity="app" if installation is None else str(installation),
        )

    return make
