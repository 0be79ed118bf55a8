"""Three `coi-bot serve` processes on one Redis against the simulator.

A round-robin door stands where GitHub's webhook URL points and hands each delivery to the next
replica, so one PR's burst is routed by all three. Each replica reads GitHub's GraphQL through its
own gate, which a test can close to hold that replica in the middle of an evaluation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from githubsim.simulator import GitHubSimulator
from githubsim.validation import OpenApiRequestValidator, graphql_validator

from bot.replicas.lease import DEFAULT_TTL_MS
from bot.replicas.stream import DEFAULT_CLAIM_IDLE_MS
from bot.stage import APP_ID, BotProcess, Door, generate_app_key
from tests.e2e.conftest import MAP, REPO, seed_simulator
from tests.replicas.conftest import RedisServer, started_redis

SECRET = "replicas-secret"
CONVERGE_SECONDS = 30.0
QUIET = {"COI_RECONCILE_MINUTES": "60", "COI_REDELIVER_MINUTES": "60"}


class GraphQLGate:
    """One replica's way to GitHub's GraphQL: forwards, or holds requests while closed."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.open = asyncio.Event()
        self.open.set()
        self.holding = asyncio.Event()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/graphql", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._session = aiohttp.ClientSession()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}/graphql"

    async def close(self) -> None:
        self.open.set()
        await self._session.close()
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not self.open.is_set():
            self.holding.set()
            await self.open.wait()
        headers = {"Authorization": request.headers.get("Authorization", "")}
        headers["Content-Type"] = "application/json"
        async with self._session.post(self.upstream, data=body, headers=headers) as response:
            return web.Response(
                body=await response.read(),
                status=response.status,
                content_type="application/json",
            )


class Replicas:
    def __init__(self, sim: GitHubSimulator, redis: RedisServer, private_pem: str) -> None:
        self.sim = sim
        self.redis = redis
        self.private_pem = private_pem
        self.bots: list[BotProcess] = []
        self.gates: list[GraphQLGate] = []
        self.door = Door()

    async def start(self, bundled: Path, count: int = 3) -> None:
        door_url = await self.door.start()
        for _ in range(count):
            gate = GraphQLGate(self.sim.graphql_url)
            env = {**QUIET, "REDIS_URL": self.redis.url, "GITHUB_GRAPHQL_URL": await gate.start()}
            bot = BotProcess(
                self.sim,
                private_key_pem=self.private_pem,
                webhook_secret=SECRET,
                bundled_map=bundled,
                env=env,
            )
            self.gates.append(gate)
            self.bots.append(bot)
        # three interpreters starting at once on a loaded machine take a while
        await asyncio.gather(*(bot.start(healthy_within=120) for bot in self.bots))
        self.door.targets = [f"{bot.url}/webhook" for bot in self.bots]
        self.sim.webhook_url = door_url

    async def close(self) -> None:
        await asyncio.gather(*(bot.stop() for bot in self.bots))
        for gate in self.gates:
            await gate.close()
        await self.door.close()


@pytest.fixture
async def replicas(
    reference_dir: Path, rest_validator: OpenApiRequestValidator, tmp_path: Path
) -> AsyncIterator[Replicas]:
    redis = started_redis(tmp_path)
    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(
        app_id=APP_ID,
        app_public_key_pem=public_pem,
        webhook_secret=SECRET,
        request_validator=rest_validator,
        graphql_validator=graphql_validator(reference_dir / "graphql" / "schema.graphql"),
    )
    await sim.start()
    seed_simulator(sim)
    bundled = tmp_path / "bundled.yml"
    bundled.write_text(MAP)
    running = Replicas(sim, redis, private_pem)
    try:
        await running.start(bundled)
        yield running
        assert sim.violations == [], "the bot made requests GitHub would refuse"
    finally:
        await running.close()
        await sim.close()
        redis.stop()


def conclusion(sim: GitHubSimulator, number: int) -> str | None:
    runs = sim.check_runs(REPO, sim.head_sha(REPO, number))
    return runs[-1]["conclusion"] if runs else None


async def until(condition: Callable[[], bool], seconds: float = CONVERGE_SECONDS) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "did not converge"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def quiet(sim: GitHubSimulator, seconds: float = 1.5) -> None:
    """Wait until the replicas make no call to GitHub for `seconds`."""
    calls = -1
    while calls != len(sim.calls):
        calls = len(sim.calls)
        await asyncio.sleep(seconds)


def assert_one_run_and_requests(sim: GitHubSimulator, number: int, requests: int) -> None:
    runs = sim.check_runs(REPO, sim.head_sha(REPO, number))
    assert len(runs) == 1, f"#{number}: one run on the head, not {len(runs)}"
    asked = [
        call
        for call in sim.calls
        if call.operation_id == "pulls/request-reviewers"
        and call.status < 300
        and call.path.endswith(f"/{number}/requested_reviewers")
    ]
    assert len(asked) == requests, f"#{number}: asked {len(asked)} times"
    assert len(sim.review_requests(REPO, number)) == requests


