"""The real bot against the simulator over loopback HTTP, every request validated against GitHub's
own descriptions (openapi-subset.json and the full GraphQL schema from githubsim.reference)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from githubsim.simulator import GitHubSimulator
from githubsim.validation import OpenApiRequestValidator, graphql_validator

from bot.stage import Stage

OWNER, NAME = "acme", "widgets"
REPO = f"{OWNER}/{NAME}"

# A small map: Acme and Globex people, VMware under Broadcom, an independent member.
MAP = """\
version: 1
companies:
  acme: {name: Acme}
  globex: {name: Globex}
  initech: {name: Initech}
people:
  alice: {role: maintainer, emails: [alice@acme.example], affiliations: [{company: acme}]}
  anna: {role: maintainer, affiliations: [{company: acme}]}
  gus: {role: maintainer, affiliations: [{company: globex}]}
  gina: {role: maintainer, affiliations: [{company: globex}]}
  ivan: {role: maintainer, affiliations: [{company: initech}]}
  carl: {role: contributor, affiliations: [{company: acme}]}
policy:
  major: {paths: ["core/**"]}
  protected_files: [.github/affiliations.yml]
  protected_companies: 2
"""


@pytest.fixture(scope="session")
def rest_validator(reference_dir: Path) -> OpenApiRequestValidator:
    spec = json.loads((reference_dir / "openapi-subset.json").read_text())
    return OpenApiRequestValidator(spec)


@pytest.fixture
def stage_factory(
    reference_dir: Path, rest_validator: OpenApiRequestValidator, tmp_path: Path
) -> Callable[..., Stage]:
    def build(**options: Any) -> Stage:
        bundled = tmp_path / "bundled.yml"
        bundled.write_text(options.pop("map_text", MAP))
        return Stage(
            bundled_map=bundled,
            request_validator=rest_validator,
            graphql_validator=graphql_validator(reference_dir / "graphql" / "schema.graphql"),
            **options,
        )

    return build


def seed(stage: Stage, *, repo_files: dict[str, str] | None = None) -> None:
    seed_simulator(stage.sim, repo_files=repo_files)


def seed_simulator(sim: GitHubSimulator, *, repo_files: dict[str, str] | None = None) -> None:
    """The App on acme, six people, acme/widgets with write access for the maintainers."""
    sim.add_installation(OWNER)
    for login in ("alice", "anna", "gus", "gina", "ivan", "carl"):
        sim.add_user(login, email=f"{login}@{OWNER}.example")
    sim.add_repo(OWNER, NAME, files=repo_files or {"README.md": "widgets\n"})
    for login in ("alice", "anna", "gus", "gina", "ivan"):
        sim.set_permission(REPO, login, "write")


@pytest.fixture
async def stage(stage_factory: Callable[..., Stage]) -> AsyncIterator[Stage]:
    async with stage_factory() as running:
        seed(running)
        yield running
        assert running.sim.violations == [], "the bot made requests GitHub would refuse"


def count(stage: Stage, *, query: str | None = None, operation: str | None = None) -> int:
    return sum(
        1
        for call in stage.sim.calls
        if (query is not None and call.query_name == query)
        or (operation is not None and call.operation_id == operation)
    )


def check_writes(stage: Stage) -> int:
    return count(stage, operation="checks/create") + count(stage, operation="checks/update")


def latest_check(stage: Stage, number: int) -> dict[str, Any]:
    runs = stage.sim.check_runs(REPO, stage.sim.head_sha(REPO, number))
    assert len(runs) == 1, "one check run per head commit, updated in place"
    run: dict[str, Any] = runs[0]
    return run


class Clock:
    """The simulator's clock, held still; a test moves it by setting `moment`."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))
