"""The engine end to end over the fake GitHub: exact calls per evaluation, writes, budget."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.engine import Engine
from bot.github.queries import SAME_HEAD_LIMIT
from bot.metrics import Metrics
from bot.pr import PullRequestRef
from bot.settings import Secret, Settings
from tests.github.fakes import (
    BASE_URL,
    GRAPHQL_URL,
    Call,
    FakeServer,
    pull_request_node,
    snapshot_answer,
)

NOW = 1_775_044_800.0  # 2026-04-01T12:00:00Z
REF = PullRequestRef(installation_id=7, owner="acme-org", repo="widgets", number=1)

MAP = """\
version: 1
companies:
  acme: {name: Acme}
  globex: {name: Globex}
  initech: {name: Initech}
people:
  alice: {role: maintainer, affiliations: [{company: acme}]}
  bob: {role: maintainer, affiliations: [{company: acme}]}
  carol: {role: maintainer, affiliations: [{company: globex}]}
  erin: {role: maintainer, affiliations: [{company: initech}]}
policy:
  major: {paths: ["core/**"]}
  protected_files: [.github/affiliations.yml]
"""
BROKEN_MAP = "version: 1\ncompanies: {acme: {name: Acme}}\npeople:\n  alice: {role: boss}\n"

MAJOR = [("core/engine.py", 20, 5)]
APPROVED_BY_BOB = [("bob", "APPROVED", "2026-03-30T10:00:00Z")]


class GitHub:
    """The fake's state for one repository: the PR, the maps, and what the bot wrote."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.pull: dict[str, Any] | None = pull_request_node()
        self.others: dict[int, dict[str, Any]] = {}  # other PRs, by number
        self.repo_map: str | None = None
        self.owner_map: str | None = None
        self.owner_repository = True  # the App can read acme-org/.github (which has no map)
        self.load: dict[str, int] = {}
        self.check_runs: list[dict[str, Any]] = []
        self.minted = 0
        server.route("POST", r"/app/installations/(\d+)/access_tokens", self._mint)
        server.route("POST", r"/graphql", self._graphql)
        server.route("GET", r"/repos/acme-org/widgets/contents/(.+)", self._content("repo"))
        server.route("GET", r"/repos/acme-org/\.github/contents/(.+)", self._content("owner"))
        server.route("GET", r"/repos/acme-org/\.github", self._owner_repository)
        server.route("POST", r"/repos/acme-org/widgets/check-runs", self._create_run)
        server.route("PATCH", r"/repos/acme-org/widgets/check-runs/(\d+)", self._update_run)
        server.route("POST", r"/repos/acme-org/widgets/pulls/1/requested_reviewers", self._request)

    def _mint(self, call: Call, match: Any) -> tuple[int, Any]:
        self.minted += 1
        return 201, {"token": f"ghs_{self.minted}", "expires_at": "2026-04-01T13:00:00Z"}

    def _graphql(self, call: Call, match: Any) -> tuple[int, Any]:
        if call.graphql_operation == "Snapshot":
            number = call.body["variables"]["number"]
            return 200, snapshot_answer(self.others.get(number, self.pull))
        if call.graphql_operation == "ReviewLoad":
            logins = [
                part.split(":")[1].split('"')[0]
                for part in call.body["query"].split("review-requested")[1:]
            ]
            return 200, {
                "data": {
                    f"c{i}": {"issueCount": self.load.get(login, 0)}
                    for i, login in enumerate(logins)
                }
            }
        if call.graphql_operation == "MapHistory":
            return 200, self._map_history(call.body["variables"]["name"])
        if call.graphql_operation == "MapBlobs":
            names = {k: v for k, v in call.body["variables"].items() if k.startswith("n")}
            return 200, {
                "data": {
                    f"r{key[1:]}": {
                        "defaultBranchRef": {
                            "target": {"file": {"oid": "m1"} if self._has_map(name) else None}
                        }
                    }
                    for key, name in names.items()
                }
            }
        raise AssertionError(f"unexpected query {call.graphql_operation}")

    def _map_history(self, repo: str) -> dict[str, Any]:
        """The map's one commit: each map here is its repository's first (a bootstrap)."""
        text = self.repo_map if repo == "widgets" else self.owner_map
        assert text is not None, f"no map in {repo} to read the history of"
        which = "repo" if repo == "widgets" else "owner"
        blob = {"oid": f"{which}-{abs(hash(text)):x}"}
        commit = {
            "oid": "c" * 40,
            "url": f"https://github.com/acme-org/{repo}/commit/{'c' * 40}",
            "committedDate": "2026-01-01T00:00:00Z",
            "author": {"user": {"login": "alice"}},
            "mapFile": blob,
            "checkSuites": {"nodes": []},
            "associatedPullRequests": {"nodes": []},
        }
        history = {"pageInfo": {"hasNextPage": False}, "nodes": [commit]}
        tip = {**commit, "mapFile": {**blob, "object": {"text": text}}, "history": history}
        return {"data": {"repository": {"tip": tip}, "ownerMap": None}}

    def _owner_repository(self, call: Call, match: Any) -> tuple[int, Any]:
        if self.owner_repository:
            return 200, {"name": ".github", "full_name": "acme-org/.github"}
        return 404, {"message": "Not Found"}

    def _has_map(self, repo: str) -> bool:
        return (self.repo_map if repo == "widgets" else self.owner_map) is not None

    def _content(self, which: str) -> Any:
        def handler(call: Call, match: Any) -> tuple[int, Any, dict[str, str]]:
            text = self.repo_map if which == "repo" else self.owner_map
            if text is None:
                return 404, {"message": "Not Found"}, {}
            sha = f"{which}-{abs(hash(text)):x}"
            encoded = base64.b64encode(text.encode()).decode()
            body = {"type": "file", "encoding": "base64", "content": encoded, "sha": sha}
            return 200, body, {"etag": f'W/"{sha}"'}

        return handler

    def _create_run(self, call: Call, match: Any) -> tuple[int, Any]:
        self.check_runs.append(call.body)
        run_id = 500 + len(self.check_runs)
        self._remember_run(run_id, call.body)
        return 201, {"id": run_id}

    def _update_run(self, call: Call, match: Any) -> tuple[int, Any]:
        self.check_runs.append(call.body)
        if "external_id" in call.body:
            self._remember_run(int(match.group(1)), call.body)
        return 200, {"id": int(match.group(1))}

    def _remember_run(self, run_id: int, body: dict[str, Any]) -> None:
        assert self.pull is not None
        runs = self.pull["headCommit"]["nodes"][0]["commit"]["checkSuites"]["nodes"][0]
        runs["checkRuns"]["nodes"] = [
            {
                "databaseId": run_id,
                "name": body.get("name", "COI review"),
                "externalId": body["external_id"],
                "conclusion": "X",
            }
        ]

    def _request(self, call: Call, match: Any) -> tuple[int, Any]:
        assert self.pull is not None
        for login in call.body["reviewers"]:
            if login == self.pull["author"]["login"]:
                return 422, {"message": "Review cannot be requested from pull request author."}
        self.pull["reviewRequests"]["nodes"] += [
            {"requestedReviewer": {"__typename": "User", "login": login}}
            for login in call.body["reviewers"]
        ]
        nodes = self.pull["reviewRequests"]["nodes"]
        users = [{"login": n["requestedReviewer"]["login"]} for n in nodes]
        return 201, {"number": 1, "requested_reviewers": users}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    path = tmp_path / "affiliations.yml"
    path.write_text(MAP)
    return path


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def github(server: FakeServer) -> GitHub:
    return GitHub(server)


