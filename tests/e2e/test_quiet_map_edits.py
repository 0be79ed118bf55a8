"""Map edits that look harmless, played as the people they would help, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

from bot.stage import Stage
from tests.e2e.conftest import MAP, REPO, latest_check, seed

MAP_PATH = ".github/affiliations.yml"


async def test_a_lookalike_company_id_in_a_map_pr_fails_at_its_line(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={MAP_PATH: MAP})
        sim = stage.sim
        # Alice moves herself to "Acme", a second company beside "acme": Anna's approval would
        # then count as independent, and the summary would show "Acme" for both.
        edited = MAP.replace(
            "  globex: {name: Globex}\n", "  globex: {name: Globex}\n  Acme: {name: Acme}\n"
        )
        edited = edited.replace(
            "affiliations: [{company: acme}]}\n  anna", "affiliations: [{company: Acme}]}\n  anna"
        )
        number = await sim.open_pull_request(
            REPO, author="alice", title="Tidy the map", files={MAP_PATH: edited}
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        await sim.submit_review(REPO, number, reviewer="gus")
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "failure"
        line = edited.splitlines().index("  Acme: {name: Acme}") + 1
        annotations = run.get("annotations") or []
        assert any(
            a["start_line"] == line and "looks like 'acme' of company 'acme'" in a["message"]
            for a in annotations
        ), annotations
        assert sim.violations == []


async def test_making_the_authors_company_independent_is_their_own_entry(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory() as stage:
        seed(stage, repo_files={MAP_PATH: MAP})
        sim = stage.sim
        # Afterwards every Acme approval of an Acme PR would be independent.
        edited = MAP.replace("acme: {name: Acme}", "acme: {name: Acme, independent: true}")
        number = await sim.open_pull_request(
            REPO, author="alice", title="Acme staff act alone", files={MAP_PATH: edited}
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        await sim.submit_review(REPO, number, reviewer="gus")
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "action_required"
        assert "@anna" in run["output"]["summary"]
        assert "changes their own entry" in run["output"]["summary"]

        await sim.submit_review(REPO, number, reviewer="ivan")
        await stage.settle()
        assert latest_check(stage, number)["conclusion"] == "success"
        assert sim.violations == []


async def test_a_repository_map_added_under_the_bundled_map_is_protected(
    stage_factory: Callable[..., Stage],
) -> None:
    # The bundled map protects only GOVERNANCE.md: the repository has no map of its own yet.
    bundled = MAP.replace(
        "protected_files: [.github/affiliations.yml]", "protected_files: [GOVERNANCE.md]"
    )
    async with stage_factory(map_text=bundled) as stage:
        seed(stage)
        sim = stage.sim
        number = await sim.open_pull_request(
            REPO, author="alice", title="Our own rules", files={MAP_PATH: MAP}
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        await stage.settle()
        run = latest_check(stage, number)
        assert run["conclusion"] == "action_required"
        assert MAP_PATH in run["output"]["summary"]
        assert sim.violations == []


async def test_a_drive_by_approval_changes_nothing(stage: Stage) -> None:
    # On a public repository anyone may approve; without push access it asks nobody.
    sim = stage.sim
    sim.add_user("passerby", email="passerby@example.org")
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await sim.submit_review(REPO, number, reviewer="passerby")
    await stage.settle()
    run = latest_check(stage, number)
    # It neither counts nor conflicts: the change still waits for an approval to judge.
    assert run["status"] == "in_progress"
    assert run["conclusion"] is None
    assert "no write access to the repository" in run["output"]["summary"]
    assert sim.review_requests(REPO, number) == []


async def test_a_tsc_member_who_cannot_push_is_not_independent(stage: Stage) -> None:
    sim = stage.sim
    sim.set_permission(REPO, "gus", "triage")
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required"
    assert "no write access to the repository" in run["output"]["summary"]
