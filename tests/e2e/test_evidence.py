"""Issue 14 end to end: a profile that contradicts the map, read with the one snapshot."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.stage import Stage
from tests.e2e.conftest import MAP, REPO, check_writes, count, latest_check, seed


@pytest.mark.parametrize("evidence", ["warn", "block", "ignore"])
async def test_a_profile_company_that_contradicts_the_map(
    stage_factory: Callable[..., Stage], evidence: str
) -> None:
    async with stage_factory(map_text=MAP + f"  evidence: {evidence}\n") as stage:
        seed(stage)
        sim = stage.sim
        # gus is Globex in the map; his profile says he now works for Acme, like the author.
        sim.set_profile("gus", company="Acme", organizations=["acme-labs"])
        number = await sim.open_pull_request(
            REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
        )
        await stage.settle()
        sim.reset_calls()
        await sim.submit_review(REPO, number, reviewer="gus")
        await stage.settle()
        run = latest_check(stage, number)
        summary = run["output"]["summary"]
        assert count(stage, query="Snapshot") == 1, "profiles come with the one snapshot"
        assert check_writes(stage) <= 1
        if evidence == "ignore":
            assert run["conclusion"] == "success"
            assert "The map may be out of date" not in summary
        else:
            assert "### The map may be out of date" in summary
            assert "| @gus | Globex | profile company: Acme |" in summary
            assert "people.gus.affiliations" in summary
        if evidence == "warn":
            assert run["conclusion"] == "success", "warn: the verdict follows the map"
        if evidence == "block":
            assert run["conclusion"] == "action_required"
            assert "GitHub shows them at Acme, an author's company (profile company: Acme)" in (
                summary
            )
            assert sim.review_requests(REPO, number), "an independent reviewer is asked"
        assert sim.violations == []
