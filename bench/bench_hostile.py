"""Hostile maps against the running App, while a steady stream of webhooks is acknowledged.

    uv run python bench/bench_hostile.py [--seconds 4] [--rate 50]

`coi-bot serve` runs in its own process against the simulator (in this one). A witness, a third
process so that neither the simulator's work nor this one's can delay what it measures, asks
`/healthz` every 10 ms and posts a signed `pull_request` `labeled` delivery (a distinct body each
time, on an ordinary PR) `--rate` times a second; it times every answer. It runs once while
nothing else happens (quiet), then while pull requests open with hostile maps and a plain
comment lands on each (attack):

- many unknown companies against many companies (3,000 companies, 2,000 unknown ids),
- thousands of errors (6,000 people of unknown companies),
- deep nesting (10,000 levels of flow sequences),
- 4 MiB of map (10,000 people of 3,000 companies, padded to 4 MiB).

Printed: the longest answer to `/healthz` (an upper bound of the bot's longest event-loop stall,
to within the probe's 10 ms), the acknowledgement p99 quiet and under attack, the writes each
evaluation of a hostile PR made (check-run writes, comments, reactions, requests: anything
but a read), and each hostile PR's conclusion and title. Targets: no stall over 100 ms; ack p99
under attack at most 2x quiet; at most 2 writes per evaluation; every hostile map `failure`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from githubsim.simulator import GitHubSimulator  # noqa: E402

from bot.affiliations.loader import MAX_MAP_BYTES, load_map_file  # noqa: E402
from bot.demo import choose_cast, seed_repository  # noqa: E402
from bot.settings import DEFAULT_MAP_PATH  # noqa: E402
from bot.stage import APP_ID, BUNDLED_MAP, BotProcess, generate_app_key  # noqa: E402
from bot.web.signature import SIGNATURE_HEADER, sign  # noqa: E402

SECRET = "bench hostile secret"
STALL_TARGET_MS = 100.0
ACK_P99_RATIO_TARGET = 2.0
WRITES_PER_EVALUATION_TARGET = 2.0
PROBE_SECONDS = 0.01
READS = {"GET"}
NOT_WRITES = {"apps/create-installation-access-token"}  # a token, not a write to a repository
MUTATIONS = {"MinimizeDuplicateReply", "RemoveAppliedMark"}


def unknown_companies(companies: int, unknown: int) -> str:
    lines = ["version: 1", "companies:"]
    lines += [f"  company{i}: {{name: Company number {i}}}" for i in range(companies)]
    lines.append("people:")
    lines += [
        f"  person{i}: {{role: maintainer, affiliations: [{{company: unknowncorp{i}x}}]}}"
        for i in range(unknown)
    ]
    return "\n".join(lines) + "\n"


def deep_nesting(levels: int) -> str:
    return "version: 1\ncompanies: " + "[" * levels + "]" * levels + "\n"


def four_mib() -> str:
    """Unknown company ids up to the loader's limit: every line an error."""
    text = unknown_companies(3_000, 0)
    person = "  person{0}: {{role: maintainer, affiliations: [{{company: unknowncorp{0}x}}]}}\n"
    lines, size, index = [text], len(text), 0
    while size + len(person.format(index)) <= MAX_MAP_BYTES:
        line = person.format(index)
        lines.append(line)
        size += len(line)
        index += 1
    return "".join(lines)


HOSTILE_MAPS = {
    "unknown ids": lambda: unknown_companies(3_000, 2_000),
    "thousands of errors": lambda: unknown_companies(10, 6_000),
    "deep nesting": lambda: deep_nesting(10_000),
    "4 MiB": four_mib,
}


# --- the witness: a process of its own that times /healthz and acknowledgements -----------


async def witness(payload: dict[str, Any], url: str, seconds: float, rate: float) -> dict[str, Any]:
    health: list[float] = []
    acks: list[float] = []
    statuses: dict[str, int] = {}
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession() as session:

        async def probe() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(f"{url}/healthz") as response:
                    await response.read()
                health.append(time.perf_counter() - started)
                await asyncio.sleep(PROBE_SECONDS)

        async def deliver() -> None:
            index = 0
            while time.perf_counter() < deadline:
                index += 1
                body = json.dumps({**payload, "label": {"name": f"steady-{uuid.uuid4()}"}})
                data = body.encode()
                headers = {
                    "X-GitHub-Event": "pull_request",
                    "X-GitHub-Delivery": str(uuid.uuid4()),
                    SIGNATURE_HEADER: sign(data, secret=SECRET),
                    "Content-Type": "application/json",
                }
                started = time.perf_counter()
                async with session.post(f"{url}/webhook", data=data, headers=headers) as response:
                    await response.read()
                acks.append(time.perf_counter() - started)
                statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1
                await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))

        await asyncio.gather(probe(), deliver())
    return {"health": health, "acks": acks, "statuses": statuses}


