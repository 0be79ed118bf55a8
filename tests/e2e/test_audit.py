"""`coi-bot audit` against the simulator over HTTP: collaborators, profiles, organizations and
commit emails checked against the map; every request validated against GitHub's descriptions,
nothing written; the suggested patch, applied, leaves nothing above info."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from githubsim.validation import OpenApiRequestValidator

from bot.affiliations.loader import load_map_text
from bot.audit import AuditMapInvalid, audit_command
from bot.dryrun import CheckError
from githubsim import GitHubSimulator
from tests.e2e.conftest import Clock
from tests.e2e.test_check_report import mint_token, started_simulator, writes

OWNER, NAME = "acme", "widgets"
REPO = f"{OWNER}/{NAME}"
MAP_PATH = ".github/affiliations.yml"

AUDIT_MAP = """\
version: 1
companies:
  acme: {name: Acme, domains: [acme.example], github_orgs: [acme-corp]}
  globex: {name: Globex, domains: [globex.example]}
  initech: {name: Initech}
# The project's people.
people:
  alice: {role: maintainer, affiliations: [{company: acme}]}
  gus:  # Globex, says the TSC
    role: maintainer
    affiliations:
      - {company: globex, from: 2020-01-01}
  ivan: {role: maintainer}
  carl: {role: contributor, affiliations: [{company: acme}]}
  ghost-user: {role: contributor}

# Whatever the TSC decides.
policy:
  protected_companies: 2
