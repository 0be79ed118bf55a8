"""Webhook acknowledgement throughput, latency and resident memory of the real app, against a floor.

    uv run python bench/bench_webhook.py [--deliveries 10000] [--concurrency 200]

The server runs in its own process (the production app from `create_app`, with a no-op evaluate
so that only the webhook path is measured) on a loopback port; this process plays GitHub:
it signs recorded `pull_request` payloads and keeps `--concurrency` deliveries in flight.
Latency is what GitHub would see: from sending a request to reading its answer. Memory is the
server's resident set (VmRSS) after all deliveries. Deliveries spread over 500 PRs, so the
queue coalesces and evaluates as in production.

Then, under the same load in the same run, the floor: a bare aiohttp handler that only reads the
body, checks its signature and answers 202. No webhook server on aiohttp can ack faster than
that on this machine, so the ratio of the two says how much of the cost is the bot's own. The
targets are those ratios (the machine's own speed cancels out): at `--concurrency` in flight, the
bot's throughput at least 0.8x the floor's and its p99 at most 1.5x the floor's.
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

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from githubsim.reference import PAYLOAD_EXAMPLES  # noqa: E402

from bot.intents import Intents  # noqa: E402
from bot.logs import configure_logging  # noqa: E402
from bot.pr import WorkRef  # noqa: E402
from bot.settings import Secret, Settings  # noqa: E402
from bot.web.app import create_app  # noqa: E402
from bot.web.signature import SIGNATURE_HEADER, sign, signature_matches  # noqa: E402

SECRET = "bench secret"
PAYLOAD = PAYLOAD_EXAMPLES / "pull_request" / "synchronize.payload.json"
THROUGHPUT_RATIO_TARGET = 0.8  # bot / floor, at least
P99_RATIO_TARGET = 1.5  # bot / floor, at most
RSS_TARGET_MB = 150.0
PULL_REQUESTS = 500


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(port: int) -> None:
    """The server process: the real app, a no-op evaluate, JSON logs written to /dev/null."""

    async def evaluate(ref: WorkRef, intents: Intents) -> None:
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


def serve_floor(port: int) -> None:
    """The floor: what the contract demands before any ack (body read, signature), nothing else."""

    async def acknowledge(request: web.Request) -> web.Response:
        body = await request.read()
        matches = signature_matches(
            body, secret=SECRET, header=request.headers.get(SIGNATURE_HEADER)
        )
        return web.json_response({"status": "queued"}, status=202 if matches else 401)

    floor = web.Application()
    floor.router.add_post("/webhook", acknowledge)
    web.run_app(floor, host="127.0.0.1", port=port, access_log=None, print=None)


def bodies() -> list[bytes]:
    data = json.loads(PAYLOAD.read_text(encoding="utf-8"))
    result = []
    for number in range(1, PULL_REQUESTS + 1):
        data["number"] = data["pull_request"]["number"] = number
        result.append(json.dumps(data).encode())
    return result


class Deliveries:
    """Signed requests, prebuilt: the load generator must cost far less than the server it loads.

    aiohttp's client spends about as much CPU per request as the server does, and both share
    two cores; raw HTTP/1.1 over keep-alive connections leaves the cores to the server.
    """

    def __init__(self, port: int) -> None:
        self._host = f"Host: 127.0.0.1:{port}\r\n"
        self._bodies = [(body, sign(body, secret=SECRET)) for body in bodies()]
        self._next = 0

    def next_request(self) -> list[bytes]:
        body, signature = self._bodies[self._next % len(self._bodies)]
        self._next += 1
        head = (
            f"POST /webhook HTTP/1.1\r\n{self._host}"
            "X-GitHub-Event: pull_request\r\n"
            f"X-GitHub-Delivery: {uuid.uuid4()}\r\n"
            f"X-Hub-Signature-256: {signature}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return [head.encode("ascii"), body]


async def _answer_of(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def wait_until_up(port: int) -> None:
    for _ in range(100):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
        status = await _answer_of(reader)
        writer.close()
        if status in (200, 404):  # 404: the bare server has no /healthz, but it answers
            return
    raise RuntimeError(f"nothing answers on port {port}")


async def play(
    port: int, *, deliveries: int, concurrency: int
) -> tuple[list[float], dict[int, int]]:
    """`concurrency` connections, each sending its next delivery as soon as the last is answered."""
    await wait_until_up(port)
    requests = Deliveries(port)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = deliveries

    async def connection() -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while remaining > 0:
            remaining -= 1
            request = requests.next_request()
            started = time.perf_counter()
            writer.writelines(request)
            status = await _answer_of(reader)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, statuses


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc: this benchmark needs Linux")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def start(mode: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    return subprocess.Popen([sys.executable, __file__, mode, str(port)], cwd=ROOT), port


def stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


def saturate(
    port: int, *, deliveries: int, concurrency: int
) -> tuple[list[float], dict[int, int], float]:
    """Latencies, statuses and deliveries per second with `concurrency` always in flight."""
    asyncio.run(play(port, deliveries=500, concurrency=concurrency))  # warm-up, not counted
    started = time.perf_counter()
    latencies, statuses = asyncio.run(play(port, deliveries=deliveries, concurrency=concurrency))
    return latencies, statuses, len(latencies) / (time.perf_counter() - started)


def ms(values: list[float], fraction: float) -> float:
    return percentile(values, fraction) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return 0
    server, port = start("--serve")
    try:
        # Lower concurrencies first: where the ack latency comes from (queueing, not handling).
        for concurrency in (1, 10, 50):
            latencies, _ = asyncio.run(play(port, deliveries=1000, concurrency=concurrency))
            print(
                f"{concurrency:>3} in flight: p50 {ms(latencies, 0.5):6.2f} ms, "
                f"p99 {ms(latencies, 0.99):6.2f} ms"
            )
        latencies, statuses, rate = saturate(
            port, deliveries=args.deliveries, concurrency=args.concurrency
        )
        time.sleep(1.0)  # let the coalesced evaluations run before reading memory
        rss = resident_mb(server.pid)
        total = 3 * 1000 + 500 + args.deliveries
    finally:
        stop(server)
    floor_server, floor_port = start("--serve-floor")
    try:
        floor, floor_statuses, floor_rate = saturate(
            floor_port, deliveries=args.deliveries, concurrency=args.concurrency
        )
    finally:
        stop(floor_server)
    p99 = ms(latencies, 0.99)
    print(f"{args.concurrency} in flight: {len(latencies)} signed pull_request deliveries")
    print(f"statuses: {dict(sorted(statuses.items()))}; {rate:.0f} per second")
    mean = statistics.fmean(latencies) * 1000
    print(f"ack latency p50: {ms(latencies, 0.5):.2f} ms; mean {mean:.2f} ms")
    print(f"ack latency p99: {p99:.2f} ms")
    # Little's law: with N deliveries always in flight, latency = N / throughput.
    print(f"  (queueing bound at this rate: {args.concurrency / rate * 1000:.1f} ms)")
    print(
        f"floor, bare aiohttp (read, verify, 202) under the same load: "
        f"statuses {dict(sorted(floor_statuses.items()))}; {floor_rate:.0f} per second; "
        f"p50 {ms(floor, 0.5):.2f} ms, p99 {ms(floor, 0.99):.2f} ms"
    )
    throughput_ratio, p99_ratio = rate / floor_rate, p99 / ms(floor, 0.99)
    verdict = "PASS" if throughput_ratio >= THROUGHPUT_RATIO_TARGET else "FAIL"
    print(
        f"  bot / floor: throughput {throughput_ratio:.2f}x "
        f"(target >= {THROUGHPUT_RATIO_TARGET}x) {verdict}"
    )
    verdict = "PASS" if p99_ratio <= P99_RATIO_TARGET else "FAIL"
    print(f"  bot / floor: p99 {p99_ratio:.2f}x (target <= {P99_RATIO_TARGET}x) {verdict}")
    verdict = "PASS" if rss < RSS_TARGET_MB else "FAIL"
    print(
        f"server resident memory after {total} deliveries: {rss:.1f} MB "
        f"(target < {RSS_TARGET_MB:.0f} MB) {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
