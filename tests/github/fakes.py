"""A fake GitHub behind gidgethub's own interface: it subclasses `gidgethub.abc.GitHubAPI` and
implements only `_request`, so URL templating, headers and error decoding are gidgethub's own.

Routes are `(METHOD, path regex) -> handler(call) -> (status, json body, headers)`; every call
is recorded with the `authorization` the client would have sent.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping, Sequence
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
    not_modified: int = 0  # 304s answered to If-None-Match

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
                etag = response_headers.get("etag")
                if status == 200 and etag and headers.get("if-none-match") == etag:
                    self.not_modified += 1
                    return 304, {"etag": etag}, b""
                payload = b"" if data is None else json.dumps(data).encode()
                return status, response_headers, payload
        raise AssertionError(f"unexpected GitHub call {call}")


class FakeGitHub(gidgethub.abc.GitHubAPI):
    def __init__(self, server: FakeServer, authorization: Authorization) -> None:
        super().__init__("coi-bot-tests", base_url=BASE_URL, cache={})
        self.server = server
        self.authorization = authorization

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        return await self.server.handle(method, url, headers, body, await self.authorization())

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - the fake never limits
        raise AssertionError(f"the fake GitHub never asks to sleep ({seconds} s)")


def pull_request_node(
    *,
    number: int = 1,
    author: str = "alice",
    head: str = "h" * 40,
    state: str = "OPEN",
    draft: bool = False,
    files: list[tuple[str, int, int]] | None = None,
    reviews: Sequence[tuple[str, str, str | None]] | None = None,  # None: a pending review
    requested: tuple[str, ...] = (),
    labels: tuple[str, ...] = (),
    check_run: tuple[int, str | None] | None = None,
    map_text: str | None = None,
    map_path: str = ".github/affiliations.yml",
) -> dict[str, Any]:
    """The `pullRequest` of a SNAPSHOT answer, as GitHub shapes it."""
    files = files if files is not None else [("docs/readme.md", 1, 0)]
    page = {"hasNextPage": False, "endCursor": None}
    runs = (
        []
        if check_run is None
        else [
            {
                "databaseId": check_run[0],
                "name": "COI review",
                "externalId": check_run[1],
                "conclusion": "SUCCESS",
            }
        ]
    )
    return {
        "id": f"PR_{number}",
        "number": number,
        "title": f"Change {number}",
        "isDraft": draft,
        "state": state,
        "baseRefName": "main",
        "headRefOid": head,
        "author": {"__typename": "User", "login": author},
        "labels": {"nodes": [{"name": label} for label in labels]},
        "files": {
            "totalCount": len(files),
            "pageInfo": page,
            "nodes": [
                {"path": p, "additions": a, "deletions": d, "changeType": "MODIFIED"}
                for p, a, d in files
            ],
        },
        "commits": {
            "totalCount": 1,
            "pageInfo": page,
            "nodes": [
                {
                    "commit": {
                        "oid": head,
                        "message": "change",
                        "author": {"email": f"{author}@example.com", "user": {"login": author}},
                        "committer": {"email": "noreply@github.com", "user": None},
                    }
                }
            ],
        },
        "reviews": {
            "pageInfo": page,
            "nodes": [
                {
                    "id": f"R_{login}",
                    "databaseId": 100 + i,
                    "author": {"__typename": "User", "login": login},
                    "state": review_state,
                    "submittedAt": submitted,
                    "commit": {"oid": head},
                }
                for i, (login, review_state, submitted) in enumerate(reviews or [])
            ],
        },
        "comments": {"pageInfo": page, "nodes": []},
        "reviewRequests": {
            "nodes": [
                {"requestedReviewer": {"__typename": "User", "login": login}} for login in requested
            ]
        },
        "headCommit": {
            "nodes": [
                {
                    "commit": {
                        "oid": head,
                        "mapFile": None
                        if map_text is None
                        else {"object": {"oid": "m" * 40, "text": map_text}},
                        "checkSuites": {"nodes": [{"checkRuns": {"nodes": runs}}]},
                    }
                }
            ]
        },
    }


def snapshot_answer(pull: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "data": {
            "rateLimit": {"remaining": 4999, "resetAt": "2030-01-01T00:00:00Z", "cost": 1},
            # No target: the map hint is unknown, the contents API is asked on `main`.
            "repository": {"defaultBranchRef": {"name": "main"}, "pullRequest": pull},
        }
    }
