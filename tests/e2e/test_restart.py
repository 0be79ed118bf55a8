"""SIGKILL in the middle of a burst, start again: one reconciler cycle repairs every open PR.

The bot runs as `coi-bot serve` in its own process (`BotProcess`); the simulator plays GitHub
in this one. Whatever the killed bot had queued, coalescing or half-written is lost with it; the
new process knows nothing but what GitHub holds.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from githubsim.simulator import GitHubSimulator
from githubsim.validation import OpenApiRequestValidator, graphql_validator

from bot.stage import APP_ID, BotProcess, Stage, generate_app_key
from tests.e2e.conftest import MAP, REPO, seed_simulator

SECRET = "restart-secret"
CONVERGE_SECONDS = 15.0  # a loaded 2-core machine; the cycle itself takes well under a second
# The first bot repairs nothing at start (no PR exists yet); the second runs one cycle at start
# and then none for an hour, so whatever converges was repaired by that single cycle.
MAP_PATH = ".github/affiliations.yml"
ONE_CYCLE = {"COI_RECONCILE_MINUTES": "60", "COI_REDELIVER_MINUTES": "60"}


@pytest.fixture
async def sim(
    reference_dir: Path, rest_validator: OpenApiRequestValidator
) -> AsyncIterator[tuple[GitHubSimulator, str]]:
    private_pem, public_pem = generate_app_key()
    simulator = GitHubSimulator(
        app_id=APP_ID,
        app_public_key_pem=public_pem,
        webhook_secret=SECRET,
        request_validator=rest_validator,
        graphql_validator=graphql_validator(reference_dir / "graphql" / "schema.graphql"),
    )
    await simulator.start()
    seed_simulator(simulator)
    try:
        yield simulator, private_pem
        assert simulator.violations == [], "the bot made requests GitHub would refuse"
    finally:
        await simulator.close()


def bot(sim: GitHubSimulator, private_pem: str, bundled: Path) -> BotProcess:
    return BotProcess(
        sim, private_key_pem=private_pem, webhook_secret=SECRET, bundled_map=bundled, env=ONE_CYCLE
    )


def judged(sim: GitHubSimulator, number: int) -> str | None:
    """The conclusion on the PR's current head (its status, `in_progress`, while a major change
    waits for an approval), None while it has no run."""
    runs = sim.check_runs(REPO, sim.head_sha(REPO, number))
    return (runs[-1]["conclusion"] or runs[-1]["status"]) if runs else None


async def metric(url: str, name: str) -> float:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


async def cycles_done(process: BotProcess, cycles: int) -> None:
    deadline = time.monotonic() + CONVERGE_SECONDS
    while await metric(process.url, "coi_reconcile_cycles_total") < cycles:
        assert time.monotonic() < deadline, "no reconciler cycle completed"
        await asyncio.sleep(0.05)


async def test_sigkill_mid_burst_then_one_reconciler_cycle_repairs_every_open_pr(
    sim: tuple[GitHubSimulator, str], tmp_path: Path
) -> None:
    simulator, private_pem = sim
    bundled = tmp_path / "bundled.yml"
    bundled.write_text(MAP)
    first = bot(simulator, private_pem, bundled)
    await first.start()
    try:
        await cycles_done(first, 1)  # the start cycle found nothing: no PR exists yet
        expected: dict[int, str] = {}
        simulator.webhook_url = None  # PRs exist before the burst; the bot hears of them in it
        for index in range(12):
            if index % 2 == 0:  # Acme author, Acme approval on a major path: needs a third party
                number = await simulator.open_pull_request(
                    REPO, author="alice", title=f"core {index}", files={f"core/{index}.py": "x\n"}
                )
                await simulator.submit_review(REPO, number, reviewer="anna")
                expected[number] = "action_required"
            else:
                number = await simulator.open_pull_request(
                    REPO, author="gus", title=f"docs {index}", files={f"docs/{index}.md": "x\n"}
                )
                expected[number] = "success"
        simulator.webhook_url = f"{first.url}/webhook"
        numbers = sorted(expected)
        early, late, silent = numbers[:6], numbers[6:10], numbers[10:]
        # The burst: several events per early PR; once the bot has written one check, a last
        # wave for PRs it has not heard of, which dies coalescing with the process.
        deadline = time.monotonic() + CONVERGE_SECONDS
        wave = 0
        while not any(judged(simulator, n) for n in early):
            assert time.monotonic() < deadline, "the first bot judged nothing"
            wave += 1
            await asyncio.gather(
                *(simulator.set_labels(REPO, n, [f"wave-{wave}"], sender="alice") for n in early)
            )
        await asyncio.gather(*(simulator.set_labels(REPO, n, ["late"], sender="gus") for n in late))
        await first.kill()
    finally:
        await first.kill()
    assert not all(judged(simulator, n) for n in numbers), "the kill came after the burst"
    # Evaluated at once, a late PR may be judged before the kill lands; the silent ones never are.
    unjudged = [n for n in late + silent if judged(simulator, n) is None]
    assert set(silent) <= set(unjudged)
    simulator.webhook_url = None
    # While no bot runs: a new commit on a judged PR leaves its check on an older head.
    await simulator.push_commits(REPO, early[0], author="alice", files={"core/0.py": "y\n"})
    assert judged(simulator, early[0]) is None

    second = bot(simulator, private_pem, bundled)
    await second.start()
    try:
        deadline = time.monotonic() + CONVERGE_SECONDS
        while {n: judged(simulator, n) for n in numbers} != expected:
            assert time.monotonic() < deadline, {n: judged(simulator, n) for n in numbers}
            await asyncio.sleep(0.05)
        # The cycle ends after its repairs are queued (it reads each repository's issue votes
        # too), so the repairs may land before it counts itself.
        await cycles_done(second, 1)
        assert await metric(second.url, "coi_reconcile_cycles_total") == 1
        assert await metric(second.url, "coi_reconcile_repairs_total") >= len(unjudged) + 1
    finally:
        await second.stop()

    requests = Counter(
        call.path
        for call in simulator.calls
        if call.operation_id == "pulls/request-reviewers" and call.status < 300
    )
    for number in numbers:
        wanted = 1 if expected[number] == "action_required" else 0
        assert len(simulator.review_requests(REPO, number)) == wanted, number
        asked = sum(
            n for path, n in requests.items() if path.endswith(f"/{number}/requested_reviewers")
        )
        assert asked == wanted, f"#{number}: asked {asked} times"
        runs = simulator.check_runs(REPO, simulator.head_sha(REPO, number))
        assert len(runs) == 1, f"#{number}: one run on the head"


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + CONVERGE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_a_review_acknowledged_by_a_killed_bot_is_judged_by_the_cycle_at_start(
    sim: tuple[GitHubSimulator, str], tmp_path: Path
) -> None:
    simulator, private_pem = sim
    bundled = tmp_path / "bundled.yml"
    bundled.write_text(MAP)
    first = bot(simulator, private_pem, bundled)
    await first.start()
    try:
        simulator.webhook_url = f"{first.url}/webhook"
        number = await simulator.open_pull_request(
            REPO, author="alice", title="core", files={"core/x.py": "x\n"}
        )
        await until(
            lambda: judged(simulator, number) == "in_progress", "the first bot judged nothing"
        )
        # The review's delivery is acknowledged and lost with the process: GitHub saw a success.
        simulator.webhook_url = None
        await asyncio.sleep(1.05)  # GitHub keeps whole seconds: the review lands after the check
        await simulator.submit_review(REPO, number, reviewer="anna")
    finally:
        await first.kill()
    assert judged(simulator, number) == "in_progress", "still waiting: it fails closed"

    second = bot(simulator, private_pem, bundled)
    await second.start()
    try:
        await until(
            lambda: judged(simulator, number) == "action_required", "the change was not repaired"
        )
        # The cycle ends after its repairs are queued (it reads each repository's issue votes
        # too), so the repairs may land before it counts itself.
        await cycles_done(second, 1)
        assert await metric(second.url, "coi_reconcile_cycles_total") == 1
        assert await metric(second.url, 'coi_reconcile_repairs_total{reason="changed"}') == 1
    finally:
        await second.stop()
    assert len(simulator.check_runs(REPO, simulator.head_sha(REPO, number))) == 1


# -- one run per check name ------------------------------------------------------------------

CUSTOM_NAME = "Independent review"
# `accept`: the renaming pushes below take effect at once (README, "The map is the root of trust").
CUSTOM_MAP = MAP + f"  check_name: {CUSTOM_NAME}\n  unreviewed_map: accept\n"


def runs_by_name(sim: GitHubSimulator, number: int) -> Counter[str]:
    return Counter(run["name"] for run in sim.check_runs(REPO, sim.head_sha(REPO, number)))


async def test_a_custom_check_name_keeps_one_run_across_a_restart(
    sim: tuple[GitHubSimulator, str], tmp_path: Path
) -> None:
    simulator, private_pem = sim
    bundled = tmp_path / "bundled.yml"
    bundled.write_text(CUSTOM_MAP)
    first = bot(simulator, private_pem, bundled)
    await first.start()
    try:
        simulator.webhook_url = f"{first.url}/webhook"
        number = await simulator.open_pull_request(
            REPO, author="alice", title="core", files={"core/x.py": "x\n"}
        )
        await until(
            lambda: judged(simulator, number) == "in_progress", "the first bot judged nothing"
        )
    finally:
        await first.kill()
    assert runs_by_name(simulator, number) == {CUSTOM_NAME: 1}
    [created] = simulator.check_runs(REPO, simulator.head_sha(REPO, number))

    second = bot(simulator, private_pem, bundled)  # knows nothing of the run the first created
    await second.start()
    try:
        simulator.webhook_url = f"{second.url}/webhook"
        await simulator.submit_review(REPO, number, reviewer="anna")
        await until(
            lambda: judged(simulator, number) == "action_required", "the review was not judged"
        )
    finally:
        await second.stop()
    assert runs_by_name(simulator, number) == {CUSTOM_NAME: 1}, "one run of the name, updated"
    [updated] = simulator.check_runs(REPO, simulator.head_sha(REPO, number))
    assert updated["id"] == created["id"]


async def test_a_check_renamed_between_evaluations_never_has_two_runs_of_one_name(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed_simulator(stage.sim, repo_files={MAP_PATH: CUSTOM_MAP})
        number = await stage.sim.open_pull_request(
            REPO, author="alice", title="core", files={"core/x.py": "x\n"}
        )
        await stage.settle()
        assert runs_by_name(stage.sim, number) == {CUSTOM_NAME: 1}

        renamed = CUSTOM_MAP.replace(CUSTOM_NAME, "Company review")
        await stage.sim.push_to_branch(REPO, "main", {MAP_PATH: renamed})
        await stage.settle()
        await stage.sim.submit_review(REPO, number, reviewer="anna")
        await stage.settle()
        await stage.sim.set_labels(REPO, number, ["again"], sender="gus")
        await stage.settle()
        # GitHub cannot delete a run: the old name keeps its one run, the new name gets one.
        assert runs_by_name(stage.sim, number) == {CUSTOM_NAME: 1, "Company review": 1}
        by_name = {
            run["name"]: run for run in stage.sim.check_runs(REPO, stage.sim.head_sha(REPO, number))
        }
        assert by_name["Company review"]["conclusion"] == "action_required"

        await stage.sim.push_to_branch(REPO, "main", {MAP_PATH: CUSTOM_MAP})  # and back
        await stage.settle()
        await stage.sim.set_labels(REPO, number, [], sender="gus")
        await stage.settle()
        assert runs_by_name(stage.sim, number) == {CUSTOM_NAME: 1, "Company review": 1}
        assert by_name["Company review"]["id"] != by_name[CUSTOM_NAME]["id"]
        assert judged_named(stage.sim, number, CUSTOM_NAME) == "action_required"
        assert stage.sim.violations == []


def judged_named(sim: GitHubSimulator, number: int, name: str) -> str | None:
    [run] = [r for r in sim.check_runs(REPO, sim.head_sha(REPO, number)) if r["name"] == name]
    conclusion: str | None = run["conclusion"]
    return conclusion