async def run_witness(url: str, payload_file: Path, seconds: float, rate: float) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--witness",
        url,
        str(payload_file),
        str(seconds),
        str(rate),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the witness failed ({process.returncode})")
    result: dict[str, Any] = json.loads(out)
    return result


# --- the attack --------------------------------------------------------------------------


@dataclass
class Attack:
    name: str
    number: int
    conclusion: str = ""
    first_error: str = ""
    title: str = ""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def quiet(sim: GitHubSimulator, *, idle: float = 0.5, limit: float = 120.0) -> None:
    """Wait until the simulator has seen no request for `idle` seconds."""
    deadline = time.monotonic() + limit
    seen, since = len(sim.calls), time.monotonic()
    while time.monotonic() < deadline:
        await sim.settle()
        await asyncio.sleep(0.05)
        if len(sim.calls) != seen:
            seen, since = len(sim.calls), time.monotonic()
        elif time.monotonic() - since >= idle:
            return
    raise TimeoutError("the bot did not settle")


async def attack(sim: GitHubSimulator, repo_name: str, author: str) -> list[Attack]:
    attacks = []
    for name, build in HOSTILE_MAPS.items():
        number = await sim.open_pull_request(
            repo_name,
            author=author,
            title=f"Hostile map: {name}",
            files={DEFAULT_MAP_PATH: build()},
        )
        attacks.append(Attack(name, number))
    await quiet(sim)
    for hostile in attacks:  # a later plain comment: the map is not checked again
        await sim.post_comment(repo_name, hostile.number, author=author, body="any news?")
    await quiet(sim)
    return attacks


async def run(seconds: float, rate: float) -> int:
    loaded = load_map_file(BUNDLED_MAP)
    assert loaded.map is not None
    cast = choose_cast(loaded.map, today=datetime.now(UTC))
    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=SECRET)
    await sim.start()
    bot = BotProcess(sim, private_key_pem=private_pem, webhook_secret=SECRET)
    try:
        await bot.start()
        map_text = BUNDLED_MAP.read_text()
        repo_name = seed_repository(sim, loaded.map, map_text=map_text)
        steady = await sim.open_pull_request(
            repo_name, author=cast.author, title="Steady", files={"docs/steady.md": "x\n"}
        )
        # A first map PR warms the bot's token, the simulator's schema and the map checker.
        await sim.open_pull_request(
            repo_name,
            author=cast.author,
            title="Warm up",
            files={DEFAULT_MAP_PATH: map_text + "# warm\n"},
        )
        await quiet(sim)
        repo = sim.find_repo(*repo_name.split("/", 1))
        assert repo is not None
        installation = sim.installation_for(repo)
        assert installation is not None
        payload = {
            "action": "labeled",
            "number": steady,
            "label": {"name": "steady"},
            "pull_request": sim.pull_json(repo, sim.pull(repo_name, steady)),
            "repository": sim.repo_json(repo),
            "installation": {"id": installation.id},
            "sender": {"login": cast.author},
        }
        with tempfile.TemporaryDirectory() as folder:
            payload_file = Path(folder) / "labeled.json"
            payload_file.write_text(json.dumps(payload))
            quiet_run = await run_witness(bot.url, payload_file, seconds, rate)
            await quiet(sim)
            under_attack, attacks = await asyncio.gather(
                run_witness(bot.url, payload_file, seconds * 3, rate),
                attack(sim, repo_name, cast.author),
            )
            await quiet(sim)
        # Writes are counted on the same attack again, with nothing else running: the calls a
        # simulator records do not say which PR they were for.
        since = len(sim.calls)
        recount = await attack(sim, repo_name, cast.author)
        evaluations, writes = count_writes(sim, since)
        conclude(sim, repo_name, attacks + recount)
        return report(quiet_run, under_attack, attacks + recount, (evaluations, writes), sim)
    finally:
        await bot.stop()
        await sim.close()


