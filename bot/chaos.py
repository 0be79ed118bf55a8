"""Replicas under fire: three `coi-bot serve` processes on one Redis behind a round-robin door,
a stream of webhook deliveries over many PRs, `kill -9` of a random replica every few seconds
(started again at once), and Redis restarted once. tests/e2e/test_chaos.py runs it small,
bench/bench_chaos.py full, printing the figures.

Every PR is opened by alice (Acme) on `core/`, which needs approvals from two companies; anna
(Acme) approves it, then labels and comments follow; every other PR is finally approved by gus
(Globex). Its final check must therefore be `success` (approved by gus) or `action_required`,
and reviewers be asked at most once. The reconciler and the redeliverer are off: only the
replicas' own durability can bring a delivery to its evaluation.

Redis keeps its data across the restart (append-only file, fsync always): a Redis without
persistence loses the stream with its memory. While Redis is down the replicas keep deliveries
in memory, so no replica is killed during that window.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import redis.asyncio as aioredis
import redis.exceptions
from aiohttp import web

from bot.stage import BotProcess, Door

if TYPE_CHECKING:
    from githubsim import GitHubSimulator

OWNER = "acme"
NAME = "widgets"
REPO = f"{OWNER}/{NAME}"
SECRET = "chaos-secret"
# The final approvals' evaluations read GitHub for about a second (SlowGraphQL): a kill then
# catches some of them in flight.
FINAL_KILL_AFTER_SECONDS = 0.4
# Who approves each PR last, by its index modulo 4; None: nobody from another company.
_FINAL_APPROVER = ("gus", "ivan", "gus", None)
# The background repairs are off: a lost delivery would otherwise be repaired behind our back.
ENVIRONMENT = {"COI_RECONCILE_MINUTES": "0", "COI_REDELIVER_MINUTES": "0"}
MAP = """\
version: 1
companies:
  acme: {name: Acme}
  globex: {name: Globex}
  initech: {name: Initech}
people:
  alice: {role: maintainer, affiliations: [{company: acme}]}
  anna: {role: maintainer, affiliations: [{company: acme}]}
  gus: {role: maintainer, affiliations: [{company: globex}]}
  gina: {role: maintainer, affiliations: [{company: globex}]}
  ivan: {role: maintainer, affiliations: [{company: initech}]}
policy:
  major: {paths: ["core/**"]}
  protected_companies: 2
