"""One replica runs a background job: `{prefix}lease:singleton:{name}`, owner token, PX ttl."""

from __future__ import annotations

from bot.replicas.link import RedisLink, check_ttl
from bot.replicas.pr_lease import RELEASE, RENEW


class JobLeases:
    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._renew = link.client.register_script(RENEW)
        self._release = link.client.register_script(RELEASE)

    def _key(self, name: str) -> str:
        return self._link.key(f"lease:singleton:{name}")

    async def acquire(self, name: str, owner_token: str, ttl_ms: int) -> bool:
        check_ttl(ttl_ms)
        async with self._link.run("acquire_singleton"):
            taken = await self._link.client.set(self._key(name), owner_token, nx=True, px=ttl_ms)
        return bool(taken)

    async def renew(self, name: str, owner_token: str, ttl_ms: int) -> bool:
        check_ttl(ttl_ms)
        async with self._link.run("renew_singleton"):
            renewed = await self._renew(keys=[self._key(name)], args=[owner_token, ttl_ms])
        return bool(renewed)

    async def release(self, name: str, owner_token: str) -> bool:
        """True when the caller still held the job and let it go."""
        async with self._link.run("release_singleton"):
            released = await self._release(keys=[self._key(name)], args=[owner_token])
        return bool(released)
