"""App JWTs and installation tokens: claims, caching, refresh, one mint under concurrency."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bot.github.auth import (
    JWT_LIFETIME_SECONDS,
    AuthError,
    GitHubApp,
    app_jwt,
)
from bot.metrics import Metrics
from bot.settings import Secret
from tests.github.fakes import Call, FakeServer

NOW = 1_700_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def public_key(pem: str) -> bytes:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def token_server(clock: Clock, *, lifetime: float = 3600) -> FakeServer:
    server = FakeServer(delay=0.001)
    minted = iter(range(1, 10_000))

    def mint(call: Call, match: re.Match[str]) -> tuple[int, dict[str, str]]:
        return 201, {
            "token": f"ghs_{match['id']}_{next(minted)}",
            "expires_at": iso(clock() + lifetime),
        }

    server.route("POST", r"/app/installations/(?P<id>\d+)/access_tokens", mint)
    return server


def make_app(
    pem: str, server: FakeServer, clock: Clock, metrics: Metrics | None = None
) -> GitHubApp:
    return GitHubApp(
        app_id="12345",
        private_key=Secret(pem),
        client_factory=server.factory,
        metrics=metrics or Metrics(),
        clock=clock,
    )


def test_app_jwt_claims(app_private_key_pem: str) -> None:
    token = app_jwt(app_id="12345", private_key=Secret(app_private_key_pem), now=NOW)
    claims = jwt.decode(
        token,
        public_key(app_private_key_pem),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {"iat": NOW - 60, "exp": NOW - 60 + JWT_LIFETIME_SECONDS, "iss": "12345"}
    assert claims["exp"] - NOW <= 600


async def test_token_requests_use_the_app_jwt_and_tokens_are_cached(
    app_private_key_pem: str,
) -> None:
    clock = Clock()
    server = token_server(clock)
    metrics = Metrics()
    app = make_app(app_private_key_pem, server, clock, metrics)
    first = await app.installation_token(7)
    clock.now += 3000  # 50 minutes: still more than 5 minutes before expiry
    assert await app.installation_token(7) == first
    assert first.reveal() == "ghs_7_1"
    (call,) = server.calls
    assert call.authorization is not None
    scheme, bearer = call.authorization.split(" ")
    assert scheme == "Bearer"
    claims = jwt.decode(
        bearer,
        public_key(app_private_key_pem),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == "12345"
    assert metrics.registry.get_sample_value("coi_installation_tokens_minted_total") == 1


async def test_a_token_is_replaced_five_minutes_before_it_expires(app_private_key_pem: str) -> None:
    clock = Clock()
    server = token_server(clock)
    app = make_app(app_private_key_pem, server, clock)
    await app.installation_token(7)
    clock.now += 3600 - 300
    assert (await app.installation_token(7)).reveal() == "ghs_7_2"
    assert len(server.calls) == 2


async def test_the_jwt_is_refreshed_before_github_would_reject_it(app_private_key_pem: str) -> None:
    clock = Clock()
    server = token_server(clock, lifetime=60)  # short tokens force a mint on every call
    app = make_app(app_private_key_pem, server, clock)
    await app.installation_token(1)
    clock.now += 100
    await app.installation_token(1)
    clock.now += 400
    await app.installation_token(1)
    first, second, third = (call.authorization for call in server.calls)
    assert first == second
    assert third != first


async def test_concurrent_evaluations_mint_one_token_per_installation(
    app_private_key_pem: str,
) -> None:
    clock = Clock()
    server = token_server(clock)
    metrics = Metrics()
    app = make_app(app_private_key_pem, server, clock, metrics)
    clients = await asyncio.gather(*(app.installation_client(i % 2) for i in range(100)))
    assert len({id(client) for client in clients}) == 2
    assert sorted(call.path for call in server.calls) == [
        "/app/installations/0/access_tokens",
        "/app/installations/1/access_tokens",
    ]
    assert metrics.registry.get_sample_value("coi_installation_tokens_minted_total") == 2


async def test_installation_clients_send_the_installation_token(app_private_key_pem: str) -> None:
    clock = Clock()
    server = token_server(clock)
    server.reply("GET", r"/repos/o/r", 200, {"id": 1})
    app = make_app(app_private_key_pem, server, clock)
    client = await app.installation_client(42)
    await client.getitem("/repos/o/r")
    assert server.calls[-1].authorization == "token ghs_42_1"
    app.forget_token(42)
    await client.getitem("/repos/o/r")
    assert server.calls[-1].authorization == "token ghs_42_2"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"expires_at": "2030-01-01T00:00:00Z"}, "no token"),
        ([], "no token"),
        ({"token": "t"}, "no expires_at"),
        ({"token": "t", "expires_at": "tomorrow"}, "not a timestamp"),
    ],
)
async def test_malformed_token_responses_are_refused(
    app_private_key_pem: str, body: object, message: str
) -> None:
    server = FakeServer()
    server.reply("POST", r"/app/installations/\d+/access_tokens", 201, body)
    app = make_app(app_private_key_pem, server, Clock())
    with pytest.raises(AuthError, match=message):
        await app.installation_token(3)


async def test_the_numeric_app_id_is_asked_once_with_the_jwt(app_private_key_pem: str) -> None:
    server = FakeServer()
    server.reply("GET", r"/app$", 200, {"id": 987, "client_id": "Iv1.abc", "slug": "coi"})
    app = make_app(app_private_key_pem, server, Clock())
    assert list(await asyncio.gather(app.numeric_id(), app.numeric_id())) == [987, 987]
    assert server.summary().count("GET /app") == 1
    assert (server.calls[0].authorization or "").startswith("Bearer ")


@pytest.mark.parametrize("body", [{}, {"id": "987"}, {"id": True}, {"id": 0}, []])
async def test_an_answer_without_a_numeric_app_id_is_refused(
    app_private_key_pem: str, body: object
) -> None:
    server = FakeServer()
    server.reply("GET", r"/app$", 200, body)
    with pytest.raises(AuthError, match="no numeric App id"):
        await make_app(app_private_key_pem, server, Clock()).numeric_id()
