"""A real redis-server per test, on a free loopback port, that a test may stop and start again."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.metrics import Metrics
from bot.replicas import Coordinator

START_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process, without persistence unless `persistent` (an append-only file
    written at every command: a restart keeps everything); `stop` and `start` keep its port."""

    def __init__(self, binary: str, directory: Path, *, persistent: bool = False) -> None:
        self.binary = binary
        self.directory = directory
        self.persistent = persistent
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        self._process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "yes" if self.persistent else "no",
                "--appendfsync", "always",
                "--daemonize", "no",
                "--dir", str(self.directory),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not answers_ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                output = (self.directory / "redis.log").read_text(errors="replace")
                pytest.fail(f"redis-server did not answer PING on port {self.port}:\n{output}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


def started_redis(directory: Path, *, persistent: bool = False) -> RedisServer:
    """A running redis-server (Debian's package: .ci/run installs it); `stop` it when done."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not installed: .ci/run installs it; run apt-get install redis-server"
        )
    server = RedisServer(binary, directory, persistent=persistent)
    server.start()
    return server


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = started_redis(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def coordinator(redis_server: RedisServer, metrics: Metrics) -> AsyncIterator[Coordinator]:
    replica = Coordinator.from_url(redis_server.url, metrics=metrics, claim_idle_ms=50)
    try:
        yield replica
    finally:
        await replica.aclose()
