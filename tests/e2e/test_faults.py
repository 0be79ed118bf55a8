"""GitHub failing one call in five: every PR still converges to the right check, nothing twice.

A proxy between the bot and the simulator answers 20 % of the calls itself with a fault:
a 502, a dropped connection (what a timeout looks like to the client, minus the wait), a
secondary rate limit (403 + `retry-after`) or an exhausted primary limit (403,
`x-ratelimit-remaining: 0`, reset a second away). The rest reach the simulator unchanged.
Evaluations that give up are repaired by reconciler cycles run under the same faults.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

from bot.stage import Stage
from bot.web.app import create_app
from bot.web.state import SCHEDULER_KEY
from tests.e2e.conftest import REPO, latest_check, seed
from tests.e2e.test_reconcile import reconciler

FAULT_RATE = 0.2
HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


class FaultProxy:
    def __init__(self, *, rate: float, seed: int) -> None:
        self.rate = rate
        self.target = ""
        self.faults: Counter[str] = Counter()
        self.forwarded = 0
        self._random = random.Random(seed)

    async def start(self) -> None:
        app = web.Application(client_max_size=30 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        await self._session.close()
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.rate and self._random.random() < self.rate:
            kind = self._random.choice(["5xx", "drop", "secondary", "primary"])
            self.faults[kind] += 1
            if kind == "5xx":
                return web.json_response({"message": "Server Error"}, status=502)
            if kind == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)
            if kind == "secondary":
                message = "You have exceeded a secondary rate limit."
                return web.json_response(
                    {"message": message}, status=403, headers={"retry-after": "0"}
                )
            reset = str(int(time.time()) + 1)
            headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
            return web.json_response(
                {"message": "API rate limit exceeded"}, status=403, headers=headers
            )
        self.forwarded += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with self._session.request(
            request.method,
            self.target + request.rel_url.path_qs,
            headers=headers,
            data=await request.read(),
        ) as upstream:
            body = await upstream.read()
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
            return web.Response(status=upstream.status, body=body, headers=out)


@pytest.fixture
async def faulty(stage_factory: Callable[..., Stage]) -> AsyncIterator[tuple[Stage, FaultProxy]]:
    proxy = FaultProxy(rate=0.0, seed=7)
    await proxy.start()
    options = {"api_url": proxy.url, "graphql_url": proxy.url + "/graphql"}
    try:
        async with stage_factory(settings_options=options) as stage:
            proxy.target = stage.sim.url
            seed(stage)
            yield stage, proxy
            assert stage.sim.violations == []
    finally:
        await proxy.close()


async def test_every_pr_converges_under_20_percent_faults_without_duplicates(
    faulty: tuple[Stage, FaultProxy],
) -> None:
    stage, proxy = faulty
    proxy.rate = FAULT_RATE
    major, minor = [], []
    for index in range(6):
        number = await stage.sim.open_pull_request(
            REPO, author="alice", title=f"core {index}", files={f"core/{index}.py": "x\n"}
        )
        await stage.sim.submit_review(REPO, number, reviewer="anna")
        major.append(number)
        minor.append(
            await stage.sim.open_pull_request(
                REPO, author="gus", title=f"docs {index}", files={f"docs/{index}.md": "x\n"}
            )
        )
    await stage.settle()
    for _ in range(12):
        done = all(
            stage.sim.check_runs(REPO, stage.sim.head_sha(REPO, n)) for n in major + minor
        ) and all(len(stage.sim.review_requests(REPO, n)) == 1 for n in major)
        if done:
            break
        await reconciler(stage).reconcile_once()
        await stage.settle()
    assert sum(proxy.faults.values()) > 10, proxy.faults
    assert set(proxy.faults) == {"5xx", "drop", "secondary", "primary"}
    for number in major:
        assert latest_check(stage, number)["conclusion"] == "action_required"
        assert len(stage.sim.review_requests(REPO, number)) == 1  # never a second request
    for number in minor:
        assert latest_check(stage, number)["conclusion"] == "success"
        assert stage.sim.review_requests(REPO, number) == []
    proxy.rate = 0.0
    # A change in the same second as its evaluation's read is checked once more (GitHub keeps
    # whole seconds: bot/jobs/reconciler.py); nothing is written, nobody asked twice.
    cycle = reconciler(stage)
    assert set((await cycle.reconcile_once()).queued) <= {"changed"}
    await stage.settle()
    assert all(len(stage.sim.review_requests(REPO, n)) == 1 for n in major)
    quiet = await cycle.reconcile_once()
    assert quiet.queued == {}


async def test_a_hostile_map_in_force_fails_the_check_clearly(
    stage_factory: Callable[..., Stage],
) -> None:
    laughs = ["version: 1", "l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    laughs += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    async with stage_factory() as stage:
        seed(stage, repo_files={".github/affiliations.yml": "\n".join(laughs) + "\n"})
        number = await stage.sim.open_pull_request(
            REPO, author="alice", title="t", files={"core/x.py": "x\n"}
        )
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "failure"
        assert "aliases expand the map beyond" in run["output"]["text"]
        assert stage.sim.violations == []


async def test_two_bots_on_the_same_deliveries_agree_without_duplicate_side_effects(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as first:
        seed(first)
        assert first.settings is not None
        # A second bot: the same settings, its own scheduler, ledger and caches.
        second = create_app(first.settings)
        runner = web.AppRunner(second, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        second_url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
        try:
            numbers = []
            for index in range(4):
                number = await first.sim.open_pull_request(
                    REPO, author="alice", title=f"c{index}", files={f"core/{index}.py": "x\n"}
                )
                await first.sim.submit_review(REPO, number, reviewer="anna")
                numbers.append(number)
            await first.settle()
            # GitHub sent each delivery to one bot; now every one reaches the other too (after
            # the first bot finished: two bots evaluating one PR at the same instant can both
            # create a run, as GitHub has no idempotency key for check runs).
            primary_url = first.sim.webhook_url
            first.sim.webhook_url = second_url
            for delivery in list(first.sim.deliveries):
                await first.sim.redeliver(delivery)
            first.sim.webhook_url = primary_url
            await first.settle()
            await second[SCHEDULER_KEY].drain()
            await first.settle()
            for number in numbers:
                assert latest_check(first, number)["conclusion"] == "action_required"
                assert len(first.sim.review_requests(REPO, number)) == 1
        finally:
            await runner.cleanup()
