"""Three replicas, kill -9 every few seconds, Redis restarted once: nothing lost (bot.chaos).

The full run (2,000 deliveries over 200 PRs) is bench/bench_chaos.py; this one is small."""

from __future__ import annotations

import asyncio
from pathlib import Path

from githubsim.simulator import GitHubSimulator
from githubsim.validation import OpenApiRequestValidator, graphql_validator

from bot.chaos import MAP, SECRET, Chaos, seed
from bot.stage import APP_ID, generate_app_key
from tests.replicas.conftest import started_redis


async def test_kills_and_a_redis_restart_lose_nothing(
    reference_dir: Path, rest_validator: OpenApiRequestValidator, tmp_path: Path
) -> None:
    redis = started_redis(tmp_path, persistent=True)
    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(
        app_id=APP_ID,
        app_public_key_pem=public_pem,
        webhook_secret=SECRET,
        request_validator=rest_validator,
        graphql_validator=graphql_validator(reference_dir / "graphql" / "schema.graphql"),
    )
    await sim.start()
    seed(sim)
    bundled = tmp_path / "bundled.yml"
    bundled.write_text(MAP)

    async def restart_redis() -> None:
        redis.stop()
        await asyncio.sleep(0.3)
        redis.start()

    chaos = Chaos(
        sim,
        redis_url=redis.url,
        restart_redis=restart_redis,
        private_key_pem=private_pem,
        bundled_map=bundled,
    )
    try:
        await chaos.start()
        report = await chaos.run(
            prs=20, events_per_pr=10, kill_every_seconds=1.5, converge_seconds=60.0
        )
    finally:
        await chaos.close()
        await sim.close()
        redis.stop()
    assert report.deliveries >= 200
    assert report.kills >= 1
    assert report.redis_restarts == 1
    assert report.wrong_checks == {}, "every PR's final check right"
    assert set(report.statuses) <= {200, 202}, "the door always found a live replica"
    assert report.duplicate_requests == {}, "reviewers asked once"
    assert report.stream_left == 0, "Redis back to its bound: no unfinished entry"
    assert "lease:pr" not in report.other_keys, "no lease left behind"
    assert sim.violations == [], "the bot made requests GitHub would refuse"