@pytest.fixture
async def engine(
    session: aiohttp.ClientSession, bundled: Path, server: FakeServer, app_private_key_pem: str
) -> Engine:
    settings = Settings(
        app_id="12345",
        private_key=Secret(app_private_key_pem),
        webhook_secret=Secret("s"),
        api_url=BASE_URL,
        graphql_url=GRAPHQL_URL,
        bundled_map=bundled,
    )
    engine = Engine(settings, session, Metrics(), clock=lambda: NOW, client_factory=server.factory)
    server.reply("GET", r"/app", 200, {"id": 12345, "client_id": "Iv1.fake"})
    await engine.start()  # as the server does before the port opens
    server.calls.clear()
    return engine


def calls_since(server: FakeServer, start: int) -> list[str]:
    return server.summary()[start:]


async def test_a_minor_pr_passes_on_the_bundled_map_then_writes_nothing(
    engine: Engine, server: FakeServer, github: GitHub
) -> None:
    first = await engine.evaluate(REF)
    assert first.outcome == "created"
    assert first.conclusion == "success"
    assert first.map_ref is not None
    assert first.map_ref.source == "bundled"
    assert server.summary() == [
        "POST /app/installations/7/access_tokens",
        "POST /graphql Snapshot",
        "GET /repos/acme-org/widgets/contents/.github/affiliations.yml",
        "GET /repos/acme-org/.github/contents/.github/affiliations.yml",
        "GET /repos/acme-org/.github",  # readable, no map there: the bundled map decides
        "POST /repos/acme-org/widgets/check-runs",
    ]
    (run,) = github.check_runs
    assert run["name"] == "COI review"
    assert run["head_sha"] == "h" * 40
    assert [a["identifier"] for a in run["actions"]] == ["recheck", "request"]
    mark = len(server.calls)
    second = await engine.evaluate(REF)
    assert second.outcome == "unchanged"
    assert calls_since(server, mark) == ["POST /graphql Snapshot"]  # 404s remembered briefly


