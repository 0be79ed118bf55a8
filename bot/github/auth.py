"""The App's identity: its JWT, and installation tokens minted once per installation per hour.

One client acts as the App (JWT) and one client per installation (token): gidgethub refuses a
client that mixes both, so each identity gets its own and keeps it for the process's life.

With several replicas (`share_tokens`), a token one replica minted is read from Redis by the
others instead of minting their own; Redis unreachable, each replica mints for itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

import gidgethub.abc
import jwt

from bot.github.client import Authorization, Clock
from bot.github.times import github_time
from bot.metrics import Metrics
from bot.replicas.link import CoordinationUnavailable
from bot.replicas.tokens import SharedTokens
from bot.settings import Secret

# docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/
# generating-a-json-web-token-jwt-for-a-github-app: iat 60 s back for drift, exp at most 10 min.
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 540
JWT_REFRESH_SECONDS = 420  # a fresh JWT well before GitHub would reject the old one
TOKEN_MARGIN_SECONDS = 300  # a token is replaced 5 minutes before its expires_at

ClientFactory = Callable[[Authorization], gidgethub.abc.GitHubAPI]


class AuthError(Exception):
    """GitHub answered the token request with something that is not a token."""


def app_jwt(*, app_id: str, private_key: Secret, now: float) -> str:
    """An RS256 App JWT; PyJWT >= 2.11 rejects a non-str `iss`, hence `str(app_id)`."""
    issued_at = int(now) - JWT_BACKDATE_SECONDS
    claims = {"iat": issued_at, "exp": issued_at + JWT_LIFETIME_SECONDS, "iss": str(app_id)}
    return jwt.encode(claims, private_key.reveal(), algorithm="RS256")


@dataclass(frozen=True, slots=True)
class InstallationToken:
    token: Secret
    expires_at: float  # epoch seconds


def _parse_expiry(raw: object) -> float:
    if not isinstance(raw, str):
        raise AuthError(f"installation token response has no expires_at string: {raw!r}")
    try:
        return github_time(raw).timestamp()
    except ValueError:
        raise AuthError(f"installation token expires_at is not a timestamp: {raw!r}") from None


class GitHubApp:
    """Hands out the App client and per-installation clients whose tokens stay fresh."""

    def __init__(
        self,
        *,
        app_id: str,
        private_key: Secret,
        client_factory: ClientFactory,
        metrics: Metrics,
        clock: Clock = time.time,
    ) -> None:
        self._app_id = app_id
        self._private_key = private_key
        self._factory = client_factory
        self._metrics = metrics
        self._clock = clock
        self._jwt: tuple[str, float] | None = None  # (token, refresh at)
        self._tokens: dict[int, InstallationToken] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._clients: dict[int, gidgethub.abc.GitHubAPI] = {}
        self._shared: SharedTokens | None = None
        self._refused: dict[int, Secret] = {}  # a shared token GitHub refused is not read back
        self._numeric_id: int | None = None
        self._id_lock = asyncio.Lock()
        self.app_client = client_factory(self._app_authorization)

    async def numeric_id(self) -> int:
        """The App's numeric id, asked of GitHub once (`GET /app` with the App's JWT), whether
        GITHUB_APP_ID holds that id or the client ID: check runs are filtered by it."""
        if self._numeric_id is not None:
            return self._numeric_id
        async with self._id_lock:
            if self._numeric_id is None:
                # docs.github.com/en/rest/apps/apps#get-the-authenticated-app
                found = await self.app_client.getitem("/app")
                value = found.get("id") if isinstance(found, dict) else None
                if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                    raise AuthError(f"GET /app returned no numeric App id: {value!r}")
                self._numeric_id = value
            return self._numeric_id

    def share_tokens(self, tokens: SharedTokens) -> None:
        """Read and share installation tokens through Redis (several replicas)."""
        self._shared = tokens

    async def _app_authorization(self) -> str:
        now = self._clock()
        if self._jwt is None or now >= self._jwt[1]:
            token = app_jwt(app_id=self._app_id, private_key=self._private_key, now=now)
            self._jwt = (token, now + JWT_REFRESH_SECONDS)
        return f"Bearer {self._jwt[0]}"

    def _fresh(self, installation_id: int) -> InstallationToken | None:
        cached = self._tokens.get(installation_id)
        if cached is None or self._clock() >= cached.expires_at - TOKEN_MARGIN_SECONDS:
            return None
        return cached

    async def installation_token(self, installation_id: int) -> Secret:
        """The installation's token, minted at most once per hour however many tasks ask."""
        cached = self._fresh(installation_id)
        if cached is not None:
            return cached.token
        lock = self._locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            cached = self._fresh(installation_id)  # another task may have minted while we waited
            if cached is not None:
                return cached.token
            shared = await self._shared_token(installation_id)
            if shared is not None:
                self._tokens[installation_id] = shared
                return shared.token
            response = await self.app_client.post(
                "/app/installations/{installation_id}/access_tokens",
                {"installation_id": installation_id},
                data=b"",
            )
            if not isinstance(response, dict) or not isinstance(response.get("token"), str):
                raise AuthError(
                    f"installation {installation_id}: GitHub returned no token "
                    f"(keys: {sorted(response) if isinstance(response, dict) else type(response)})"
                )
            minted = InstallationToken(
                token=Secret(response["token"]),
                expires_at=_parse_expiry(response.get("expires_at")),
            )
            self._tokens[installation_id] = minted
            self._metrics.tokens_minted.inc()
            if self._shared is not None:
                with suppress(CoordinationUnavailable):
                    await self._shared.put(installation_id, minted.token, minted.expires_at)
            return minted.token

    async def _shared_token(self, installation_id: int) -> InstallationToken | None:
        if self._shared is None:
            return None
        try:
            found = await self._shared.get(installation_id)
        except CoordinationUnavailable:
            return None
        if found is None or found[0] == self._refused.get(installation_id):
            return None
        shared = InstallationToken(token=found[0], expires_at=found[1])
        if self._clock() >= shared.expires_at - TOKEN_MARGIN_SECONDS:
            return None
        return shared

    def forget_token(self, installation_id: int) -> None:
        """Drop a token GitHub refused (revoked, or the installation was suspended)."""
        refused = self._tokens.pop(installation_id, None)
        if refused is not None:
            self._refused[installation_id] = refused.token

    async def installation_client(self, installation_id: int) -> gidgethub.abc.GitHubAPI:
        """The client acting as this installation, its token checked fresh before returning."""
        await self.installation_token(installation_id)
        client = self._clients.get(installation_id)
        if client is None:
            client = self._factory(InstallationAuthorization(self, installation_id))
            self._clients[installation_id] = client
        return client


class InstallationAuthorization:
    """The `authorization` header of one installation, minted anew when GitHub refuses it."""

    def __init__(self, app: GitHubApp, installation_id: int) -> None:
        self._app = app
        self.installation_id = installation_id

    async def __call__(self) -> str:
        return f"token {(await self._app.installation_token(self.installation_id)).reveal()}"

    def refused(self) -> None:
        self._app.forget_token(self.installation_id)
