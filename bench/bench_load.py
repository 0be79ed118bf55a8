"""Load: signed deliveries at a fixed rate for a fixed time, spread over many PRs, against
`coi-bot serve` in its own process and the simulator in this one, over loopback.

Open loop: a sender process fires each delivery on its schedule without waiting for answers,
and measures each acknowledgement from the moment it was due (a stalled bot cannot hide its
stall by slowing the sender down). Figures: ack p50/p99, 503s, time for the evaluation backlog
to drain after the last delivery, the bot's RSS over time, CPU of each side.

    uv run python bench/bench_load.py [--seconds 60] [--rate 500] [--prs 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from githubsim.simulator import GitHubSimulator

from bot.affiliations.loader import load_map_file
from bot.demo import OWNER, choose_cast, seed_repository
from bot.stage import (
    APP_ID,
    BUNDLED_MAP,
    BotProcess,
    generate_app_key,
    labeled_payload,
)

SECRET = "bench-secret"
ACK_P99_TARGET_MS = 50.0
RSS_GROWTH_LIMIT = 1.25  # "flat": the last sample within 25 % of the first after warm-up
DRAIN_LIMIT_SECONDS = 120.0
QUIET_SECONDS = 1.5  # no evaluation for this long (> coalescing window) and an empty queue
CLOCK_TICKS = 100  # USER_HZ of /proc/<pid>/stat on Linux


@dataclass
class SendReport:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    late_starts: int = 0  # sends that left more than 10 ms after their slot (sender overloaded)
    last_sent: float = 0.0  # wall clock (time.time) of the last delivery's answer


def fire(url: str, bodies: list[tuple[bytes, str]], rate: float, seconds: float) -> SendReport:
    """In its own process: open-loop sending, one delivery every 1/rate s, round robin."""
    return asyncio.run(_fire(url, bodies, rate, seconds))


async def _fire(
    url: str, bodies: list[tuple[bytes, str]], rate: float, seconds: float
) -> SendReport:
    report = SendReport()
    total = int(rate * seconds)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(index: int, due: float) -> None:
            body, signature = bodies[index % len(bodies)]
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": signature,
            }
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    report.statuses[response.status] += 1
            except aiohttp.ClientError:
                report.statuses[0] += 1
            report.latencies_ms.append((time.perf_counter() - due) * 1000)

        start = time.perf_counter() + 0.1
        tasks = []
        for index in range(total):
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.01:
                report.late_starts += 1
            tasks.append(asyncio.create_task(send(index, due)))
        await asyncio.gather(*tasks)
        report.last_sent = time.time()
    return report


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


async def metrics(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            values[name] = values.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return values


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(seconds: float, rate: float, prs: int) -> bool:
    loaded = load_map_file(BUNDLED_MAP)
    assert loaded.map is not None
    cast = choose_cast(loaded.map, today=datetime.now(UTC))
    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=SECRET)
    await sim.start()
    repo_name = seed_repository(sim, loaded.map, install=False)
    print(f"opening {prs} PRs in the simulator ...", flush=True)
    numbers = [
        await sim.open_pull_request(
            repo_name,
            author=cast.author,
            title=f"Change {i}",
            files={f"st2common/st2common/load{i}.py": "x = 1\n"},
        )
        for i in range(prs)
    ]
    # Queue bound left at its default; the reconciler runs once at start, before the App exists.
    bot = BotProcess(
        sim,
        private_key_pem=private_pem,
        webhook_secret=SECRET,
        env={"COI_RECONCILE_MINUTES": "600", "COI_REDELIVER_MINUTES": "600"},
    )
    await bot.start()
    try:
        for _ in range(600):  # the start cycle, before the App is installed anywhere
            if (await metrics(bot.url)).get("coi_reconcile_cycles_total", 0) >= 1:
                break
            await asyncio.sleep(0.05)
        installation = sim.add_installation(OWNER)
        bodies = []
        for number in numbers:
            payload = labeled_payload(
                sim, repo_name, number, installation=installation, sender=cast.author, label="load"
            )
            body = json.dumps(payload).encode()
            bodies.append((body, sim.sign(body)))

        rss: list[tuple[float, int]] = []
        bot_cpu_before, sim_cpu_before = cpu_seconds(bot.pid), time.process_time()
        started = time.perf_counter()

        async def sample_rss() -> None:
            while True:
                value = bot.rss_kib()
                if value is not None:
                    rss.append((time.perf_counter() - started, value))
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample_rss())
        print(f"sending {int(rate * seconds)} deliveries at {rate:.0f}/s over {prs} PRs ...")
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(max_workers=1) as pool:
            sent = await loop.run_in_executor(
                pool, fire, f"{bot.url}/webhook", bodies, rate, seconds
            )
        sending_seconds = time.perf_counter() - started
        bot_cpu_send = cpu_seconds(bot.pid) - bot_cpu_before
        sim_cpu_send = time.process_time() - sim_cpu_before

        # Drained: an empty queue and no evaluation finished for QUIET_SECONDS.
        drain_started = time.perf_counter()
        last_count, last_change = -1.0, time.perf_counter()
        drained_after: float | None = None
        while time.perf_counter() - drain_started < DRAIN_LIMIT_SECONDS:
            values = await metrics(bot.url)
            count = values.get("coi_evaluations_total", 0.0)
            if count != last_count:
                last_count, last_change = count, time.perf_counter()
            elif values.get("coi_queue_depth", 1) == 0 and (
                time.perf_counter() - last_change >= QUIET_SECONDS
            ):
                drained_after = last_change - drain_started
                break
            await asyncio.sleep(0.1)
        sampler.cancel()
        final = await metrics(bot.url)
        bot_cpu_all = cpu_seconds(bot.pid) - bot_cpu_before
        sim_cpu_all = time.process_time() - sim_cpu_before
        total_seconds = time.perf_counter() - started
    finally:
        await bot.stop()
        await sim.close()

    latencies = sent.latencies_ms
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    unavailable = sent.statuses[503]
    print(
        f"deliveries: {len(latencies)} in {sending_seconds:.1f} s; statuses {dict(sent.statuses)}"
    )
    print(f"sender slots missed by > 10 ms: {sent.late_starts}")
    print(
        f"ack latency from the scheduled send: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
    evaluations = final.get("coi_evaluations_total", 0.0)
    snapshots = sum(1 for c in sim.calls if c.query_name == "Snapshot")
    print(
        f"evaluations: {evaluations:.0f} ({evaluations / total_seconds:.0f}/s overall); "
        f"GraphQL snapshots served: {snapshots}; check runs: {len(sim.check_run_store)}"
    )
    print(
        f"CPU while sending: bot {bot_cpu_send:.1f} s ({bot_cpu_send / sending_seconds:.0%} "
        f"of a core), simulator+bench {sim_cpu_send:.1f} s "
        f"({sim_cpu_send / sending_seconds:.0%}); whole run: bot {bot_cpu_all:.1f} s, "
        f"simulator+bench {sim_cpu_all:.1f} s over {total_seconds:.1f} s"
    )
    if snapshots:
        print(
            f"simulator CPU per snapshot served (upper bound): "
            f"{sim_cpu_all / snapshots * 1000:.1f} ms; bot CPU per evaluation: "
            f"{bot_cpu_all / max(evaluations, 1) * 1000:.1f} ms"
        )
    warm = [kib for at, kib in rss if at >= 5] or [kib for _, kib in rss]
    first, last, peak = warm[0], warm[-1], max(kib for _, kib in rss)
    print(
        f"bot RSS (after 5 s warm-up): first {first / 1024:.1f} MiB, last {last / 1024:.1f} MiB, "
        f"max {peak / 1024:.1f} MiB over {len(rss)} samples"
    )

    verdicts = {
        f"ack p99 < {ACK_P99_TARGET_MS:.0f} ms": p99 < ACK_P99_TARGET_MS,
        "no 503 below the queue's bound": unavailable == 0,
        "every delivery acknowledged 202": sent.statuses[202] == len(latencies),
        "backlog drains": drained_after is not None,
        f"memory flat (last <= {RSS_GROWTH_LIMIT:.2f} x first)": last <= first * RSS_GROWTH_LIMIT,
    }
    if drained_after is not None:
        print(f"backlog drained {drained_after:.1f} s after the last delivery")
    else:
        print(
            f"backlog NOT drained {DRAIN_LIMIT_SECONDS:.0f} s after the last delivery "
            f"(queue depth {final.get('coi_queue_depth', 0):.0f})"
        )
    for name, ok in verdicts.items():
        print(f"{name}: {'PASS' if ok else 'FAIL'}")
    return all(verdicts.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--prs", type=int, default=1000)
    args = parser.parse_args()
    if args.seconds <= 0 or args.rate <= 0 or args.prs <= 0:
        parser.error("--seconds, --rate and --prs must be positive")
    ok = asyncio.run(run(args.seconds, args.rate, args.prs))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