async def test_the_repository_map_costs_nothing_while_its_etag_holds(
    engine: Engine, server: FakeServer, github: GitHub
) -> None:
    github.repo_map = MAP
    first = await engine.evaluate(REF)
    assert first.map_ref is not None
    assert first.map_ref.source == "repository"
    mark = len(server.calls)
    await engine.evaluate(REF)
    assert calls_since(server, mark) == [
        "POST /graphql Snapshot",
        "GET /repos/acme-org/widgets/contents/.github/affiliations.yml",
    ]
    assert server.not_modified == 1
    content_call = server.calls[-1]
    assert content_call.query == {"ref": ["main"]}


async def test_the_owner_map_decides_when_the_repository_has_none(
    engine: Engine, github: GitHub
) -> None:
    github.owner_map = MAP
    result = await engine.evaluate(REF)
    assert result.map_ref is not None
    assert (result.map_ref.source, result.map_ref.path) == ("owner", ".github/affiliations.yml")


async def test_a_conflicted_major_pr_requests_a_third_party_reviewer_once(
    engine: Engine, server: FakeServer, github: GitHub
) -> None:
    assert github.pull is not None
    github.pull = pull_request_node(files=MAJOR, reviews=APPROVED_BY_BOB)
    github.load = {"carol": 3, "erin": 1}
    result = await engine.evaluate(REF)
    assert result.conclusion == "action_required"
    assert result.requested == ("erin",)  # the least loaded of the other companies
    assert server.summary()[1:] == [
        "POST /graphql Snapshot",
        "GET /repos/acme-org/widgets/contents/.github/affiliations.yml",
        "GET /repos/acme-org/.github/contents/.github/affiliations.yml",
        "GET /repos/acme-org/.github",  # readable, no map there: the bundled map decides
        "POST /graphql ReviewLoad",
        "POST /repos/acme-org/widgets/pulls/1/requested_reviewers",
        "POST /repos/acme-org/widgets/check-runs",
    ]
    assert "erin" in github.check_runs[0]["output"]["summary"]
    mark = len(server.calls)
    again = await engine.evaluate(REF)
    assert (again.outcome, again.requested) == ("unchanged", ())
    assert calls_since(server, mark) == ["POST /graphql Snapshot"]


