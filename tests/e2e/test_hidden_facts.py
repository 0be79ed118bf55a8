"""Facts a conflicted author could hide from the check, end to end on the simulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.affiliations.model import DEFAULT_CHECK_NAME
from bot.policy.markdown import text
from bot.stage import APP_ID, Stage
from tests.e2e.conftest import MAP, REPO, count, latest_check, seed

MAP_PATH = ".github/affiliations.yml"


async def test_a_push_after_an_independent_approval_asks_for_it_again_once(stage: Stage) -> None:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Small fix", files={"core/engine.py": "x = 1\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")  # Acme: the author's company
    await sim.submit_review(REPO, number, reviewer="gus")  # Globex: independent
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"
    approved = sim.head_sha(REPO, number)

    # The author pushes a big change after the independent approval.
    await sim.push_commits(REPO, number, author="alice", files={"core/engine.py": "x = 2\n" * 600})
    await stage.settle()
    run = latest_check(stage, number)
    summary = run["output"]["summary"]
    assert run["conclusion"] == "action_required", summary
    assert f"(approved {approved[:7]}, 1 commit ago)" in summary
    assert "approved an older head: not what is merged (`stale_approvals: ignore`)" in summary
    assert sim.review_requests(REPO, number) == ["gus"], "the stale approver is asked again"
    assert count(stage, operation="pulls/request-reviewers") == 1

    # Gus comments on the new head without approving: the request is answered, never repeated.
    sim.reset_calls()
    await sim.submit_review(REPO, number, reviewer="gus", state="COMMENTED")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "action_required"
    requested = sim.review_requests(REPO, number)
    assert "gus" not in requested, "gus was asked once for this head"
    assert count(stage, operation="pulls/request-reviewers") == 1  # a third party instead
    assert requested
    assert requested[0] in ("ivan", "gina")
    assert requested[0] != "gus"

    sim.reset_calls()
    await sim.submit_review(REPO, number, reviewer="gus")
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"


async def test_a_stale_same_company_approval_still_asks_for_independent_review(
    stage: Stage,
) -> None:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Docs", files={"docs/a.md": "a\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")  # Acme, on a minor change
    await stage.settle()
    assert latest_check(stage, number)["conclusion"] == "success"
    await sim.push_commits(REPO, number, author="alice", files={"core/engine.py": "x = 1\n"})
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required", run["output"]["summary"]
    assert "@anna, not independent of the authors" in run["output"]["summary"]
    assert sim.review_requests(REPO, number), "a third-party reviewer is asked"
    assert "anna" not in sim.review_requests(REPO, number)


@pytest.mark.parametrize("configured_id", ["numeric", "client id"])
async def test_a_workflow_run_named_like_the_check_never_counts_nor_is_written(
    stage_factory: Callable[..., Stage], configured_id: str
) -> None:
    client_id = f"Iv1.{APP_ID:016x}"  # the simulator's client ID for the App
    app_id = str(APP_ID) if configured_id == "numeric" else client_id
    async with stage_factory(settings_options={"app_id": app_id}) as stage:
        seed(stage)
        sim = stage.sim
        assert sim.client_id == client_id
        assert count(stage, operation="apps/get-authenticated") == 1, "asked once, at start"
        url, sim.webhook_url = sim.webhook_url, None  # the bot hears nothing yet
        number = await sim.open_pull_request(
            REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
        )
        head = sim.head_sha(REPO, number)
        # A workflow job named like the App's check, passing, before the App ever wrote.
        foreign = sim.add_foreign_check_run(REPO, head, name=DEFAULT_CHECK_NAME)
        sim.webhook_url = url
        await sim.submit_review(REPO, number, reviewer="anna")  # Acme, like the author
        await stage.settle()
        runs = {run["id"]: run for run in sim.check_runs(REPO, head)}
        assert runs[foreign]["conclusion"] == "success", "the workflow's run is never written"
        assert runs[foreign]["app"]["id"] == 15368
        (own,) = [run for run in runs.values() if run["app"]["id"] == APP_ID]
        assert own["name"] == DEFAULT_CHECK_NAME
        assert own["conclusion"] == "action_required"
        assert count(stage, operation="checks/create") == 1
        assert [c for c in sim.calls if c.status == 403] == [], "no 403 on another App's run"
        # Evaluated again: the App's own run is found and updated, the workflow's never.
        await sim.post_comment(REPO, number, author="gus", body="/coi recheck")
        await stage.settle()
        assert count(stage, operation="checks/create") == 1
        assert sim.check_run_store[foreign].conclusion == "success"
        assert sim.check_run_store[foreign].external_id is None
        assert count(stage, operation="apps/get-authenticated") == 1, "the id is asked once"
        assert sim.violations == []


async def test_commits_past_the_listing_cap_hide_authors_and_need_independent_review(
    stage: Stage,
) -> None:
    sim = stage.sim
    url, sim.webhook_url = sim.webhook_url, None  # 251 pushes, judged once at the end
    number = await sim.open_pull_request(
        REPO, author="alice", title="Long branch", files={"core/engine.py": "x = 0\n"}
    )
    for step in range(1, 251):
        await sim.push_commits(
            REPO, number, author="alice", files={"core/engine.py": f"x = {step}\n"}
        )
    # The last commit comes from an account the bot cannot see past GitHub's cap.
    await sim.push_commits(REPO, number, author="carl", files={"core/other.py": "y = 1\n"})
    sim.webhook_url = url
    sim.reset_calls()
    await sim.submit_review(REPO, number, reviewer="ivan")  # Initech: outside the known authors
    await stage.settle()
    run = latest_check(stage, number)
    summary = run["output"]["summary"]
    assert run["conclusion"] == "success", summary
    assert "only 250 of 252 commits could be read" in summary
    assert count(stage, query="CommitsPage") == 2, "three pages of commits, never more"

    # Without that approval, the change needs one, though no approval is from the authors' side.
    review_id = sim.pull(REPO, number).reviews[-1].id
    await sim.dismiss_review(REPO, number, review_id, sender="gus", message="outdated")
    await stage.settle()
    run = latest_check(stage, number)
    assert run["conclusion"] == "action_required", run["output"]["summary"]
    assert "outside the known authors' companies; 0 of 1 so far" in run["output"]["summary"]
    assert sim.review_requests(REPO, number), "a third-party reviewer is asked"


async def test_a_rename_is_judged_under_both_names(stage_factory: Callable[..., Stage]) -> None:
    engine = "def run():\n    return 1\n" * 5
    async with stage_factory() as stage:
        seed(
            stage,
            repo_files={"README.md": "widgets\n", MAP_PATH: MAP, "core/engine.py": engine},
        )
        sim = stage.sim
        plain = await sim.open_pull_request(
            REPO, author="alice", title="Docs", files={"docs/a.md": "a\n"}
        )
        await stage.settle()
        assert count(stage, operation="pulls/list-files") == 0, "no rename: no extra request"
        assert latest_check(stage, plain)["conclusion"] == "success"

        # `git mv .github/affiliations.yml docs/x.yml`: out of the map path, into nothing major.
        moved_map = await sim.open_pull_request(
            REPO, author="alice", title="Tidy", files={MAP_PATH: None, "docs/x.yml": MAP}
        )
        # `git mv core/engine.py attic/engine.py`, approved by the author's colleague.
        moved_core = await sim.open_pull_request(
            REPO,
            author="alice",
            title="Move",
            files={"core/engine.py": None, "attic/engine.py": engine + "# moved\n"},
        )
        await sim.submit_review(REPO, moved_core, reviewer="anna")
        await stage.settle()

        run = latest_check(stage, moved_map)
        summary = run["output"]["summary"]
        assert run["conclusion"] == "action_required", summary
        assert f"protected files changed (`{MAP_PATH} → docs/x.yml`)" in summary
        run = latest_check(stage, moved_core)
        summary = run["output"]["summary"]
        assert run["conclusion"] == "action_required", summary
        assert "path rule `core/**` matches 1 file: `core/engine.py → attic/engine.py`" in summary
        assert count(stage, operation="pulls/list-files") >= 2
        assert sim.violations == []


# Acme's email domain is known; kami and m4dcoder sit on the TSC with no company on record.
EVIDENCE_MAP = (
    MAP.replace("  acme: {name: Acme}", "  acme: {name: Acme, domains: [acme.example]}")
    .replace(
        "  initech: {name: Initech}",
        "  initech: {name: Initech}\n"
        "  stackstorm: {name: StackStorm, domains: [stackstorm.example]}",
    )
    .replace(
        "  carl: {role: contributor, affiliations: [{company: acme}]}",
        "  carl: {role: contributor, affiliations: [{company: acme}]}\n"
        "  kami: {role: maintainer}\n  m4dcoder: {role: maintainer}",
    )
    + "  require: always\n"
)


async def test_companies_github_shows_decide_for_people_the_map_places_nowhere(
    stage_factory: Callable[..., Stage],
) -> None:
    async with stage_factory(map_text=EVIDENCE_MAP) as stage:
        seed(stage)
        sim = stage.sim
        sim.add_user("zed", email="zed@acme.example")  # a second account of an Acme employee
        sim.add_user("kami", email="kami@stackstorm.example")
        sim.add_user("m4dcoder", email="m4d@gmail.com")
        sim.set_profile("m4dcoder", company="StackStorm")
        sim.add_user("pat", email="pat@gmail.com")  # nobody GitHub places anywhere
        for login in ("kami", "m4dcoder"):
            sim.set_permission(REPO, login, "write")

        second = await sim.open_pull_request(
            REPO,
            author="zed",
            title="Rework core",
            files={"core/engine.py": "x = 1\n"},
            commit_author_email="zed@acme.example",
        )
        await sim.submit_review(REPO, second, reviewer="anna")  # Acme
        tsc = await sim.open_pull_request(
            REPO,
            author="kami",
            title="Rework core too",
            files={"core/other.py": "y = 1\n"},
            commit_author_email="kami@stackstorm.example",
        )
        await sim.submit_review(REPO, tsc, reviewer="m4dcoder")
        stranger = await sim.open_pull_request(
            REPO,
            author="pat",
            title="Core, from outside",
            files={"core/third.py": "z = 1\n"},
            commit_author_email="pat@gmail.com",
        )
        await sim.submit_review(REPO, stranger, reviewer="anna")
        await stage.settle()

        run = latest_check(stage, second)
        summary = run["output"]["summary"]
        assert run["conclusion"] == "action_required", summary
        short = sim.head_sha(REPO, second)[:7]
        shown = (
            f"GitHub shows Acme (`acme`) ({text(f'commit {short} authored as zed@acme.example')})"
        )
        assert (
            f"| @zed (not in the map) | opener, commit author | Acme (`acme`); {shown} |" in summary
        )
        assert "same company as the authors, Acme (`acme`)" in summary

        run = latest_check(stage, tsc)
        summary = run["output"]["summary"]
        assert run["conclusion"] == "action_required", summary
        assert (
            "same company as the authors, StackStorm (`stackstorm`): "
            "GitHub shows StackStorm (`stackstorm`) "
            f"({text('profile company: StackStorm')})"
        ) in summary

        run = latest_check(stage, stranger)
        summary = run["output"]["summary"]
        assert "| @pat | opener, commit author | unaffiliated, not in the map |" in summary
        assert run["conclusion"] == "success", summary  # anna is independent of pat
        for number, conflicted in ((second, {"anna", "alice"}), (tsc, {"m4dcoder", "kami"})):
            asked = sim.review_requests(REPO, number)
            assert asked, "an independent reviewer is asked"
            assert not conflicted & set(asked)
        assert sim.violations == []


async def test_an_app_id_unread_at_start_is_read_before_the_first_evaluation(
    stage_factory: Callable[..., Stage],
) -> None:
    stage = stage_factory()
    stage.sim.inject_failure("apps/get-authenticated", status=404, message="Not Found")
    async with stage:
        seed(stage)
        sim = stage.sim
        assert count(stage, operation="apps/get-authenticated") == 1  # refused: logged, not fatal
        number = await sim.open_pull_request(
            REPO, author="alice", title="Docs", files={"docs/a.md": "a\n"}
        )
        await stage.settle()
        assert count(stage, operation="apps/get-authenticated") == 2
        assert latest_check(stage, number)["app"]["id"] == APP_ID


async def test_a_workflow_run_on_a_merge_groups_head_is_not_the_apps(stage: Stage) -> None:
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await sim.submit_review(REPO, number, reviewer="anna")  # Acme: the group must hold
    await stage.settle()
    url, sim.webhook_url = sim.webhook_url, None
    [group] = await sim.enqueue(REPO, [number])
    foreign = sim.add_foreign_check_run(REPO, group.head_sha, name=DEFAULT_CHECK_NAME)
    sim.webhook_url = url
    sim.reset_calls()
    await sim.request_merge_group_checks(group)
    await stage.settle()
    runs = {run["id"]: run for run in sim.check_runs(REPO, group.head_sha)}
    assert runs.pop(foreign)["conclusion"] == "success", "never written"
    [own] = runs.values()
    assert (own["app"]["id"], own["conclusion"]) == (APP_ID, "action_required")
    assert count(stage, operation="checks/create") == 1
    assert count(stage, operation="checks/update") == 0


async def test_the_reconciler_sees_no_check_where_only_a_workflow_run_has_the_name(
    stage: Stage,
) -> None:
    from tests.e2e.test_reconcile import open_unseen, reconciler

    [number] = await open_unseen(stage, 1)
    head = stage.sim.head_sha(REPO, number)
    foreign = stage.sim.add_foreign_check_run(REPO, head, name=DEFAULT_CHECK_NAME)
    report = await reconciler(stage).reconcile_once()
    await stage.settle()
    assert report.queued == {"missing": 1}
    runs = {run["id"]: run for run in stage.sim.check_runs(REPO, head)}
    assert runs.pop(foreign)["conclusion"] == "success"
    [own] = runs.values()
    assert own["app"]["id"] == APP_ID
