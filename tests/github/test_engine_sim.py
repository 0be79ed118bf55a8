"""The engine against the GitHub simulator over real HTTP: the exact calls of each evaluation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from graphql import build_schema, parse, validate

from bot.engine import Engine
from bot.metrics import Metrics
from bot.pr import PullRequestRef
from bot.settings import Secret, Settings
from githubsim import GitHubSimulator
from tests.test_engine import MAP

REPO = "acme/widgets"


@pytest.fixture
async def sim(app_private_key_pem: str, reference_dir: Path) -> AsyncIterator[GitHubSimulator]:
    key = serialization.load_pem_private_key(app_private_key_pem.encode(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sdl = (reference_dir / "graphql" / "schema.graphql").read_text()
    schema = build_schema(sdl, assume_valid_sdl=True)  # GitHub repeats two enterprise fields

    def graphql_validator(query: str) -> list[str]:
        return [error.message for error in validate(schema, parse(query))]

    simulator = GitHubSimulator(
        app_id=4242,
        app_public_key_pem=public.decode(),
        webhook_secret="s",
        graphql_validator=graphql_validator,
    )
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.close()


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
async def engine(
    sim: GitHubSimulator, app_private_key_pem: str, tmp_path: Path, waits: list[float]
) -> AsyncIterator[Engine]:
    bundled = tmp_path / "bundled.yml"
    bundled.write_text(MAP)
    settings = Settings(
        app_id=str(sim.app_id),
        private_key=Secret(app_private_key_pem),
        webhook_secret=Secret("s"),
        api_url=sim.url,
        graphql_url=sim.graphql_url,
        bundled_map=bundled,
    )

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    async with aiohttp.ClientSession() as session:
        engine = Engine(settings, session, Metrics(), sleep=no_wait)
        await engine.start()  # as the server does before the port opens: one `GET /app`
        yield engine


def calls(sim: GitHubSimulator) -> list[str]:
    return [
        f"{c.method} {c.operation_id or c.path}"
        + (f" {c.query_name}" if c.query_name else "")
        + f" {c.status}"
        for c in sim.calls
    ]


def seed(sim: GitHubSimulator) -> int:
    for login, email in [
        ("alice", "a@acme.example"),
        ("bob", "b@acme.example"),
        ("carol", "c@globex.example"),
        ("erin", "e@initech.example"),
    ]:
        sim.add_user(login, email=email)
    installation = sim.add_installation("acme")
    sim.add_repo("acme", "widgets", files={".github/affiliations.yml": MAP})
    for login in ("alice", "bob", "carol", "erin"):
        sim.set_permission(REPO, login, "write")
    return installation


async def test_the_central_story_costs_what_the_contract_says(
    sim: GitHubSimulator, engine: Engine
) -> None:
    installation = seed(sim)
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework the core", files={"core/engine.py": "x = 1\n"}
    )
    await sim.submit_review(REPO, number, reviewer="bob")
    ref = PullRequestRef(installation, "acme", "widgets", number)
    sim.reset_calls()

    first = await engine.evaluate(ref)
    assert first.conclusion == "action_required"
    assert len(first.requested) == 1
    (reviewer,) = first.requested
    assert reviewer in {"carol", "erin"}
    assert sim.review_requests(REPO, number) == [reviewer]
    assert calls(sim) == [
        "POST apps/create-installation-access-token 201",
        "POST graphql Snapshot 200",
        "GET repos/get-content 200",
        # A map version never judged: its history says how it landed (here, the first map).
        "POST graphql MapHistory 200",
        "POST graphql ReviewLoad 200",
        "POST pulls/request-reviewers 201",
        "POST checks/create 201",
    ]
    (run,) = sim.check_runs(REPO, sim.head_sha(REPO, number))
    assert run["conclusion"] == "action_required"
    assert sim.tokens_minted == 1

    sim.reset_calls()
    again = await engine.evaluate(ref)
    assert again.outcome == "unchanged"
    # The snapshot names the map's blob at the base: one already parsed costs no call at all.
    assert calls(sim) == ["POST graphql Snapshot 200"]

    await sim.submit_review(REPO, number, reviewer=reviewer)
    sim.reset_calls()
    done = await engine.evaluate(ref)
    assert (done.outcome, done.conclusion) == ("updated", "success")
    assert calls(sim) == ["POST graphql Snapshot 200", "PATCH checks/update 200"]
    assert sim.tokens_minted == 1
    assert sim.violations == []


async def test_server_errors_and_secondary_limits_are_retried(
    sim: GitHubSimulator, engine: Engine, waits: list[float]
) -> None:
    installation = seed(sim)
    number = await sim.open_pull_request(
        REPO, author="alice", title="Docs", files={"docs/a.md": "hi\n"}
    )
    sim.inject_failure("graphql", status=502, times=1)
    sim.inject_failure("checks/create", status=403, times=1, headers={"retry-after": "3"})
    sim.reset_calls()
    result = await engine.evaluate(PullRequestRef(installation, "acme", "widgets", number))
    assert (result.outcome, result.conclusion) == ("created", "success")
    assert calls(sim) == [
        "POST apps/create-installation-access-token 201",
        "POST graphql Snapshot 502",
        "POST graphql Snapshot 200",
        "GET repos/get-content 200",
        "POST graphql MapHistory 200",
        "POST checks/create 403",
        "POST checks/create 201",
    ]
    assert len(waits) == 2
    assert waits[1] == 3.0  # GitHub's retry-after, honoured