async def test_an_independent_approval_updates_the_check_in_place(
    engine: Engine, server: FakeServer, github: GitHub
) -> None:
    github.pull = pull_request_node(files=MAJOR, reviews=APPROVED_BY_BOB, requested=("erin",))
    await engine.evaluate(REF)
    assert github.pull is not None
    github.pull["reviews"]["nodes"].append(
        {
            "id": "R_erin",
            "databaseId": 9,
            "author": {"__typename": "User", "login": "erin"},
            "state": "APPROVED",
            "submittedAt": "2026-03-31T10:00:00Z",
            "commit": {"oid": "h" * 40},
        }
    )
    mark = len(server.calls)
    result = await engine.evaluate(REF)
    assert (result.outcome, result.conclusion) == ("updated", "success")
    assert calls_since(server, mark) == [
        "POST /graphql Snapshot",
        "PATCH /repos/acme-org/widgets/check-runs/501",
    ]


async def test_a_draft_is_evaluated_but_nobody_is_requested(
    engine: Engine, server: FakeServer, github: GitHub
) -> None:
    github.pull = pull_request_node(files=MAJOR, reviews=APPROVED_BY_BOB, draft=True)
    result = await engine.evaluate(REF)
    assert result.requested == ()
    assert result.conclusion == "action_required"
    assert not any(
        "requested_reviewers" in call or "ReviewLoad" in call for call in server.summary()
    )


async def test_a_broken_map_in_force_fails_the_check(engine: Engine, github: GitHub) -> None:
    github.repo_map = BROKEN_MAP
    result = await engine.evaluate(REF)
    assert result.conclusion == "failure"
    assert github.check_runs[0]["conclusion"] == "failure"
    assert github.check_runs[0]["name"] == "COI review"


async def test_a_head_shared_by_more_prs_than_one_read_lists_fails(
    engine: Engine, github: GitHub
) -> None:
    # An attacker could hide a failing twin past the first page: never pass what was not read.
    assert github.pull is not None
    head = github.pull["headCommit"]["nodes"][0]["commit"]
    others = [
        {"number": n, "state": "CLOSED", "headRefOid": "h" * 40, "repository": None}
        for n in range(2, 2 + SAME_HEAD_LIMIT)
    ]
    head["associatedPullRequests"] = {"totalCount": SAME_HEAD_LIMIT + 5, "nodes": others}
    result = await engine.evaluate(REF)
    assert result.conclusion == "failure"
    (run,) = github.check_runs
    assert run["output"]["title"] == "#1: Too many pull requests share this head"
    assert (
        f"more than {SAME_HEAD_LIMIT} pull requests contain this commit"
        in (run["output"]["summary"])
    )
    assert "| #1 | success |" in run["output"]["summary"], "its own verdict is still shown"


def share_head(github: GitHub, *numbers: int) -> None:
    """Say that the PRs `numbers` have PR 1's head too (its head commit's associated PRs)."""
    assert github.pull is not None
    head = github.pull["headCommit"]["nodes"][0]["commit"]
    nodes = [
        {"number": n, "state": "OPEN", "headRefOid": "h" * 40, "repository": {"nameWithOwner": s}}
        for n, s in [(1, "acme-org/widgets"), *((n, "acme-org/widgets") for n in numbers)]
    ]
    head["associatedPullRequests"] = {"totalCount": len(nodes), "nodes": nodes}


async def test_a_twin_is_read_once_and_its_verdict_written_with_ours(
    engine: Engine, server: FakeServer, github: GitHub
) -> None:
    share_head(github, 2)
    github.others[2] = pull_request_node(number=2, files=MAJOR, reviews=APPROVED_BY_BOB)
    start = len(server.calls)
    result = await engine.evaluate(REF)
    assert result.conclusion == "action_required", "the twin's verdict holds the commit"
    assert result.verdict is not None
    assert result.verdict.conclusion == "success"
    assert result.graphql_requests == 2
    assert calls_since(server, start).count("POST /graphql Snapshot") == 2
    assert not [c for c in server.calls if "requested_reviewers" in c.path], "nobody asked"