def count_writes(sim: GitHubSimulator, since: int) -> tuple[int, Counter[str]]:
    """Evaluations (snapshot reads) and writes (anything but a read) by operation, since call
    `since`."""
    calls = sim.calls[since:]
    evaluations = sum(1 for call in calls if call.query_name == "Snapshot")
    writes = Counter(
        call.operation_id or call.query_name or call.path
        for call in calls
        if (
            call.kind == "rest" and call.method not in READS and call.operation_id not in NOT_WRITES
        )
        or (call.kind == "graphql" and call.query_name in MUTATIONS)
    )
    return evaluations, writes


def conclude(sim: GitHubSimulator, repo_name: str, attacks: list[Attack]) -> None:
    for hostile in attacks:
        runs = sim.check_runs(repo_name, sim.head_sha(repo_name, hostile.number))
        if runs:
            hostile.conclusion = runs[-1]["conclusion"]
            hostile.title = runs[-1]["output"]["title"]
            errors = [line for line in runs[-1]["output"]["text"].splitlines() if line[:2] == "- "]
            hostile.first_error = errors[0][2:] if errors else ""


def report(
    quiet_run: dict[str, Any],
    under_attack: dict[str, Any],
    attacks: list[Attack],
    counted: tuple[int, Counter[str]],
    sim: GitHubSimulator,
) -> int:
    stall_ms = max(under_attack["health"]) * 1000
    quiet_p99 = percentile(quiet_run["acks"], 0.99) * 1000
    attack_p99 = percentile(under_attack["acks"], 0.99) * 1000
    evaluations, by_operation = counted
    writes = sum(by_operation.values())
    per_evaluation = writes / evaluations if evaluations else float("inf")
    print(
        f"quiet: {len(quiet_run['acks'])} acks {quiet_run['statuses']}, "
        f"p50 {statistics.median(quiet_run['acks']) * 1000:.1f} ms, p99 {quiet_p99:.1f} ms, "
        f"longest /healthz {max(quiet_run['health']) * 1000:.1f} ms"
    )
    print(
        f"attack: {len(under_attack['acks'])} acks {under_attack['statuses']}, "
        f"p50 {statistics.median(under_attack['acks']) * 1000:.1f} ms, p99 {attack_p99:.1f} ms, "
        f"{len(under_attack['health'])} /healthz probes"
    )
    for hostile in attacks:
        print(f"  #{hostile.number} {hostile.name}: {hostile.conclusion}: {hostile.title}")
        print(f"    first: {hostile.first_error[:150]}")
    stall_ok = stall_ms <= STALL_TARGET_MS
    ack_ok = attack_p99 <= ACK_P99_RATIO_TARGET * quiet_p99
    writes_ok = per_evaluation <= WRITES_PER_EVALUATION_TARGET
    failed_ok = all(hostile.conclusion == "failure" for hostile in attacks)
    verdict = {True: "PASS", False: "FAIL"}
    print(
        f"longest event-loop stall (longest /healthz answer): {stall_ms:.1f} ms "
        f"(target <= {STALL_TARGET_MS:.0f} ms) {verdict[stall_ok]}"
    )
    print(
        f"ack p99 under attack / quiet: {attack_p99:.1f} / {quiet_p99:.1f} ms = "
        f"{attack_p99 / quiet_p99:.2f}x (target <= {ACK_P99_RATIO_TARGET:.0f}x) {verdict[ack_ok]}"
    )
    print(
        f"writes per evaluation of a hostile PR: {writes} / {evaluations} = "
        f"{per_evaluation:.2f} (target <= {WRITES_PER_EVALUATION_TARGET:.0f}) {verdict[writes_ok]}"
    )
    print(f"  writes by operation: {dict(sorted(by_operation.items()))}")
    print(f"every hostile map fails the check: {verdict[failed_ok]}")
    if sim.violations:
        print(f"requests GitHub would refuse: {len(sim.violations)}")
    passed = stall_ok and ack_ok and writes_ok and failed_ok and not sim.violations
    print(f"overall: {verdict[passed]}")
    return 0 if passed else 1


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--witness":
        url, payload_file, seconds, rate = sys.argv[2:6]
        payload = json.loads(Path(payload_file).read_text())
        result = asyncio.run(witness(payload, url, float(seconds), float(rate)))
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="the quiet run's length")
    parser.add_argument("--rate", type=float, default=50.0, help="deliveries per second")
    args = parser.parse_args()
    return asyncio.run(run(args.seconds, args.rate))


if __name__ == "__main__":
    sys.exit(main())