"""


def seed(sim: GitHubSimulator) -> None:
    """The App on acme, five maintainers with write access to acme/widgets."""
    sim.add_installation(OWNER)
    for login in ("alice", "anna", "gus", "gina", "ivan"):
        sim.add_user(login, email=f"{login}@{OWNER}.example")
    sim.add_repo(OWNER, NAME, files={"README.md": "widgets\n"})
    for login in ("alice", "anna", "gus", "gina", "ivan"):
        sim.set_permission(REPO, login, "write")


class SlowGraphQL:
    """GitHub's GraphQL, answering `seconds` late: evaluations last long enough for a kill to
    catch some of them in flight."""

    def __init__(self, upstream: str, seconds: float) -> None:
        self.upstream = upstream
        self.seconds = seconds

    async def start(self) -> str:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/graphql", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._session = aiohttp.ClientSession()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}/graphql"

    async def close(self) -> None:
        await self._session.close()
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        await asyncio.sleep(self.seconds)
        headers = {
            "Authorization": request.headers.get("Authorization", ""),
            "Content-Type": "application/json",
        }
        async with self._session.post(self.upstream, data=body, headers=headers) as response:
            return web.Response(
                body=await response.read(), status=response.status, content_type="application/json"
            )


@dataclass(slots=True)
class ChaosReport:
    prs: int = 0
    deliveries: int = 0  # sent by GitHub
    statuses: dict[int, int] = field(default_factory=dict)  # the door's answers to GitHub
    kills: int = 0
    redis_restarts: int = 0
    wrong_checks: dict[int, str | None] = field(default_factory=dict)  # PR -> conclusion
    duplicate_requests: dict[int, int] = field(default_factory=dict)  # PR -> requests sent
    # Answered 202 with no claim in Redis: kept in a replica's memory because Redis did not
    # answer in time (outside the restart); routed unless that replica was killed before.
    unclaimed: list[str] = field(default_factory=list)
    stream_left: int = -1  # stream entries at the end (unfinished work)
    converged_seconds: float = 0.0
    sending_seconds: float = 0.0
    memory_before: int = 0  # Redis used_memory, bytes
    memory_peak_backlog: int = 0  # most entries seen in the stream at once
    memory_after: int = 0
    delivery_keys: int = 0
    bytes_per_delivery_key: float = 0.0
    other_keys: dict[str, int] = field(default_factory=dict)  # kind -> count

    @property
    def passed(self) -> bool:
        leases_left = self.other_keys.get("lease:pr", 0)
        return not (self.wrong_checks or self.duplicate_requests or self.stream_left or leases_left)

    @property
    def refused(self) -> int:
        """Answered 5xx or not at all: GitHub records a failure (and the redeliverer, off
        here, would ask again)."""
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)


class Chaos:
    """Build with the simulator (seeded with `seed`), Redis's URL and a way to restart it."""

    def __init__(
        self,
        sim: GitHubSimulator,
        *,
        redis_url: str,
        restart_redis: Callable[[], Awaitable[None]],
        private_key_pem: str,
        bundled_map: Path,
        replicas: int = 3,
        environment: dict[str, str] | None = None,
        graphql_delay_seconds: float = 0.2,
    ) -> None:
        self.sim = sim
        self.redis_url = redis_url
        self._restart_redis = restart_redis
        self._pem = private_key_pem
        self._bundled = bundled_map
        self._count = replicas
        self._environment = {**ENVIRONMENT, "REDIS_URL": redis_url, **(environment or {})}
        self._graphql = SlowGraphQL(sim.graphql_url, graphql_delay_seconds)
        self.door = Door(retry_refused=True)
        self.bots: list[BotProcess] = []
        self._door_url = ""
        # Held by a kill and its restart, and by the Redis restart: never both at once.
        self._quiet = asyncio.Lock()
        self._redis_down: tuple[int, int] | None = None  # deliveries sent meanwhile (indices)

    async def start(self) -> None:
        self._environment["GITHUB_GRAPHQL_URL"] = await self._graphql.start()
        self._door_url = await self.door.start()
        self.bots = [self._bot() for _ in range(self._count)]
        await asyncio.gather(*(self._start(bot) for bot in self.bots))
        self.door.targets = [f"{bot.url}/webhook" for bot in self.bots]
        self.sim.webhook_url = self._door_url

    def _bot(self) -> BotProcess:
        return BotProcess(
            self.sim,
            private_key_pem=self._pem,
            webhook_secret=SECRET,
            bundled_map=self._bundled,
            env=self._environment,
        )

    async def _start(self, bot: BotProcess) -> None:
        await bot.start(healthy_within=120, route_webhooks=False)

    async def close(self) -> None:
        await asyncio.gather(*(bot.stop() for bot in self.bots))
        await self.door.close()
        await self._graphql.close()

    async def run(
        self,
        *,
        prs: int,
        events_per_pr: int,
        kill_every_seconds: float,
        concurrency: int = 8,
        pause_seconds: float = 0.5,
        seed_value: int = 24,
        converge_seconds: float = 120.0,
    ) -> ChaosReport:
        """Send the deliveries while killing replicas; wait until the work converged."""
        report = ChaosReport(prs=prs)
        rng = random.Random(seed_value)
        client = aioredis.Redis.from_url(self.redis_url)
        try:
            report.memory_before = await _used_memory(client)
            numbers = [await self._open(index) for index in range(prs)]
            finals = {number: _FINAL_APPROVER[index % 4] for index, number in enumerate(numbers)}
            expected = {
                number: "action_required" if approver is None else "success"
                for number, approver in finals.items()
            }
            sending = asyncio.Event()
            killer = asyncio.create_task(self._kill_now_and_then(rng, kill_every_seconds, report))
            watcher = asyncio.create_task(self._watch_backlog(client, report, sending))
            started = time.monotonic()
            gate = asyncio.Semaphore(concurrency)
            half = asyncio.Event()
            senders = [
                self._send(
                    number,
                    finals[number],
                    events_per_pr,
                    gate,
                    random.Random(number),
                    pause_seconds,
                )
                for number in numbers
            ]
            restarter = asyncio.create_task(self._restart_redis_once(half, report))
            for done, finished in enumerate(asyncio.as_completed(senders), start=1):
                await finished
                if done == len(senders) // 2:
                    half.set()
            half.set()
            await restarter
            killer.cancel()
            await asyncio.gather(killer, return_exceptions=True)
            await self._final_wave(finals, gate, rng, report)
            report.sending_seconds = time.monotonic() - started
            report.converged_seconds = await self._converge(client, expected, converge_seconds)
            sending.set()
            await watcher
            await self._judge(client, expected, report)
        finally:
            await client.aclose()
        return report

    async def _open(self, index: int) -> int:
        number = await self.sim.open_pull_request(
            REPO, author="alice", title=f"core {index}", files={f"core/m{index}.py": "x\n"}
        )
        return number

    async def _send(
        self,
        number: int,
        final: str | None,
        events: int,
        gate: asyncio.Semaphore,
        rng: random.Random,
        pause_seconds: float,
    ) -> None:
        """One PR's deliveries, in order: anna's approval, then labels and comments."""
        async with gate:
            await self.sim.submit_review(REPO, number, reviewer="anna")
        labels: list[str] = []
        for step in range(max(0, events - 3)):
            async with gate:
                if rng.random() < 0.5:
                    labels.append(f"l{step}")
                    await self.sim.set_labels(REPO, number, labels, sender="alice")
                else:
                    await self.sim.post_comment(REPO, number, author="anna", body=f"note {step}")
            await asyncio.sleep(rng.random() * pause_seconds)

    async def _final_wave(
        self,
        finals: dict[int, str | None],
        gate: asyncio.Semaphore,
        rng: random.Random,
        report: ChaosReport,
    ) -> None:
        """The approvals that decide the final checks, all at once, and a kill while their
        evaluations run: a delivery acknowledged too early would leave its PR's check wrong."""

        async def approve(number: int, approver: str) -> None:
            async with gate:
                await self.sim.submit_review(REPO, number, reviewer=approver)

        wave = [
            asyncio.create_task(approve(number, approver))
            for number, approver in finals.items()
            if approver is not None
        ]
        await asyncio.sleep(FINAL_KILL_AFTER_SECONDS)
        async with self._quiet:
            live = [bot for bot in self.bots if bot.url in self._targets()]
            victim = rng.choice(live)
            self.door.targets.remove(f"{victim.url}/webhook")
            await victim.kill()
            report.kills += 1
        await asyncio.gather(*wave)
        index = self.bots.index(victim)
        self.bots[index] = bot = self._bot()
        await self._rejoin(bot)

    async def _kill_now_and_then(
        self, rng: random.Random, seconds: float, report: ChaosReport
    ) -> None:
        """Kill a random live replica every `seconds` or so (never the last one); each is
        started again in the background and joins the door once healthy."""
        starting: set[asyncio.Task[None]] = set()
        try:
            while True:
                await asyncio.sleep(seconds * (0.5 + rng.random()))
                async with self._quiet:
                    live = [i for i, bot in enumerate(self.bots) if bot.url in self._targets()]
                    if len(live) < 2:
                        continue
                    index = rng.choice(live)
                    self.door.targets.remove(f"{self.bots[index].url}/webhook")
                    await self.bots[index].kill()
                    report.kills += 1
                    self.bots[index] = bot = self._bot()
                    task = asyncio.create_task(self._rejoin(bot))
                    starting.add(task)
                    task.add_done_callback(starting.discard)
        finally:
            await asyncio.gather(*starting, return_exceptions=True)

    def _targets(self) -> set[str]:
        return {target.removesuffix("/webhook") for target in self.door.targets}

    async def _rejoin(self, bot: BotProcess) -> None:
        await self._start(bot)
        self.door.targets.append(f"{bot.url}/webhook")

    async def _restart_redis_once(self, half: asyncio.Event, report: ChaosReport) -> None:
        """Halfway through; no kill meanwhile (deliveries wait in memory while Redis is down)."""
        await half.wait()
        async with self._quiet:
            first = len(self.sim.deliveries)
            await self._restart_redis()
            report.redis_restarts += 1
            await asyncio.sleep(1.0)  # the replicas reconnect; what they kept in memory is routed
            self._redis_down = (first, len(self.sim.deliveries))

    async def _watch_backlog(
        self, client: aioredis.Redis, report: ChaosReport, done: asyncio.Event
    ) -> None:
        while not done.is_set():
            backlog = await _backlog(client)  # -1 while Redis restarts: the next look counts
            report.memory_peak_backlog = max(report.memory_peak_backlog, backlog)
            await asyncio.sleep(0.2)

    async def _converge(
        self, client: aioredis.Redis, expected: dict[int, str], seconds: float
    ) -> float:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            await self.sim.settle()
            if (
                self._conclusions(expected) == expected
                and not await _backlog(client)
                and not await _leases(client)
            ):
                return time.monotonic() - started
            await asyncio.sleep(0.2)
        return time.monotonic() - started

    def _conclusions(self, expected: dict[int, str]) -> dict[int, str | None]:
        found: dict[int, str | None] = {}
        for number in expected:
            runs = self.sim.check_runs(REPO, self.sim.head_sha(REPO, number))
            found[number] = runs[-1]["conclusion"] if runs else None
        return found

    async def _judge(
        self, client: aioredis.Redis, expected: dict[int, str], report: ChaosReport
    ) -> None:
        found = self._conclusions(expected)
        report.wrong_checks = {n: c for n, c in found.items() if c != expected[n]}
        for number in expected:
            asked = [
                call
                for call in self.sim.calls
                if call.operation_id == "pulls/request-reviewers"
                and call.status < 300
                and call.path.endswith(f"/{number}/requested_reviewers")
            ]
            if len(asked) > 1:
                report.duplicate_requests[number] = len(asked)
        deliveries = self.sim.deliveries
        report.deliveries = len(deliveries)
        for delivery in deliveries:
            report.statuses[delivery.status_code] = report.statuses.get(delivery.status_code, 0) + 1
        report.stream_left = await _backlog(client)
        # Accepted while Redis was down: kept in memory, no key in Redis (and no kill meanwhile).
        first, last = self._redis_down or (0, 0)
        accepted = [
            d.guid
            for index, d in enumerate(deliveries)
            if d.status_code == 202 and not first <= index < last
        ]
        for guid in accepted:
            if not await client.exists(f"coi:delivery:{guid}"):
                report.unclaimed.append(guid)
        report.memory_after = await _used_memory(client)
        counts: dict[str, int] = {}
        sizes: list[int] = []
        async for raw in client.scan_iter(match="coi:*", count=1000):
            key = raw.decode()
            kind = (
                ":".join(key.split(":")[1:3]) if key.startswith("coi:lease:") else key.split(":")[1]
            )
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "delivery" and len(sizes) < 200:
                sizes.append(int(await client.memory_usage(key) or 0))
        report.delivery_keys = counts.pop("delivery", 0)
        report.bytes_per_delivery_key = sum(sizes) / len(sizes) if sizes else 0.0
        report.other_keys = counts


async def _backlog(client: aioredis.Redis) -> int:
    try:
        return int(await client.xlen("coi:work"))
    except (redis.exceptions.ConnectionError, redis.exceptions.ResponseError):  # restarting
        return -1


async def _leases(client: aioredis.Redis) -> int:
    """PR leases still held (a killed replica's expire within their ttl)."""
    try:
        return len([key async for key in client.scan_iter(match="coi:lease:pr:*")])
    except (redis.exceptions.ConnectionError, redis.exceptions.ResponseError):  # restarting
        return -1


async def _used_memory(client: aioredis.Redis) -> int:
    info: dict[str, Any] = await client.info("memory")
    return int(info["used_memory"])