"""


@pytest.fixture
async def sim(
    app_private_key_pem: str,
    rest_validator: OpenApiRequestValidator,
    reference_dir: Path,
    clock: Clock,
) -> AsyncIterator[GitHubSimulator]:
    simulator = await started_simulator(app_private_key_pem, rest_validator, reference_dir, clock)
    simulator.add_org(OWNER)  # an organization's repository: its owner is no collaborator
    simulator.add_user("alice", email="alice@acme.example")
    simulator.add_user("gus", email="gus@acme.example")  # commits as Acme: the map says Globex
    simulator.add_user("ivan", company="Initech")
    simulator.add_user("carl", email="carl@gmail.com")
    simulator.add_user("dora")
    simulator.set_profile("dora", organizations=["acme-corp"])
    simulator.add_user("renovate[bot]", bot=True)
    simulator.add_repo(OWNER, NAME, files={MAP_PATH: AUDIT_MAP, "README.md": "widgets\n"})
    for login, level in (
        ("alice", "admin"),
        ("gus", "write"),
        ("ivan", "write"),
        ("carl", "write"),
        ("dora", "maintain"),
        ("renovate[bot]", "write"),
    ):
        simulator.set_permission(REPO, login, level)
    yield simulator
    await simulator.close()
    assert simulator.violations == [], "requests GitHub would refuse were made"


async def run_audit(
    sim: GitHubSimulator,
    env: dict[str, str],
    *,
    as_json: bool = False,
    suggest: bool = False,
    map_file: Path | None = None,
    repository: str = REPO,
    history: bool = False,
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = await audit_command(
        repository,
        urls=(sim.url, sim.graphql_url),
        since_days=90,
        map_file=map_file,
        as_json=as_json,
        suggest=suggest,
        map_path=MAP_PATH,
        bundled_map=Path("config/affiliations.yml"),
        history=history,
        environ=env,
        out=out,
        err=err,
    )
    return status, out.getvalue(), err.getvalue()


async def test_audit_finds_access_outside_the_tsc_and_evidence_against_the_map(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    await sim.open_pull_request(REPO, author="gus", title="Tidy", files={"a.py": "a\n"})
    token = await mint_token(sim, app_private_key_pem)

    status, text, _ = await run_audit(sim, {"GITHUB_TOKEN": token}, as_json=True)

    report = json.loads(text)
    assert status == 1
    found = {(f["severity"], f["rule"], f["person"]) for f in report["findings"]}
    assert found == {
        ("error", "access-not-in-map", "dora"),
        ("error", "tsc-without-company", "ivan"),
        ("warning", "access-without-tsc-role", "carl"),
        ("warning", "affiliation-contradicted", "gus"),
        # The map binds nobody to an account yet: `--suggest` fills each id GitHub shows.
        ("info", "id-missing", "alice"),
        ("info", "id-missing", "gus"),
        ("info", "id-missing", "ivan"),
        ("info", "id-missing", "carl"),
    }
    assert report["counts"] == {"error": 2, "warning": 2, "info": 4}
    assert report["read"]["unknown_accounts"] == ["ghost-user"]
    assert report["read"]["pull_requests"] == 1
    assert {c["login"]: c["permission"] for c in report["read"]["collaborators"]} == {
        "alice": "admin",
        "carl": "write",
        "dora": "maintain",
        "gus": "write",
        "ivan": "write",
    }
    ids = {f["person"]: f["edits"] for f in report["findings"] if f["rule"] == "id-missing"}
    assert ids["alice"] == [
        {"op": "set", "path": ["people", "alice", "id"], "value": sim.users["alice"].id}
    ]
    by_person = {f["person"]: f for f in report["findings"] if f["rule"] != "id-missing"}
    dora = by_person["dora"]
    assert [e["kind"] for e in dora["evidence"]] == ["access", "org_member"]
    assert dora["evidence"][1]["url"].endswith("/acme-corp")
    assert dora["edits"][0]["value"]["affiliations"][0]["company"] == "acme"
    gus = by_person["gus"]
    assert gus["evidence"][0]["value"] == "gus@acme.example"
    assert "/commit/" in gus["evidence"][0]["url"]
    assert by_person["ivan"]["message"].endswith("GitHub shows Initech")
    assert by_person["ivan"]["evidence"][0]["url"].endswith("/ivan")
    assert report["map"]["source"] == "repository"
    assert report["patch"] is None
    assert writes(sim) == []
    # One page of collaborators, one repository read, one map read, one query each for
    # profiles and pull requests: the budget of a small project.
    graphql = [call.query_name for call in sim.calls if call.kind == "graphql"]
    assert Counter(graphql) == Counter(["AuditPeople", "AuditPullRequests"])


async def test_the_suggested_patch_applies_and_settles_every_finding(
    sim: GitHubSimulator, app_private_key_pem: str, tmp_path: Path
) -> None:
    await sim.open_pull_request(REPO, author="gus", title="Tidy", files={"a.py": "a\n"})
    token = await mint_token(sim, app_private_key_pem)

    status, text, _ = await run_audit(sim, {"GITHUB_TOKEN": token}, suggest=True)

    assert status == 1
    assert text.index("ERRORS (2)") < text.index("WARNINGS (2)")
    assert "every suggested change together (git apply):" in text
    patch = text.split("every suggested change together (git apply):\n", 1)[1]
    assert "\n-  ghost-user" not in patch  # lines no finding touches are left as they are
    alice = sim.users["alice"].id
    assert (
        f"+  alice: {{role: maintainer, affiliations: [{{company: acme}}], id: {alice}}}" in patch
    )
    (tmp_path / ".github").mkdir()
    repaired = tmp_path / MAP_PATH
    repaired.write_text(AUDIT_MAP)
    await asyncio.to_thread(
        subprocess.run, ["git", "apply", "-"], input=patch, text=True, cwd=tmp_path, check=True
    )
    fixed = repaired.read_text()
    document = load_map_text(fixed, path=MAP_PATH).document
    assert document is not None
    assert document.people["gus"].id == sim.users["gus"].id
    assert "# The project's people." in fixed
    assert "  gus:  # Globex, says the TSC\n" in fixed
    assert "\n# Whatever the TSC decides.\npolicy:" in fixed

    status, text, _ = await run_audit(sim, {"GITHUB_TOKEN": token}, map_file=repaired)

    assert status == 0, text
    assert "no findings" in text
    assert f"map: {repaired} (given with --map)" in text


async def test_a_map_that_names_nobody_wrongly_passes(
    sim: GitHubSimulator, app_private_key_pem: str, tmp_path: Path
) -> None:
    clean = tmp_path / "clean.yml"
    alice, gus = sim.users["alice"].id, sim.users["gus"].id
    clean.write_text(
        "version: 1\ncompanies:\n  acme: {name: Acme}\n  globex: {name: Globex}\n"
        f"people:\n  alice: {{id: {alice}, role: maintainer, affiliations: [{{company: acme}}]}}\n"
        f"  gus: {{id: {gus}, role: maintainer, affiliations: [{{company: globex}}]}}\n"
    )
    for login in ("ivan", "carl", "dora"):
        sim.set_permission(REPO, login, "triage")
    token = await mint_token(sim, app_private_key_pem)

    status, text, _ = await run_audit(sim, {"GITHUB_TOKEN": token}, map_file=clean)

    assert (status, text.splitlines()[-1]) == (0, "no findings")


async def test_an_unknown_repository_and_an_invalid_map_cannot_be_audited(
    sim: GitHubSimulator, app_private_key_pem: str, tmp_path: Path
) -> None:
    token = await mint_token(sim, app_private_key_pem)
    with pytest.raises(CheckError, match=r"404|[Nn]ot [Ff]ound"):
        await run_audit(sim, {"GITHUB_TOKEN": token}, repository="acme/nothing")
    sim.add_repo(OWNER, "broken", files={MAP_PATH: "version: 1\npeople:\n  x: {role: nope}\n"})
    with pytest.raises(AuditMapInvalid) as invalid:
        await run_audit(sim, {"GITHUB_TOKEN": token}, repository=f"{OWNER}/broken")
    assert "unknown role 'nope'" in str(invalid.value.errors[0])


async def test_without_a_map_in_the_repository_the_bundled_one_is_audited(
    sim: GitHubSimulator, app_private_key_pem: str, tmp_path: Path
) -> None:
    sim.add_repo(OWNER, "bare", files={"README.md": "no map here\n"})
    sim.set_permission(f"{OWNER}/bare", "dora", "write")
    bundled = tmp_path / "bundled.yml"
    bundled.write_text(AUDIT_MAP)
    token = await mint_token(sim, app_private_key_pem)
    out = io.StringIO()

    status = await audit_command(
        f"{OWNER}/bare",
        urls=(sim.url, sim.graphql_url),
        since_days=7,
        map_file=None,
        as_json=True,
        suggest=True,
        map_path=MAP_PATH,
        bundled_map=bundled,
        environ={"GITHUB_TOKEN": token},
        out=out,
        err=io.StringIO(),
    )

    report = json.loads(out.getvalue())
    assert status == 1
    assert report["map"]["source"] == "bundled"
    dora = next(f for f in report["findings"] if f["person"] == "dora")
    assert "+  dora:\n" in dora["diff"]
    assert report["patch"].count("+  dora:\n") == 1


async def passing_check(sim: GitHubSimulator, token: str, head_sha: str) -> None:
    """The App's `COI review` on a PR's head, as the bot writes it."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{sim.url}/repos/{REPO}/check-runs",
            json={"name": "COI review", "head_sha": head_sha, "conclusion": "success"},
            headers={
                "Authorization": f"token {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        ) as response,
    ):
        assert response.status == 201


