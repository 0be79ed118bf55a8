"""Webhook acknowledgement throughput, latency and resident memory of the real app, against a floor.

    uv run python bench/bench_webhook.py [--deliveries 10000] [--rounds 3] [--concurrency 200]
                                         [--request-path]

The server runs in its own process (the production app from `create_app`, with a no-op evaluate
so that only the webhook path is measured) on a loopback port; this process plays GitHub:
it signs recorded `pull_request` payloads and keeps `--concurrency` deliveries in flight.
Latency is what GitHub would see: from sending a request to reading its answer. Memory is the
server's resident set (VmRSS) after all deliveries. Deliveries spread over 500 PRs, so the
queue coalesces and evaluates as in production.

Then, under the same load in the same run, the floor: a bare aiohttp handler that only reads the
body, checks its signature and answers 202. No webhook server on aiohttp can ack faster than
that on this machine, so the ratio of the two says how much of the cost is the bot's own. The
targets are those ratios (the machine's own speed cancels out): on two cores with this load
generator beside the servers, at `--concurrency` in flight, the bot's throughput at least 0.6x the
floor's and its p99 at most 1.5x the floor's; each is printed with PASS or FAIL. Both servers stay
up and the rounds alternate between them, so that a slower minute of a shared machine slows
both; medians are compared. Beside each rate, the server's CPU time per delivery (/proc): in a
closed loop that saturates one core, throughput is the inverse of that cost, and the bot's
includes routing each delivery after its ack.

`--request-path` measures the request path alone: the same app, whose router takes each delivery
from the inbox and lets it go without parsing or routing it, against the same floor.
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
from bot.web.inbox import RawDelivery  # noqa: E402
from bot.web.server import run  # noqa: E402
from bot.web.signature import SIGNATURE_HEADER, sign, signature_matches  # noqa: E402
from bot.web.webhook import DeliveryRouter  # noqa: E402

SECRET = "bench secret"
PAYLOAD = PAYLOAD_EXAMPLES / "pull_request" / "synchronize.payload.json"
THROUGHPUT_RATIO_TARGET = 0.6  # bot / floor, at least (two cores, the load generator beside)
P99_RATIO_TARGET = 1.5  # bot / floor, at most
RSS_TARGET_MB = 150.0
PULL_REQUESTS = 500


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(port: int, *, request_path_only: bool = False) -> None:
    """The server process: the real app run as `coi-bot serve` runs it, a no-op evaluate, JSON
    logs written to /dev/null. `request_path_only`: the router lets each delivery go unrouted."""
    if request_path_only:

        async def unrouted(self: DeliveryRouter, delivery: RawDelivery) -> list[object]:
            return []

        DeliveryRouter.route = unrouted  # type: ignore[assignment, method-assign]

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
    run(create_app(settings, evaluate=evaluate), host="127.0.0.1", port=port)


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
    run(floor, host="127.0.0.1", port=port)  # as the bot runs: only the handler differs


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


def cpu_seconds(pid: int) -> float:
    """User and system CPU the process has used (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(values: list[float], fraction: float) -> float:
    return percentile(values, fraction) * 1000


class Server:
    """One server process (`--serve` or `--serve-floor`) and what its rounds measured."""

    def __init__(self, mode: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, __file__, mode, str(self.port)], cwd=ROOT)
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.rates: list[float] = []
        self.cpu_per_delivery: list[float] = []

    def saturate(self, *, deliveries: int, concurrency: int) -> None:
        """One round with `concurrency` always in flight: its rate and the server's CPU."""
        used = cpu_seconds(self.process.pid)
        started = time.perf_counter()
        latencies, statuses = asyncio.run(
            play(self.port, deliveries=deliveries, concurrency=concurrency)
        )
        self.rates.append(len(latencies) / (time.perf_counter() - started))
        time.sleep(0.5)  # the bot routes what it acknowledged last: part of each delivery's cost
        self.cpu_per_delivery.append((cpu_seconds(self.process.pid) - used) / len(latencies))
        self.latencies.extend(latencies)
        for status, count in statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)

    def summary(self, name: str) -> str:
        return (
            f"{name}: statuses {dict(sorted(self.statuses.items()))}; "
            f"{statistics.median(self.rates):.0f} per second (median of {len(self.rates)} rounds: "
            f"{', '.join(f'{rate:.0f}' for rate in self.rates)}); "
            f"p50 {ms(self.latencies, 0.5):.2f} ms, p99 {ms(self.latencies, 0.99):.2f} ms; "
            f"server CPU {statistics.median(self.cpu_per_delivery) * 1e6:.0f} us per delivery"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-request-path", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument(
        "--request-path",
        action="store_true",
        help="the request path alone: deliveries are acknowledged, never routed",
    )
    parser.add_argument("--deliveries", type=int, default=10_000, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return 0
    if args.serve_request_path:
        serve(args.serve_request_path, request_path_only=True)
        return 0
    bot = Server("--serve-request-path" if args.request_path else "--serve")
    floor = Server("--serve-floor")
    try:
        asyncio.run(wait_until_up(bot.port))
        asyncio.run(wait_until_up(floor.port))
        # Lower concurrencies first: where the ack latency comes from (queueing, not handling).
        for concurrency in (1, 10, 50):
            latencies, _ = asyncio.run(play(bot.port, deliveries=1000, concurrency=concurrency))
            print(
                f"{concurrency:>3} in flight: p50 {ms(latencies, 0.5):6.2f} ms, "
                f"p99 {ms(latencies, 0.99):6.2f} ms"
            )
        for server in (bot, floor):  # warm-up, not counted
            asyncio.run(play(server.port, deliveries=500, concurrency=args.concurrency))
        # Rounds alternate between the two, so that a slower minute of a shared machine
        # slows both alike; the medians are compared.
        for _ in range(args.rounds):
            for server in (bot, floor):
                server.saturate(deliveries=args.deliveries, concurrency=args.concurrency)
        rss = resident_mb(bot.process.pid)
        total = 3 * 1000 + 500 + args.rounds * args.deliveries
    finally:
        bot.stop()
        floor.stop()
    print(f"{args.concurrency} in flight, {args.rounds} rounds of {args.deliveries} deliveries")
    name = "bot, request path alone (never routed)" if args.request_path else "bot"
    print(bot.summary(name))
    print(floor.summary("floor, bare aiohttp (read, verify, 202)"))
    rate, floor_rate = statistics.median(bot.rates), statistics.median(floor.rates)
    # Little's law: with N deliveries always in flight, latency = N / throughput.
    print(f"  (queueing bound at the bot's rate: {args.concurrency / rate * 1000:.1f} ms)")
    throughput_ratio = rate / floor_rate
    p99_ratio = ms(bot.latencies, 0.99) / ms(floor.latencies, 0.99)
    verdict = "PASS" if throughput_ratio >= THROUGHPUT_RATIO_TARGET else "FAIL"
    print(
        f"  bot / floor: throughput {throughput_ratio:.2f}x "
        f"(target >= {THROUGHPUT_RATIO_TARGET}x) {verdict}"
    )
    verdict = "PASS" if p99_ratio <= P99_RATIO_TARGET else "FAIL"
    print(f"  bot / floor: p99 {p99_ratio:.2f}x (target <= {P99_RATIO_TARGET}x) {verdict}")
    cpu_ratio = statistics.median(bot.cpu_per_delivery) / statistics.median(floor.cpu_per_delivery)
    print(f"  bot / floor: server CPU per delivery {cpu_ratio:.2f}x (routing included)")
    verdict = "PASS" if rss < RSS_TARGET_MB else "FAIL"
    print(
        f"server resident memory after {total} deliveries: {rss:.1f} MB "
        f"(target < {RSS_TARGET_MB:.0f} MB) {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
