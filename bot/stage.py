"""The real bot and the GitHub simulator (`githubsim`), wired together over loopback HTTP.

`coi-bot demo`, the end-to-end tests and the benchmarks all stand on this: the bot is the
production `create_app(settings)`, nothing stubbed; the simulator plays GitHub, sends it signed
webhooks and answers its REST and GraphQL calls. The simulator comes with the development
environment only, so it is imported where a stage is built, never when this module loads.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.settings import Secret, Settings
from bot.web.app import create_app
from bot.web.state import INBOX_KEY, SCHEDULER_KEY

if TYPE_CHECKING:
    from githubsim import GitHubSimulator

APP_ID = 424242
BUNDLED_MAP = Path(__file__).resolve().parents[1] / "config" / "affiliations.yml"


def generate_app_key() -> tuple[str, str]:
    """A fresh RSA key pair (private PEM, public PEM): App keys are never stored on disk."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


async def open_reviewed_pulls(
    sim: GitHubSimulator, repo_name: str, *, author: str, reviewer: str, count: int
) -> list[int]:
    """`count` PRs by `author`, each changing a file of its own, each approved by `reviewer`."""
    numbers = []
    for index in range(count):
        number = await sim.open_pull_request(
            repo_name,
            author=author,
            title=f"Change {index}",
            files={f"st2common/st2common/mod{index}.py": "x = 1\n" * (index % 40 + 1)},
        )
        await sim.submit_review(repo_name, number, reviewer=reviewer)
        numbers.append(number)
    return numbers


def labeled_payload(
    sim: GitHubSimulator,
    repo_name: str,
    number: int,
    *,
    installation: int,
    sender: str,
    label: str = "bench",
) -> dict[str, object]:
    """A `pull_request` `labeled` payload for one PR as GitHub sends it: the cheapest event that
    has the bot evaluate that PR (the benchmarks' unit of work)."""
    repo = sim.find_repo(*repo_name.split("/", 1))
    if repo is None:
        raise ValueError(f"the simulator has no repository {repo_name}")
    return {
        "action": "labeled",
        "number": number,
        "label": {"name": label},
        "pull_request": sim.pull_json(repo, sim.pull(repo_name, number)),
        "repository": sim.repo_json(repo),
        "installation": {"id": installation},
        "sender": {"login": sender},
    }


