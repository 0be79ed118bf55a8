"""Webhook acknowledgement latency and resident memory of the real app (issue 5's targets).

    uv run python bench/bench_webhook.py [--deliveries 10000] [--concurrency 200]

The server runs in its own process (the production app from `create_app`, with a no-op evaluate
so that only the webhook path is measured) on a loopback port; this process plays GitHub:
it signs recorded `pull_request` payloads and keeps `--concurrency` deliveries in flight.
Latency is what GitHub would see: from sending a request to reading its answer. Memory is the
server's resident set (VmRSS) after all deliveries. Deliveries spread over 500 PRs, so the
queue coalesces and evaluates as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.logs import configure_logging  # noqa: E402
from bot.pr import PullRequestRef  # noqa: E402
from bot.settings import Secret, Settings  # noqa: E402
from bot.web.app import create_app  # noqa: E402
from bot.web.signature import sign  # noqa: E402

SECRET = "bench secret"
PAYLOAD = (
    ROOT.parent / "shared" / "github" / "payloads" / "pull_request" / "synchronize.payload.json"
)
P99_TARGET_MS = 20.0
RSS_TARGET_MB = 150.0
PULL_REQUESTS = 500


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(port: int) -> None:
    """The server process: the real app, a no-op evaluate, JSON logs written to /dev/null."""

    async def evaluate(ref: PullRequestRef) -> None:
        return None

    settings = Settings(
        app_id="1",
        private_key=Secret("unused: evaluate is a no-op"),
        webhook_secret=Secret(SECRET),
        host="127.0.0.1",
        port=port,
    )
    configure_logging(stream=open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    web.run_app(
        create_app(settings, evaluate=evaluate),
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=None,
    )


def bodies() -> list[bytes]:
    data = json.loads(PAYLOAD.read_text(encoding="utf-8"))
    result = []
    for number in range(1, PULL_REQUESTS + 1):
        data["number"] = data["pull_request"]["number"] = number
        result.append(json.dumps(data).encode())
    return result


async def deliver(
    session: aiohttp.ClientSession, url: str, body: bytes, latencies: list[float]
) -> int:
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, secret=SECRET),
        "Content-Type": "application/json",
    }
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        latencies.append(time.perf_counter() - started)
        return response.status


async def play(
    port: int, *, deliveries: int, concurrency: int
) -> tuple[list[float], dict[int, int]]:
    url = f"http://127.0.0.1:{port}/webhook"
    payloads = bodies()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(100):  # wait for the server
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        warmup: list[float] = []
        await asyncio.gather(*(deliver(session, url, payloads[i], warmup) for i in range(50)))
        next_index = 0
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            async with gate:
                status = await deliver(session, url, payloads[index % len(payloads)], latencies)
                statuses[status] = statuses.get(status, 0) + 1

        tasks = []
        for next_index in range(deliveries):
            tasks.append(asyncio.create_task(one(next_index)))
        await asyncio.gather(*tasks)
    return latencies, statuses


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc: this benchmark needs Linux")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], cwd=ROOT)
    try:
        # Lower concurrencies first: where the ack latency comes from (queueing, not handling).
        for concurrency in (1, 10, 50):
            latencies, _ = asyncio.run(play(port, deliveries=1000, concurrency=concurrency))
            print(
                f"{concurrency:>3} in flight: p50 {percentile(latencies, 0.5) * 1000:6.2f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1000:6.2f} ms"
            )
        started = time.perf_counter()
        latencies, statuses = asyncio.run(
            play(port, deliveries=args.deliveries, concurrency=args.concurrency)
        )
        elapsed = time.perf_counter() - started
        time.sleep(1.0)  # let the coalesced evaluations run before reading memory
        rss = resident_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    rate = len(latencies) / elapsed
    p50 = percentile(latencies, 0.50) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    print(f"{args.concurrency} in flight: {len(latencies)} signed pull_request deliveries")
    print(f"statuses: {dict(sorted(statuses.items()))}; {rate:.0f} per second")
    print(f"ack latency p50: {p50:.2f} ms; mean {statistics.fmean(latencies) * 1000:.2f} ms")
    verdict = "PASS" if p99 < P99_TARGET_MS else "FAIL"
    print(f"ack latency p99: {p99:.2f} ms (target < {P99_TARGET_MS:.0f} ms) {verdict}")
    # Little's law: with N deliveries always in flight, latency = N / throughput.
    print(f"  (queueing bound at this rate: {args.concurrency / rate * 1000:.1f} ms)")
    verdict = "PASS" if rss < RSS_TARGET_MB else "FAIL"
    print(
        f"server resident memory after {args.deliveries + 3050} deliveries: {rss:.1f} MB "
        f"(target < {RSS_TARGET_MB:.0f} MB) {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
