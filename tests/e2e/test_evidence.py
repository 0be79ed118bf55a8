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
            assert (
                "GitHub shows them at Acme (`acme`), an author's company (profile company: Acme)"
                in (summary)
            )
            assert sim.review_requests(REPO, number), "an independent reviewer is asked"
        assert sim.violations == []


async def test_under_block_nobody_is_asked_whose_approval_would_not_count(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory(map_text=MAP + "  evidence: block\n") as stage:
        seed(stage)
        sim = stage.sim
        # Every third-party TSC member's profile shows Acme, the author's company.
        for login in ("gus", "gina", "ivan"):
            sim.set_profile(login, company="Acme")
        number = await sim.open_pull_request(
            REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        await stage.settle()

        run = latest_check(stage, number)
        assert run["conclusion"] == "action_required"
        assert sim.review_requests(REPO, number) == [], "each would be judged conflicted"
        assert "No eligible third-party TSC member is left to ask" in run["output"]["summary"]
        assert count(stage, query="ReviewLoad") == 1, "the profiles come with the load"
        assert sim.violations == []


async def test_under_block_a_company_github_shows_an_author_at_is_avoided(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory(map_text=MAP + "  evidence: block\n") as stage:
        seed(stage)
        sim = stage.sim
        # The map says Alice is at Acme; GitHub shows her at Globex: Gus and Gina would not count.
        sim.set_profile("alice", company="Globex")
        busy = await sim.open_pull_request(REPO, author="carl", title="Docs", files={"d": "x\n"})
        await sim.request_review(REPO, busy, reviewer="ivan", sender="carl")  # Ivan is busier
        number = await sim.open_pull_request(
            REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        await stage.settle()

        assert latest_check(stage, number)["conclusion"] == "action_required"
        assert sim.review_requests(REPO, number) == ["ivan"]


async def test_under_warn_the_map_alone_decides_whom_to_ask(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory(map_text=MAP + "  evidence: warn\n") as stage:
        seed(stage)
        sim = stage.sim
        sim.set_profile("gus", company="Acme")
        sim.set_profile("gina", company="Acme")
        sim.set_profile("ivan", company="Acme")
        number = await sim.open_pull_request(
            REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        await stage.settle()

        assert len(sim.review_requests(REPO, number)) == 1, "warn: the map decides whom to ask"