@pytest.mark.parametrize(
    "twin",
    [
        pull_request_node(number=2, state="CLOSED", files=MAJOR, reviews=APPROVED_BY_BOB),
        pull_request_node(number=2, head="n" * 40, files=MAJOR, reviews=APPROVED_BY_BOB),
    ],
)
async def test_a_twin_that_closed_or_moved_since_the_snapshot_is_left_out(
    engine: Engine, github: GitHub, twin: dict[str, Any]
) -> None:
    share_head(github, 2)
    github.others[2] = twin
    result = await engine.evaluate(REF)
    assert result.conclusion == "success"
    assert result.graphql_requests == 2
    (run,) = github.check_runs
    assert "#2" not in run["output"]["summary"], "its own head, its own check"


@pytest.mark.parametrize("state", ["CLOSED", "MERGED"])
async def test_closed_pull_requests_are_not_written(
    engine: Engine, server: FakeServer, github: GitHub, state: str
) -> None:
    github.pull = pull_request_node(state=state)
    result = await engine.evaluate(REF)
    assert result.outcome == "closed"
    assert server.summary() == [
        "POST /app/installations/7/access_tokens",
        "POST /graphql Snapshot",
    ]


async def test_judging_alone_writes_nothing(
    engine: Engine, server: FakeServer, github: GitHub
) -> None:
    github.pull = pull_request_node(files=MAJOR, reviews=APPROVED_BY_BOB)
    gh = await engine.app.installation_client(REF.installation_id)
    judged = await engine.judge.judge(
        gh, owner=REF.owner, repo=REF.repo, number=REF.number, now=datetime.now(UTC)
    )
    assert judged.verdict.conclusion == "action_required"
    assert judged.plan.ask  # whom the App would ask
    assert not [c for c in server.calls if c.method in {"PATCH"} or "check-runs" in c.path]
    assert not [c for c in server.calls if "requested_reviewers" in c.path]


async def test_a_hundred_concurrent_evaluations_mint_one_token(
    engine: Engine, server: FakeServer, github: GitHub
) -> None:
    server.delay = 0.001
    results = await asyncio.gather(*(engine.evaluate(REF) for _ in range(100)))
    assert github.minted == 1
    assert {r.conclusion for r in results} == {"success"}


async def test_open_pull_requests_and_installation_repositories(
    engine: Engine, server: FakeServer, github: GitHub
) -> None:
    server.reply("GET", r"/repos/acme-org/widgets/pulls", 200, [{"number": 3}, {"number": 5}])
    server.reply(
        "GET",
        r"/installation/repositories",
        200,
        {
            "total_count": 2,
            "repositories": [
                {"name": "widgets", "owner": {"login": "Acme-Org"}},
                {"name": "other", "owner": {"login": "someone-else"}},
            ],
        },
    )
    refs = await engine.open_pull_requests(7, "acme-org", "widgets")
    assert [r.number for r in refs] == [3, 5]
    assert server.calls[-1].query == {"state": ["open"], "per_page": ["100"]}
    assert await engine.installation_repositories(7, "acme-org") == ["widgets"]
    github.repo_map = MAP  # a map of its own: the owner's map does not govern it
    assert await engine.installation_repositories(7, "acme-org") == []


async def test_a_map_push_makes_the_engine_look_again(
    engine: Engine, server: FakeServer, github: GitHub
) -> None:
    await engine.evaluate(REF)
    github.repo_map = MAP
    engine.map_changed("acme-org", "widgets")
    github.pull = pull_request_node(head="k" * 40)
    result = await engine.evaluate(REF)
    assert result.map_ref is not None
    assert result.map_ref.source == "repository"


async def test_no_candidate_left_is_said_in_the_check(
    engine: Engine, server: FakeServer, github: GitHub
) -> None:
    # erin (Initech) and carol (Globex) both approved-and-withdrew: nobody else is eligible
    github.repo_map = MAP.replace(
        "  erin: {role: maintainer, affiliations: [{company: initech}]}\n", ""
    ).replace("  carol: {role: maintainer, affiliations: [{company: globex}]}\n", "")
    github.pull = pull_request_node(files=MAJOR, reviews=APPROVED_BY_BOB)
    result = await engine.evaluate(REF)
    assert result.conclusion == "action_required"
    assert result.requested == ()
    assert not [c for c in server.calls if "requested_reviewers" in c.path]
    assert result.output is not None
    assert "No eligible third-party TSC member is left to ask" in result.output.summary