async def test_history_says_how_every_change_of_the_map_landed(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    token = await mint_token(sim, app_private_key_pem)
    reviewed_map = AUDIT_MAP.replace(
        "  ivan: {role: maintainer}",
        "  ivan: {role: maintainer, affiliations: [{company: initech}]}",
    )
    number = await sim.open_pull_request(
        REPO, author="carl", title="Ivan's company", files={MAP_PATH: reviewed_map}
    )
    await sim.submit_review(REPO, number, reviewer="gus")
    await passing_check(sim, token, sim.head_sha(REPO, number))
    await sim.close_pull_request(REPO, number, merge=True, sender="gus")
    pushed_map = reviewed_map.replace(
        "  carl: {role: contributor, affiliations: [{company: acme}]}",
        "  carl: {role: maintainer, affiliations: [{company: globex}]}",
    )
    pushed = await sim.push_to_branch(REPO, "main", {MAP_PATH: pushed_map}, author="alice")
    sim.reset_calls()

    status, text, _ = await run_audit(sim, {"GITHUB_TOKEN": token}, as_json=True, history=True)
    report = json.loads(text)
    assert status == 1
    history = report["history"]
    assert [(h["reviewed"], h["how"]) for h in history] == [
        (False, "direct push: a commit by @alice (Acme)"),
        (True, f"reviewed in #{number}: approvals from Globex"),
        (True, "first version (bootstrap)"),
    ]
    assert history[0]["commit"] == pushed
    assert history[0]["changes"]["people_moved"] == ["carl"]
    assert history[0]["changes"]["roles_changed"] == ["carl"]
    assert history[1]["pull_request"] == {
        "number": number,
        "merged_by": "gus",
        "check": "success",
        "approvers": ["gus"],
    }
    assert history[1]["changes"]["people_moved"] == ["ivan"]
    unreviewed = [f for f in report["findings"] if f["rule"] == "map-change-unreviewed"]
    assert len(unreviewed) == 1
    assert unreviewed[0]["severity"] == "error"
    assert unreviewed[0]["person"] == "alice"
    assert unreviewed[0]["evidence"][0]["url"].endswith(f"/commit/{pushed}")
    # One history read for the map (the protected files are the map here), one text per version.
    graphql = Counter(call.query_name for call in sim.calls if call.kind == "graphql")
    assert graphql["MapHistory"] == 1
    assert graphql["MapAtCommit"] == 3

    status, text, _ = await run_audit(sim, {"GITHUB_TOKEN": token}, history=True)
    assert status == 1
    assert "HISTORY (3 changes since" in text
    assert f"{pushed[:7]} {MAP_PATH}: NOT REVIEWED" in text
    assert "    - affiliations changed: `carl`" in text
    assert "without independent review: direct push" in text
    assert writes(sim) == []


async def test_without_history_nothing_of_it_is_read_or_shown(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    token = await mint_token(sim, app_private_key_pem)
    await sim.push_to_branch(REPO, "main", {MAP_PATH: AUDIT_MAP + "bots: []\n"}, author="alice")
    _, text, _ = await run_audit(sim, {"GITHUB_TOKEN": token}, as_json=True)
    report = json.loads(text)
    assert report["history"] is None
    assert not [f for f in report["findings"] if f["rule"].endswith("-unreviewed")]
    assert not [call for call in sim.calls if call.query_name == "MapHistory"]


async def test_history_of_the_owners_map_when_it_is_the_one_in_force(
    sim: GitHubSimulator, app_private_key_pem: str
) -> None:
    sim.add_repo(OWNER, "bare", files={"README.md": "no map here\n"})
    sim.add_repo(OWNER, ".github", files={MAP_PATH: AUDIT_MAP})
    pushed = await sim.push_to_branch(
        f"{OWNER}/.github", "main", {MAP_PATH: AUDIT_MAP + "bots: []\n"}, author="alice"
    )
    token = await mint_token(sim, app_private_key_pem)

    status, text, _ = await run_audit(
        sim, {"GITHUB_TOKEN": token}, as_json=True, repository=f"{OWNER}/bare", history=True
    )

    report = json.loads(text)
    assert status == 1
    assert report["map"]["source"] == "owner"
    shown = f"{OWNER}/.github:{MAP_PATH}"
    assert [(h["path"], h["reviewed"]) for h in report["history"]] == [
        (shown, False),
        (shown, True),
    ]
    assert report["history"][0]["commit"] == pushed
    (finding,) = [f for f in report["findings"] if f["rule"] == "map-change-unreviewed"]
    assert finding["message"].startswith(f"{shown} changed in {pushed[:7]}")


async def test_a_renamed_member_and_their_reused_login_are_told_apart_by_id(
    sim: GitHubSimulator, app_private_key_pem: str, tmp_path: Path
) -> None:
    gus = sim.users["gus"].id
    sim.rename_user("gus", "gustav")  # keeps write access: the account is the same
    newcomer = sim.add_user("gus")
    bound = tmp_path / "bound.yml"
    bound.write_text(
        "version: 1\ncompanies:\n  globex: {name: Globex}\n"
        f"people:\n  gus: {{id: {gus}, role: maintainer, affiliations: [{{company: globex}}]}}\n"
    )
    token = await mint_token(sim, app_private_key_pem)

    status, text, _ = await run_audit(sim, {"GITHUB_TOKEN": token}, map_file=bound, as_json=True)

    assert status == 1
    found = {f["rule"]: f for f in json.loads(text)["findings"] if f["person"] == "gus"}
    assert "is now @gustav" in found["login-renamed"]["message"]
    assert found["login-renamed"]["fix"] == "rename `people.gus` to `gustav`"
    assert f"@gus is GitHub account {newcomer.id}" in found["login-reused"]["message"]
    rules = {(f["rule"], f["person"]) for f in json.loads(text)["findings"]}
    assert ("access-not-in-map", "gustav") not in rules
