"""A fake GitHub behind gidgethub's own interface: it subclasses `gidgethub.abc.GitHubAPI` and
implements only `_request`, so URL templating, headers and error decoding are gidgethub's own.

Routes are `(METHOD, path regex) -> handler(call) -> (status, json body, headers)`; every call
is recorded with the `authorization` the client would have sent.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import gidgethub.abc

from bot.github.client import Authorization

BASE_URL = "https://api.github.test"
GRAPHQL_URL = BASE_URL + "/graphql"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: Any
    authorization: str | None

    @property
    def graphql_operation(self) -> str | None:
        if self.path != "/graphql":
            return None
        match = re.match(r"\s*query\s+(\w+)", self.body["query"])
        return match.group(1) if match else "anonymous"

    def __str__(self) -> str:
        return f"{self.method} {self.path}" + (
            f" {self.graphql_operation}" if self.graphql_operation else ""
        )


Reply = tuple[int, Any] | tuple[int, Any, Mapping[str, str]]
Handler = Callable[[Call, re.Match[str]], Reply]


@dataclass
class FakeServer:
    routes: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    delay: float = 0.0  # a real await inside each request, so that concurrency is exercised

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.insert(0, (method, re.compile(pattern), handler))  # newest route wins

    def reply(self, method: str, pattern: str, status: int, body: Any = None) -> None:
        self.route(method, pattern, lambda _call, _match: (status, body))

    def factory(self, authorization: Authorization) -> FakeGitHub:
        return FakeGitHub(self, authorization)

    def summary(self) -> list[str]:
        return [str(call) for call in self.calls]

    async def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, authorization: str
    ) -> tuple[int, Mapping[str, str], bytes]:
        parts = urlsplit(url)
        call = Call(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query),
            headers=dict(headers),
            body=json.loads(body) if body else None,
            authorization=authorization,
        )
        self.calls.append(call)
        if self.delay:
            await asyncio.sleep(self.delay)
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(parts.path)
            if route_method == method and match:
                status, data, *extra = handler(call, match)
                response_headers = {"content-type": "application/json; charset=utf-8"}
                if extra:
                    response_headers.update(extra[0])
                payload = b"" if data is None else json.dumps(data).encode()
                return status, response_headers, payload
        raise AssertionError(f"unexpected GitHub call {call}")


class FakeGitHub(gidgethub.abc.GitHubAPI):
    def __init__(self, server: FakeServer, authorization: Authorization) -> None:
        super().__init__("coi-bot-tests", base_url=BASE_URL)
        self.server = server
        self.authorization = authorization

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        return await self.server.handle(method, url, headers, body, await self.authorization())

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - the fake never limits
        raise AssertionError(f"the fake GitHub never asks to sleep ({seconds} s)")
