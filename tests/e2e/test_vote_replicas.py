"""TSC votes on two `coi-bot serve` replicas sharing Redis, closing at their deadline with no
event: once, whichever replica's timer or the shared close gets there first; and after both
replicas were replaced while the votes were open (nothing is lost: the votes are the comments
and check runs on GitHub, and their closes are kept in Redis)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from githubsim.simulator import GitHubSimulator
from githubsim.validation import OpenApiRequestValidator, graphql_validator

from bot.stage import APP_ID, BotProcess, Door, generate_app_key
from tests.e2e.conftest import REPO, Clock, seed_simulator
from tests.e2e.test_replicas import quiet, until
from tests.e2e.test_votes import LABEL, SHORT_MAP
from tests.replicas.conftest import RedisServer, started_redis

SECRET = "vote-replicas-secret"
# No reconciler and no redelivery: a vote closes by a timer or by the close kept in Redis.
NO_REPAIRS = {"COI_RECONCILE_MINUTES": "0", "COI_REDELIVER_MINUTES": "0"}
VOTE_CHECK = "TSC vote"
# After its close, a vote is seen closed within this: a poll of the shared closes (1 s), an
# evaluation, and the test's own look, on a loaded machine.
ON_TIME = timedelta(seconds=5)


class Fleet:
    """Replicas behind one door, on one Redis; replaced by new processes on demand."""

    def __init__(self, sim: GitHubSimulator, redis: RedisServer, pem: str, bundled: Path) -> None:
        self.sim, self.redis, self.pem, self.bundled = sim, redis, pem, bundled
        self.door = Door(retry_refused=True)
        self.bots: list[BotProcess] = []

    async def start(self, count: int = 2) -> None:
        self.sim.webhook_url = await self.door.start()
        await self.replace(count)

    async def replace(self, count: int = 2) -> None:
        """Stop every replica (SIGTERM, as a rolling deploy does), then start `count` new ones."""
        await asyncio.gather(*(bot.stop() for bot in self.bots))
        self.bots = [
            BotProcess(
                self.sim,
                private_key_pem=self.pem,
                webhook_secret=SECRET,
                bundled_map=self.bundled,
                env={**NO_REPAIRS, "REDIS_URL": self.redis.url},
            )
            for _ in range(count)
        ]
        await asyncio.gather(
            *(bot.start(healthy_within=120, route_webhooks=False) for bot in self.bots)
        )
        self.door.targets = [f"{bot.url}/webhook" for bot in self.bots]

    async def close(self) -> None:
        await asyncio.gather(*(bot.stop() for bot in self.bots))
        await self.door.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def fleet(
    reference_dir: Path, rest_validator: OpenApiRequestValidator, tmp_path: Path, clock: Clock
) -> AsyncIterator[Fleet]:
    redis = started_redis(tmp_path)
    pem, public_pem = generate_app_key()
    sim = GitHubSimulator(
        app_id=APP_ID,
        app_public_key_pem=public_pem,
        webhook_secret=SECRET,
        request_validator=rest_validator,
        graphql_validator=graphql_validator(reference_dir / "graphql" / "schema.graphql"),
        clock=clock,
    )
    await sim.start()
    seed_simulator(sim)
    bundled = tmp_path / "bundled.yml"
    bundled.write_text(SHORT_MAP)
    running = Fleet(sim, redis, pem, bundled)
    try:
        await running.start()
        yield running
        assert sim.violations == [], "the bot made requests GitHub would refuse"
    finally:
        await running.close()
        await sim.close()
        redis.stop()


def back_date(clock: Clock, seconds: float) -> datetime:
    """GitHub's clock `seconds` behind: a one-minute vote labelled now closes that much sooner.
    Returns when it closes."""
    clock.moment = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds)
    return clock.moment + timedelta(minutes=1)


def bot_bodies(sim: GitHubSimulator, number: int) -> list[str]:
    return [str(c["body"]) for c in sim.comments(REPO, number) if c["user"]["type"] == "Bot"]


def finals(sim: GitHubSimulator, number: int) -> int:
    return sum("coi-bot:vote-final" in body for body in bot_bodies(sim, number))


def vote_run(sim: GitHubSimulator, number: int) -> dict[str, Any]:
    """The vote's run on the PR's head; empty before the first evaluation wrote it."""
    runs = [r for r in sim.check_runs(REPO, sim.head_sha(REPO, number)) if r["name"] == VOTE_CHECK]
    assert len(runs) <= 1, "one vote check run per head, updated in place"
    return runs[0] if runs else {"status": None, "conclusion": None, "output": {"title": ""}}


def shows(sim: GitHubSimulator, number: int, title: str) -> bool:
    return str(vote_run(sim, number)["output"]["title"]).startswith(title)


def live(sim: GitHubSimulator, number: int) -> str:
    (body,) = [b for b in bot_bodies(sim, number) if b.startswith("<!-- coi-bot:vote-live -->")]
    return body


def people_events(sim: GitHubSimulator) -> int:
    """Deliveries of what people did (not the App's own comments and check suites)."""
    return sum(json.loads(d.body)["sender"]["type"] != "Bot" for d in sim.deliveries)


def run_writes(sim: GitHubSimulator, run: dict[str, Any]) -> int:
    """Writes of this run, and of any new run (a run is created once per head)."""
    return sum(
        call.operation_id == "checks/create"
        or (call.operation_id == "checks/update" and call.path.endswith(f"/{run['id']}"))
        for call in sim.calls
    )


async def pr_vote(sim: GitHubSimulator, clock: Clock, seconds: float) -> tuple[int, datetime]:
    number = await sim.open_pull_request(
        REPO, author="ivan", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    closes = back_date(clock, seconds)
    await sim.set_labels(REPO, number, [LABEL], sender="gus")
    for who in ("alice", "gina"):  # each delivery to the next replica: both arm a timer
        await sim.post_comment(REPO, number, author=who, body="/coi vote yes")
    return number, closes


async def test_votes_close_once_at_their_deadline_on_replicas_and_after_their_replacement(
    fleet: Fleet, clock: Clock
) -> None:
    sim = fleet.sim
    # Two replicas: the vote closes once, by whichever gets there first.
    number, closes = await pr_vote(sim, clock, seconds=50)
    await until(lambda: shows(sim, number, "Vote open: yes 4"))
    assert datetime.now(UTC) < closes, "the machine was too slow to see the vote open"
    writes = run_writes(sim, vote_run(sim, number))
    await until(lambda: vote_run(sim, number)["status"] == "completed")
    assert closes <= datetime.now(UTC) < closes + ON_TIME, "closed at its deadline"
    await asyncio.sleep(1.5)  # the other replica's timer and the shared close come after
    run = vote_run(sim, number)
    assert (run["conclusion"], run["output"]["title"]) == (
        "success",
        "Vote passed: yes 4, no 0, abstain 0",
    )
    assert finals(sim, number) == 1
    assert run_writes(sim, run) == writes + 1, "one completed check, written once"

    # A PR's vote and an issue's vote open; both replicas are replaced before they close.
    issue = await sim.open_issue(REPO, author="ivan", title="Adopt a release cadence")
    number, closes = await pr_vote(sim, clock, seconds=48)
    await sim.set_issue_labels(REPO, issue, [LABEL], sender="gus")
    await until(lambda: "### Vote open: yes 0" in "".join(bot_bodies(sim, issue)))
    await until(lambda: shows(sim, number, "Vote open: yes 4"))
    assert datetime.now(UTC) < closes, "the machine was too slow to see the votes open"
    await quiet(sim, 0.5)  # every delivery evaluated: the new replicas get no event
    events = people_events(sim)
    await fleet.replace()
    up = datetime.now(UTC)  # the new replicas may come up after the deadline on a slow machine
    await until(lambda: vote_run(sim, number)["status"] == "completed")
    await until(lambda: "### Vote failed" in live(sim, issue))
    assert closes <= datetime.now(UTC) < max(closes, up) + ON_TIME, "closed at the deadline"
    await asyncio.sleep(1.5)
    assert finals(sim, number) == 1
    assert finals(sim, issue) == 1
    assert people_events(sim) == events, "closed by the close kept in Redis, not by an event"
    assert vote_run(sim, number)["conclusion"] == "success"