async def test_one_prs_burst_split_across_three_replicas_ends_in_one_right_verdict(
    replicas: Replicas,
) -> None:
    sim = replicas.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="core", files={"core/a.py": "x\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")
    for wave in range(6):
        await asyncio.gather(
            sim.set_labels(REPO, number, [f"wave-{wave}"], sender="alice"),
            sim.post_comment(REPO, number, author="anna", body=f"note {wave}"),
        )
    await until(lambda: conclusion(sim, number) == "action_required")
    await quiet(sim)
    assert_one_run_and_requests(sim, number, 1)
    assert set(replicas.door.statuses) <= {200, 202}, replicas.door.statuses
    assert sum(replicas.door.statuses.values()) >= 12


async def test_a_replica_killed_mid_evaluation_is_finished_by_another_within_the_lease(
    replicas: Replicas,
) -> None:
    sim = replicas.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="core", files={"core/a.py": "x\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")
    await until(lambda: conclusion(sim, number) == "action_required")
    await quiet(sim, 0.5)
    for gate in replicas.gates:
        gate.open.clear()
    # Whichever replica reads the delivery from the stream evaluates it, and holds the lease.
    await sim.submit_review(REPO, number, reviewer="gus")  # a Globex approval: success
    await until(lambda: any(gate.holding.is_set() for gate in replicas.gates))
    (victim,) = [i for i, gate in enumerate(replicas.gates) if gate.holding.is_set()]
    for index, gate in enumerate(replicas.gates):
        if index != victim:
            gate.open.set()
    redis = aioredis.Redis.from_url(replicas.redis.url)
    try:
        # Events until another replica has asked for the lease (and marked the PR dirty).
        for wave in range(20):
            await sim.set_labels(REPO, number, [f"wave-{wave}"], sender="alice")
            await asyncio.sleep(0.3)
            if await redis.keys("coi:dirty:pr:*"):
                break
        else:
            pytest.fail("no other replica routed an event for the PR")
    finally:
        await redis.aclose()
    await replicas.bots[victim].kill()
    replicas.door.targets.pop(victim)
    took = await until(lambda: conclusion(sim, number) == "success")
    assert took < DEFAULT_TTL_MS / 1000 + 5, f"finished {took:.1f} s after the kill"
    await quiet(sim, 0.5)
    assert_one_run_and_requests(sim, number, 1)


async def test_redis_stopped_mid_run_loses_nothing_and_the_replicas_go_on(
    replicas: Replicas,
) -> None:
    sim = replicas.sim
    expected: dict[int, str] = {}
    for index in range(6):
        if index % 2 == 0:
            number = await sim.open_pull_request(
                REPO, author="alice", title=f"core {index}", files={f"core/{index}.py": "x\n"}
            )
            await sim.submit_review(REPO, number, reviewer="anna")
            expected[number] = "action_required"
        else:
            number = await sim.open_pull_request(
                REPO, author="gus", title=f"docs {index}", files={f"docs/{index}.md": "x\n"}
            )
            expected[number] = "success"
        if index == 2:
            replicas.redis.stop()
    await until(lambda: {n: conclusion(sim, n) for n in expected} == expected)
    replicas.redis.start()
    # Redis is back: a new verdict on every Acme PR, spread over the replicas again
    for number, wanted in list(expected.items()):
        if wanted == "action_required":
            await sim.submit_review(REPO, number, reviewer="gus")
            expected[number] = "success"
    await until(lambda: {n: conclusion(sim, n) for n in expected} == expected)
    await quiet(sim)
    assert set(replicas.door.statuses) <= {200, 202}, replicas.door.statuses
    for number in expected:
        runs = sim.check_runs(REPO, sim.head_sha(REPO, number))
        assert len({(run["conclusion"], run["output"]["summary"]) for run in runs}) == 1


async def test_a_replica_killed_mid_evaluation_with_no_other_event_is_finished_by_another(
    replicas: Replicas,
) -> None:
    """The delivery stays unacknowledged in the stream until its evaluation has written: a live
    replica claims it, within the lease's ttl plus the claim interval (README)."""
    sim = replicas.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="core", files={"core/a.py": "x\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")
    await until(lambda: conclusion(sim, number) == "action_required")
    await quiet(sim, 0.5)
    for gate in replicas.gates:
        gate.open.clear()
    await sim.submit_review(REPO, number, reviewer="gus")  # the last event this PR gets
    await until(lambda: any(gate.holding.is_set() for gate in replicas.gates))
    (victim,) = [i for i, gate in enumerate(replicas.gates) if gate.holding.is_set()]
    for index, gate in enumerate(replicas.gates):
        if index != victim:
            gate.open.set()
    await replicas.bots[victim].kill()
    replicas.door.targets.pop(victim)
    took = await until(lambda: conclusion(sim, number) == "success")
    assert took < (DEFAULT_TTL_MS + DEFAULT_CLAIM_IDLE_MS) / 1000 + 5, (
        f"finished {took:.1f} s after"
    )
    await quiet(sim, 0.5)
    assert_one_run_and_requests(sim, number, 1)