class Stage:
    """Boots the simulator and the bot on free loopback ports; `async with Stage() as stage`."""

    def __init__(
        self,
        *,
        bundled_map: Path = BUNDLED_MAP,
        private_key_pem: str | None = None,
        public_key_pem: str | None = None,
        clock: Callable[[], datetime] | None = None,
        bot_clock: Callable[[], float] = time.time,
        coalesce_seconds: float = 0.02,
        workers: int = 4,
        queue_size: int = 10_000,
        settings_options: dict[str, Any] | None = None,
        **simulator_options: Any,
    ) -> None:
        from githubsim import GitHubSimulator

        if private_key_pem is None or public_key_pem is None:
            private_key_pem, public_key_pem = generate_app_key()
        self.webhook_secret = secrets.token_hex(16)
        sim_kwargs: dict[str, Any] = dict(simulator_options)
        if clock is not None:
            sim_kwargs["clock"] = clock
        self.sim = GitHubSimulator(
            app_id=APP_ID,
            app_public_key_pem=public_key_pem,
            webhook_secret=self.webhook_secret,
            **sim_kwargs,
        )
        self._private_key_pem = private_key_pem
        self._bundled_map = bundled_map
        self._coalesce_seconds = coalesce_seconds
        self._workers = workers
        self._queue_size = queue_size
        self._bot_clock = bot_clock  # the bot's time; `clock` is the simulator's (GitHub's)
        # The background repairs call GitHub on their own: off unless a test asks for them.
        self._settings_options = {
            "reconcile_minutes": 0.0,
            "redeliver_minutes": 0.0,
            **(settings_options or {}),
        }
        self._runner: web.AppRunner | None = None
        self.app: web.Application | None = None
        self.settings: Settings | None = None

    async def __aenter__(self) -> Stage:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        await self.sim.start()
        await self._start_bot()

    async def restart_bot(self) -> None:
        """A new bot process in all but name: everything it knew is gone, GitHub's state stays."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._start_bot()

    async def _start_bot(self) -> None:
        options: dict[str, Any] = {
            "app_id": str(APP_ID),
            "private_key": Secret(self._private_key_pem),
            "webhook_secret": Secret(self.webhook_secret),
            "api_url": self.sim.url,
            "graphql_url": self.sim.graphql_url,
            "bundled_map": self._bundled_map,
            "workers": self._workers,
            "queue_size": self._queue_size,
            "coalesce_seconds": self._coalesce_seconds,
        }
        options.update(self._settings_options)  # e.g. a fault-injecting proxy's api_url
        settings = Settings(**options)
        self.app = create_app(settings, clock=self._bot_clock)
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.bot_url = f"http://127.0.0.1:{port}"
        self.sim.webhook_url = f"{self.bot_url}/webhook"
        self.settings = settings

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.sim.close()

    async def settle(self, *, rounds: int = 50) -> None:
        """Wait until neither side has work left: deliveries, queued evaluations, echoed events."""
        assert self.app is not None
        scheduler = self.app[SCHEDULER_KEY]
        quiet_rounds = 0
        for _ in range(rounds):
            before = len(self.sim.calls), len(self.sim.deliveries)
            await self.sim.settle()
            await self.app[INBOX_KEY].join()  # acknowledged deliveries are routed after the 202
            await scheduler.drain()
            await asyncio.sleep(0)
            if (len(self.sim.calls), len(self.sim.deliveries)) == before:
                quiet_rounds += 1
                if quiet_rounds >= 2:
                    return
            else:
                quiet_rounds = 0
        raise TimeoutError("the bot and the simulator did not settle")


class BotProcess:
    """`coi-bot serve` in its own process, pointed at a simulator running in this one.

    The benchmarks and the restart tests stand on it: the bot is a separate OS process, so it can
    be SIGKILLed mid-burst and its RSS read from /proc, as in production.
    """

    def __init__(
        self,
        sim: GitHubSimulator,
        *,
        private_key_pem: str,
        webhook_secret: str,
        bundled_map: Path = BUNDLED_MAP,
        env: dict[str, str] | None = None,
    ) -> None:
        self._sim = sim
        self._private_key_pem = private_key_pem
        self._webhook_secret = webhook_secret
        self._bundled_map = bundled_map
        self._extra_env = dict(env or {})
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""

    @property
    def pid(self) -> int:
        assert self.process is not None, "the bot is not running"
        return self.process.pid

    async def start(self, *, healthy_within: float = 30.0, route_webhooks: bool = True) -> None:
        """Start the bot on a free port, wait until /healthz answers, route webhooks to it
        (unless `route_webhooks` is False: a door in front of replicas routes them)."""
        port = _free_port()
        env = {
            **os.environ,
            "GITHUB_APP_ID": str(APP_ID),
            "GITHUB_PRIVATE_KEY": self._private_key_pem,
            "GITHUB_WEBHOOK_SECRET": self._webhook_secret,
            "GITHUB_API_URL": self._sim.url,
            "GITHUB_GRAPHQL_URL": self._sim.graphql_url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "COI_MAP": str(self._bundled_map),
            **self._extra_env,
        }
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            env=env,
            cwd=_ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{port}"
        await self._wait_healthy(healthy_within)
        if route_webhooks:
            self._sim.webhook_url = f"{self.url}/webhook"

    async def _wait_healthy(self, seconds: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"the bot exited at start ({self.process.returncode})")
                try:
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"the bot did not become healthy within {seconds:.0f} s")

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, queued evaluations are lost."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def stop(self, *, grace_seconds: float = 15.0) -> None:
        """SIGTERM and wait; SIGKILL if it does not exit in time."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=grace_seconds)
        except TimeoutError:
            await self.kill()

    def rss_kib(self) -> int | None:
        """Resident set size from /proc (Linux), None where it cannot be read."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None  # pragma: no cover - every Linux status file has VmRSS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_ROOT = Path(__file__).resolve().parents[1]


class Door:
    """A load balancer in front of replicas: posts each webhook to the next one in turn and
    answers with that replica's status (502 when it is gone, as GitHub would record)."""

    def __init__(self, *, retry_refused: bool = False) -> None:
        self.targets: list[str] = []
        self.statuses: Counter[int] = Counter()
        self._turn = itertools.count()
        # As a load balancer does: a replica that refuses the connection (killed) or drops it
        # before answering is skipped, and the delivery goes to the next one.
        self.retry_refused = retry_refused
        self.retried = 0

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/webhook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._session = aiohttp.ClientSession()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}/webhook"

    async def close(self) -> None:
        await self._session.close()
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        headers["Content-Type"] = "application/json"
        turn = next(self._turn)
        attempts = len(self.targets) if self.retry_refused else 1
        status = 502  # every replica gone: GitHub would record a failed delivery
        for attempt in range(attempts):
            target = self.targets[(turn + attempt) % len(self.targets)]
            try:
                async with self._session.post(target, data=body, headers=headers) as response:
                    status = response.status
                break
            except aiohttp.ClientError:
                self.retried += attempt + 1 < attempts
        self.statuses[status] += 1
        return web.Response(status=status)
