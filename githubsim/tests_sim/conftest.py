"""Fixtures that drive the simulator over real HTTP, every request checked against the reference."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from githubsim.reference import REFERENCE_DIR
from githubsim.validation import (
    OpenApiRequestValidator,
    WebhookPayloadValidator,
    graphql_validator,
)

from githubsim import GitHubSimulator

APP_ID = 4242
WEBHOOK_SECRET = "It's a Secret to Everybody"
API_VERSION = "2022-11-28"
MAP_PATH = ".github/affiliations.yml"
MAP_TEXT = "version: 1\ncompanies: {}\npeople: {}\n"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def app_private_key_pem() -> str:
    """An RSA key generated for this test session: test keys are never committed."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="session")
def app_public_key_pem(app_private_key_pem: str) -> str:
    key = serialization.load_pem_private_key(app_private_key_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="session")
def rest_validator(reference_dir: Path) -> OpenApiRequestValidator:
    import json

    spec = json.loads((reference_dir / "openapi-subset.json").read_text(encoding="utf-8"))
    return OpenApiRequestValidator(spec)


@pytest.fixture(scope="session")
def payload_validator(reference_dir: Path) -> WebhookPayloadValidator:
    return WebhookPayloadValidator(reference_dir / "schemas")


@dataclass
class Receiver:
    """The bot's side of webhooks: records what arrives, answers `status`."""

    url: str = ""
    status: int = 202
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        import json

        return [(headers["X-GitHub-Event"], json.loads(body)) for headers, body in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sink = Receiver()

    async def handle(request: web.Request) -> web.Response:
        sink.received.append((dict(request.headers), await request.read()))
        return web.Response(status=sink.status)

    app = web.Application()
    app.router.add_post("/webhook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sink.url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
    yield sink
    await runner.cleanup()


class Clock:
    """A settable clock shared by the simulator and the test's JWTs."""

    def __init__(self) -> None:
        from datetime import UTC, datetime

        self.moment = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> Any:
        return self.moment

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.moment += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sim(
    receiver: Receiver,
    app_public_key_pem: str,
    rest_validator: OpenApiRequestValidator,
    reference_dir: Path,
    clock: Clock,
) -> AsyncIterator[GitHubSimulator]:
    simulator = GitHubSimulator(
        app_id=APP_ID,
        app_public_key_pem=app_public_key_pem,
        webhook_secret=WEBHOOK_SECRET,
        webhook_url=receiver.url,
        request_validator=rest_validator,
        graphql_validator=graphql_validator(reference_dir / "graphql" / "schema.graphql"),
        clock=clock,
    )
    await simulator.start()
    yield simulator
    await simulator.close()
    assert simulator.violations == [], "requests GitHub would not accept were made"


class Api:
    """A minimal GitHub client over real HTTP, as the bot talks to the simulator."""

    def __init__(
        self, sim: GitHubSimulator, session: aiohttp.ClientSession, key: str, clock: Clock
    ) -> None:
        self.sim = sim
        self.session = session
        self.key = key
        self.clock = clock
        self.token = ""

    def jwt(self, **claims: Any) -> str:
        now = int(self.clock().timestamp())
        payload = {"iat": now - 60, "exp": now + 540, "iss": str(APP_ID)} | claims
        return jwt.encode(payload, self.key, algorithm="RS256")

    async def login(self, installation_id: int) -> str:
        status, body, _ = await self.call(
            "POST",
            f"/app/installations/{installation_id}/access_tokens",
            auth=f"Bearer {self.jwt()}",
        )
        assert status == 201, body
        self.token = body["token"]
        return self.token

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        auth: str | None = None,
        headers: dict[str, str] | None = None,
        version: bool = True,
    ) -> tuple[int, Any, Any]:
        sent = {"Accept": "application/vnd.github+json"}
        if version:
            sent["X-GitHub-Api-Version"] = API_VERSION
        authorization = auth if auth is not None else f"token {self.token}"
        if authorization:
            sent["Authorization"] = authorization
        sent |= headers or {}
        url = path if path.startswith("http") else self.sim.url + path
        async with self.session.request(method, url, json=json, headers=sent) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body, response.headers

    async def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        async with self.session.post(
            self.sim.graphql_url,
            json={"query": query, "variables": variables},
            headers={"Authorization": f"bearer {self.token}"},
        ) as response:
            assert response.status == 200
            result: dict[str, Any] = await response.json()
            return result


@pytest.fixture
async def api(sim: GitHubSimulator, app_private_key_pem: str, clock: Clock) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(sim, session, app_private_key_pem, clock)


@dataclass
class Seed:
    installation_id: int
    repo: str = "acme/widgets"


@pytest.fixture
def seed(sim: GitHubSimulator) -> Seed:
    """An org `acme` with the App installed, a repository governed by a map, and four people."""
    sim.add_org("acme")
    installation_id = sim.add_installation("acme")
    for login, email in [
        ("alice", "alice@acme.example"),
        ("bob", "bob@acme.example"),
        ("carol", "carol@other.example"),
        ("dave", None),
    ]:
        sim.add_user(login, email=email)
    sim.add_org("acme", members=["alice", "bob"])
    sim.add_repo("acme", "widgets", files={MAP_PATH: MAP_TEXT, "README.md": "hello\n"})
    for login in ("alice", "bob", "carol"):
        sim.set_permission("acme/widgets", login, "write")
    return Seed(installation_id)
