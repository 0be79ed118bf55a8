"""Installation tokens shared by the replicas: `{prefix}token:{installation}` holds
`expires_at token`, expiring just before the token does."""

from __future__ import annotations

from bot.replicas.link import RedisLink, text
from bot.settings import Secret

TOKEN_MARGIN_SECONDS = 60  # a shared token disappears a minute before GitHub expires it


class SharedTokens:
    def __init__(self, link: RedisLink) -> None:
        self._link = link

    def _key(self, installation_id: int) -> str:
        return self._link.key(f"token:{installation_id}")

    async def get(self, installation_id: int) -> tuple[Secret, float] | None:
        """A token some replica minted for this installation and its expiry (epoch seconds)."""
        async with self._link.run("get_token"):
            raw = await self._link.client.get(self._key(installation_id))
        if raw is None:
            return None
        expires_at, _, token = text(raw).partition(" ")
        try:
            return Secret(token), float(expires_at)
        except ValueError:
            return None  # written by something else: mint a fresh one

    async def put(self, installation_id: int, token: Secret, expires_at: float) -> None:
        """Share a minted token until shortly before it expires; an expiring one is not shared."""
        ttl_ms = int((expires_at - TOKEN_MARGIN_SECONDS - self._link.clock()) * 1000)
        if ttl_ms <= 0:
            return
        async with self._link.run("put_token"):
            await self._link.client.set(
                self._key(installation_id), f"{expires_at!r} {token.reveal()}", px=ttl_ms
            )
