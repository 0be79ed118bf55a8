"""The client over real HTTP against a scripted server: retries, limits, headers, metrics."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import gidgethub
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from bot.github.client import (
    API_VERSION,
    OPERATIONS,
    GitHubClient,
    GitHubUnreachable,
    RateBudget,
    RetryPolicy,
    operation_of,
)
from bot.metrics import Metrics

NOW = 1_700_000_000.0


@dataclass
class Script:
    """Responses served in order; every request seen is kept for assertions."""

    responses: list[Callable[[], web.StreamResponse]] = field(default_factory=list)
    requests: list[tuple[str, str, CIMultiDict[str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            (request.method, request.path_qs, CIMultiDict(request.headers), await request.read())
        )
        return self.responses.pop(0)()


def reply(status: int = 200, body: Any = None, **headers: str) -> Callable[[], web.Response]:
    payload = {} if body is None else body
    return lambda: web.json_response(
        payload, status=status, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


@pytest.fixture
async def script() -> AsyncIterator[tuple[Script, str]]:
    scripted = Script()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", scripted.handle)
    server = TestServer(app)
    await server.start_server()
    try:
        yield scripted, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(
    session: aiohttp.ClientSession,
    base: str,
    *,
    metrics: Metrics | None = None,
    sleeps: Sleeps | None = None,
    retry: RetryPolicy | None = None,
) -> GitHubClient:
    async def authorization() -> str:
        return "token secret-token"

    return GitHubClient(
        session,
        metrics=metrics or Metrics(),
        base_url=base,
        graphql_url=base + "/graphql",
        authorization=authorization,
        retry=retry or RetryPolicy(attempts=3, backoff_base=1.0),
        sleep=sleeps if sleeps is not None else Sleeps(),
        clock=lambda: NOW,
        jitter=lambda: 1.0,
    )


def calls(metrics: Metrics, operation: str, status: str) -> float:
    value = metrics.registry.get_sample_value(
        "coi_github_calls_total", {"operation": operation, "status": status}
    )
    return value or 0.0


async def test_rest_call_sends_version_and_authorization(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses.append(reply(body={"id": 1}, x_ratelimit_remaining="4999"))
    metrics = Metrics()
    client = make_client(session, base, metrics=metrics)
    assert await client.getitem("/repos/{owner}/{repo}", {"owner": "o", "repo": "r"}) == {"id": 1}
    method, path, headers, _ = scripted.requests[0]
    assert (method, path) == ("GET", "/repos/o/r")
    assert headers["X-GitHub-Api-Version"] == API_VERSION
    assert headers["Authorization"] == "token secret-token"
    assert calls(metrics, "GET /repos/{owner}/{repo}", "200") == 1
    assert metrics.registry.get_sample_value("coi_github_rate_limit_remaining") == 4999


async def test_server_errors_are_retried_with_backoff(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses += [reply(502), reply(503), reply(body={"ok": True})]
    metrics, sleeps = Metrics(), Sleeps()
    client = make_client(session, base, metrics=metrics, sleeps=sleeps)
    assert await client.getitem("/repos/o/r") == {"ok": True}
    assert sleeps == [1.0, 2.0]
    assert calls(metrics, "GET /repos/{owner}/{repo}", "502") == 1
    assert calls(metrics, "GET /repos/{owner}/{repo}", "503") == 1
    assert calls(metrics, "GET /repos/{owner}/{repo}", "200") == 1


async def test_server_errors_give_up_after_the_attempts(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses += [reply(500), reply(500), reply(500), reply(body={})]
    sleeps = Sleeps()
    client = make_client(session, base, sleeps=sleeps)
    with pytest.raises(gidgethub.GitHubBroken):
        await client.getitem("/repos/o/r")
    assert len(scripted.requests) == 3
    assert sleeps == [1.0, 2.0]


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected_wait"),
    [
        pytest.param(403, {"retry_after": "7"}, {"message": "x"}, 7.0, id="secondary-retry-after"),
        pytest.param(429, {"retry_after": "3"}, {}, 3.0, id="429-retry-after"),
        pytest.param(
            403,
            {
                "x_ratelimit_remaining": "0",
                "x_ratelimit_reset": str(int(NOW) + 30),
                "x_ratelimit_limit": "5000",
            },
            {"message": "API rate limit exceeded"},
            31.0,
            id="primary-until-reset",
        ),
        pytest.param(429, {}, {}, 60.0, id="429-without-header"),
        pytest.param(
            403,
            {},
            {"message": "You have exceeded a secondary rate limit."},
            60.0,
            id="secondary-by-message",
        ),
        pytest.param(403, {"retry_after": "soon"}, {}, 60.0, id="unreadable-retry-after"),
    ],
)
async def test_rate_limits_wait_then_retry(
    script: tuple[Script, str],
    session: aiohttp.ClientSession,
    status: int,
    headers: dict[str, str],
    body: dict[str, Any],
    expected_wait: float,
) -> None:
    scripted, base = script
    scripted.responses += [reply(status, body, **headers), reply(body={"done": 1})]
    sleeps = Sleeps()
    client = make_client(session, base, sleeps=sleeps)
    assert await client.getitem("/repos/o/r") == {"done": 1}
    assert sleeps == [expected_wait]


async def test_plain_forbidden_is_not_retried(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses.append(reply(403, {"message": "Resource not accessible by integration"}))
    sleeps = Sleeps()
    client = make_client(session, base, sleeps=sleeps)
    with pytest.raises(gidgethub.BadRequest, match="not accessible"):
        await client.getitem("/repos/o/r")
    assert sleeps == []


async def test_a_limit_beyond_the_wait_cap_fails_without_waiting(
    script: tuple[Script, str], session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    scripted, base = script
    scripted.responses.append(
        reply(
            403,
            {"message": "API rate limit exceeded"},
            x_ratelimit_remaining="0",
            x_ratelimit_limit="5000",
            x_ratelimit_reset=str(int(NOW) + 3600),
        )
    )
    sleeps = Sleeps()
    client = make_client(session, base, sleeps=sleeps, retry=RetryPolicy(max_total_wait=120))
    with pytest.raises(gidgethub.RateLimitExceeded):
        await client.getitem("/repos/o/r")
    assert sleeps == []
    assert "giving up" in caplog.text


async def test_timeouts_are_retried_then_reported(session: aiohttp.ClientSession) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/slow", slow)
    server = TestServer(app)
    await server.start_server()
    try:
        metrics, sleeps = Metrics(), Sleeps()
        client = make_client(
            session,
            str(server.make_url("")).rstrip("/"),
            metrics=metrics,
            sleeps=sleeps,
            retry=RetryPolicy(attempts=2, backoff_base=1.0, timeout=0.05),
        )
        with pytest.raises(GitHubUnreachable, match="after 2 attempts"):
            await client.getitem("/slow")
        assert sleeps == [1.0]
        assert calls(metrics, "GET other", "timeout") == 2
    finally:
        await server.close()


async def test_connection_errors_are_retried_then_reported(session: aiohttp.ClientSession) -> None:
    sleeps = Sleeps()
    client = make_client(session, "http://127.0.0.1:9", sleeps=sleeps)
    with pytest.raises(GitHubUnreachable, match="ClientConnectorError"):
        await client.getitem("/repos/o/r")
    assert sleeps == [1.0, 2.0]


async def test_graphql_goes_to_the_configured_endpoint_with_its_operation_label(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses.append(reply(body={"data": {"viewer": {"login": "bot"}}}))
    metrics = Metrics()
    client = make_client(session, base, metrics=metrics)
    data = await client.graphql("query Viewer { viewer { login } }", owner="o")
    assert data == {"viewer": {"login": "bot"}}
    method, path, headers, body = scripted.requests[0]
    assert (method, path) == ("POST", "/graphql")
    assert headers["Authorization"] == "token secret-token"
    assert json.loads(body)["variables"] == {"owner": "o"}
    assert calls(metrics, "POST /graphql Viewer", "200") == 1


async def test_graphql_errors_are_raised(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses.append(
        reply(body={"data": None, "errors": [{"type": "NOT_FOUND", "message": "no such PR"}]})
    )
    client = make_client(session, base)
    with pytest.raises(gidgethub.QueryError, match="no such PR"):
        await client.graphql("{ viewer { login } }")


async def test_graphql_server_errors_share_the_retry_path(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses += [reply(502, {"message": "bad gateway"}), reply(body={"data": {"a": 1}})]
    sleeps = Sleeps()
    client = make_client(session, base, sleeps=sleeps)
    assert await client.graphql("query A { a }") == {"a": 1}
    assert sleeps == [1.0]


@pytest.mark.parametrize(
    ("headers", "expected_wait"),
    [
        (
            {
                "x_ratelimit_remaining": "0",
                "x_ratelimit_limit": "5000",
                "x_ratelimit_reset": str(int(NOW) + 10),
            },
            11.0,
        ),
        ({}, 60.0),
    ],
)
async def test_graphql_rate_limited_waits_for_the_reset(
    script: tuple[Script, str],
    session: aiohttp.ClientSession,
    headers: dict[str, str],
    expected_wait: float,
) -> None:
    scripted, base = script
    limited = {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}
    scripted.responses += [reply(200, limited, **headers), reply(body={"data": {"a": 1}})]
    sleeps = Sleeps()
    client = make_client(session, base, sleeps=sleeps)
    assert await client.graphql("query A { a }") == {"a": 1}
    assert sleeps == [expected_wait]


async def test_graphql_rate_limit_beyond_the_cap_is_raised(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    limited = {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}
    scripted.responses.append(
        reply(
            200,
            limited,
            x_ratelimit_remaining="0",
            x_ratelimit_limit="5000",
            x_ratelimit_reset=str(int(NOW) + 3600),
        )
    )
    sleeps = Sleeps()
    client = make_client(session, base, sleeps=sleeps)
    with pytest.raises(gidgethub.QueryError):
        await client.graphql("query A { a }")
    assert sleeps == []


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        (
            "GET",
            "https://api.github.com/repos/o/r/contents/.github/affiliations.yml?ref=main",
            "GET /repos/{owner}/{repo}/contents/{path}",
        ),
        (
            "POST",
            "https://api.github.com/repos/o/r/issues/comments/5/reactions",
            "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
        ),
        (
            "PATCH",
            "https://api.github.com/repos/o/r/issues/comments/5",
            "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
        ),
        (
            "POST",
            "https://api.github.com/repos/o/r/issues/7/comments",
            "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
        ),
        (
            "PATCH",
            "https://ghe.example/api/v3/repos/o/r/check-runs/9",
            "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
        ),
        ("GET", "https://api.github.com/zen", "GET other"),
    ],
)
def test_operations_are_templated(method: str, url: str, expected: str) -> None:
    base = "https://ghe.example/api/v3" if "ghe" in url else "https://api.github.com"
    assert operation_of(method, url, base_url=base) == expected


def test_every_operation_of_the_reference_subset_is_known(reference_dir: Path) -> None:
    spec = json.loads((reference_dir / "openapi-subset.json").read_text())
    reference = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "patch", "put", "delete"}
    }
    # Every operation the bot calls is one GitHub describes, and nothing it never calls is kept.
    assert set(OPERATIONS) <= reference


@pytest.mark.parametrize("kwargs", [{"attempts": 0}, {"max_total_wait": -1}, {"timeout": 0}])
def test_retry_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


async def test_an_unreadable_reset_waits_the_default(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    limited = reply(403, {"message": "limited"}, x_ratelimit_remaining="0", x_ratelimit_reset="?")
    scripted.responses += [limited, reply(body={"ok": 1})]
    sleeps = Sleeps()
    assert await make_client(session, base, sleeps=sleeps).getitem("/repos/o/r") == {"ok": 1}
    assert sleeps == [60.0]


async def test_a_forbidden_html_page_is_a_plain_refusal(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses.append(lambda: web.Response(status=403, text="<html>no</html>"))
    sleeps = Sleeps()
    with pytest.raises(gidgethub.BadRequest):
        await make_client(session, base, sleeps=sleeps).getitem("/repos/o/r")
    assert sleeps == []


async def test_a_client_without_authorization_sends_none(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses.append(reply(body={"zen": "ok"}))
    sleeps = Sleeps()
    client = GitHubClient(
        session, metrics=Metrics(), base_url=base, graphql_url=base + "/graphql", sleep=sleeps
    )
    await client.getitem("/zen")
    assert "Authorization" not in scripted.requests[0][2]
    await client.sleep(2.5)  # gidgethub's own sleep hook goes through the injected one
    assert sleeps == [2.5]


class RotatingToken:
    """An authorization that hands out a new token each time the last one was refused."""

    def __init__(self) -> None:
        self.generation = 1

    async def __call__(self) -> str:
        return f"token t{self.generation}"

    def refused(self) -> None:
        self.generation += 1


def client_with(session: aiohttp.ClientSession, base: str, authorization: Any) -> GitHubClient:
    return GitHubClient(
        session,
        metrics=Metrics(),
        base_url=base,
        graphql_url=base + "/graphql",
        authorization=authorization,
        retry=RetryPolicy(attempts=3, backoff_base=1.0),
        sleep=Sleeps(),
        clock=lambda: NOW,
    )


async def test_a_refused_token_is_replaced_once(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses += [reply(401, {"message": "Bad credentials"}), reply(body={"id": 1})]
    token = RotatingToken()
    client = client_with(session, base, token)
    assert await client.getitem("/repos/{owner}/{repo}", {"owner": "o", "repo": "r"}) == {"id": 1}
    sent = [headers["Authorization"] for _, _, headers, _ in scripted.requests]
    assert sent == ["token t1", "token t2"]


async def test_a_new_token_refused_too_is_an_error_not_a_loop(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses += [reply(401, {"message": "Bad credentials"})] * 2
    client = client_with(session, base, RotatingToken())
    with pytest.raises(gidgethub.BadRequest):
        await client.getitem("/repos/{owner}/{repo}", {"owner": "o", "repo": "r"})
    assert len(scripted.requests) == 2


def spent(metrics: Metrics, operation: str, resource: str) -> float:
    value = metrics.registry.get_sample_value(
        "coi_github_spent_total", {"operation": operation, "resource": resource}
    )
    return value or 0.0


async def test_a_conditional_get_keeps_the_etag_and_a_304_is_free(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    scripted.responses += [
        reply(body=[{"number": 7}], etag='W/"a"'),
        lambda: web.Response(status=304, headers={"etag": 'W/"a"'}),
        reply(404, {"message": "Not Found"}),
    ]
    metrics = Metrics()
    client = make_client(session, base, metrics=metrics)
    url, url_vars = "/repos/{owner}/{repo}/pulls", {"owner": "o", "repo": "r"}
    assert await client.get_if_changed(url, url_vars, etag=None) == ('W/"a"', [{"number": 7}])
    assert await client.get_if_changed(url, url_vars, etag='W/"a"') is None
    assert scripted.requests[1][2]["If-None-Match"] == 'W/"a"'
    assert spent(metrics, "GET /repos/{owner}/{repo}/pulls", "core") == 1
    with pytest.raises(gidgethub.BadRequest):
        await client.get_if_changed(url, url_vars, etag=None)


async def test_githubs_budget_and_clock_are_read_from_every_answer(
    script: tuple[Script, str], session: aiohttp.ClientSession
) -> None:
    scripted, base = script
    limits = {
        "x-ratelimit-remaining": "4990",
        "x-ratelimit-limit": "5000",
        "x-ratelimit-reset": str(int(NOW) + 600),
        "x-ratelimit-resource": "graphql",
    }

    def answer(headers: dict[str, str]) -> web.Response:
        return web.json_response({"data": {"viewer": {"login": "x"}}}, headers=headers)

    for date in ("Tue, 14 Nov 2023 22:13:00 GMT", "yesterday"):
        scripted.responses.append(functools.partial(answer, {**limits, "Date": date}))
    metrics = Metrics()
    client = make_client(session, base, metrics=metrics)
    client.identity = "42"
    await client.graphql("query Me { viewer { login } }")
    assert client.budgets["graphql"] == RateBudget(4990, 5000, NOW + 600)
    assert client.budgets["graphql"].fraction_left == 0.998
    # NOW is 22:13:20 UTC on that day: this process runs 20 s ahead of GitHub.
    assert client.clock_offset == 20.0
    await client.graphql("query Me { viewer { login } }")
    assert client.clock_offset == 20.0, "an unreadable Date keeps the last offset"
    assert (
        metrics.registry.get_sample_value(
            "coi_github_budget_remaining", {"installation": "42", "resource": "graphql"}
        )
        == 4990
    )
    assert spent(metrics, "POST /graphql Me", "graphql") == 2
