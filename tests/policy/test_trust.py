"""Which map version is in force, and the verdict on a map push: pure, table by table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import load_map_text
from bot.policy.trust import (
    HeldChange,
    LandedPullRequest,
    MapChanges,
    MapCommit,
    MapHistory,
    MapPush,
    bootstrap_commit,
    held_line,
    history_findings,
    how_it_landed,
    in_force_at,
    judge_history,
    judge_map_push,
    map_changes,
    merged_over_check_comment,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = date(2026, 4, 1)
MAP = """\
version: 1
companies:
  acme: {name: Acme}
  globex: {name: Globex}
  initech: {name: Initech}
people:
  alice: {role: maintainer, affiliations: [{company: acme}]}
  gus: {role: maintainer, affiliations: [{company: globex}]}
  ivan: {role: maintainer, affiliations: [{company: initech}]}
"""


def amap(text: str = MAP) -> AffiliationMap:
    loaded = load_map_text(text, path="m.yml")
    assert loaded.map is not None, loaded.errors
    return loaded.map


def reviewed_pr(number: int = 7, check: str | None = "success") -> LandedPullRequest:
    return LandedPullRequest(number, merged_by="gus", check=check, approvers=("gus", "ivan"))


def change(n: int, blob: str | None, *, pr: LandedPullRequest | None = None) -> MapCommit:
    return MapCommit(
        oid=f"{n:040d}",
        url=f"https://github.com/o/r/commit/{n:040d}",
        committed_at=T0 + timedelta(days=n),
        blob_sha=blob,
        author="alice",
        pull_request=pr,
    )


def history(*commits: MapCommit, complete: bool = True, **owner: object) -> MapHistory:
    """Newest first, as GitHub lists them."""
    return MapHistory(tuple(commits), complete, **owner)  # type: ignore[arg-type]


def test_the_newest_version_reviewed_through_a_pr_is_in_force() -> None:
    trust = judge_history(
        history(change(2, "b2", pr=reviewed_pr()), change(1, "b1")), owner_repository=False
    )
    assert trust.trusted is not None
    assert trust.trusted.blob_sha == "b2"
    assert trust.unreviewed is None
    assert trust.reviewed_blobs == {"b2"}


def test_a_direct_push_is_unreviewed_and_the_last_reviewed_version_trusted() -> None:
    pushed = change(3, "b3")
    trust = judge_history(
        history(pushed, change(2, "b2", pr=reviewed_pr()), change(1, "b1")),
        owner_repository=False,
    )
    assert trust.unreviewed == pushed
    assert trust.trusted is not None
    assert trust.trusted.blob_sha == "b2"


@pytest.mark.parametrize("check", ["action_required", "failure", "neutral", None])
def test_a_merge_over_a_check_that_did_not_pass_is_unreviewed(check: str | None) -> None:
    merged = change(2, "b2", pr=reviewed_pr(check=check))
    trust = judge_history(history(merged, change(1, "b1")), owner_repository=False)
    assert trust.unreviewed == merged
    assert trust.trusted is not None
    assert trust.trusted.blob_sha == "b1", "the first version, a bootstrap"
    assert trust.reviewed_blobs == frozenset()


def test_a_restored_reviewed_blob_ends_the_hold() -> None:
    trust = judge_history(
        history(change(3, "b1"), change(2, "b2"), change(1, "b1", pr=reviewed_pr())),
        owner_repository=False,
    )
    assert trust.unreviewed is None
    assert trust.trusted is not None
    assert trust.trusted.oid == change(3, "b1").oid


def test_no_trusted_version_when_an_owner_map_governed_before() -> None:
    first = change(1, "b1")
    governed = history(first, owner_map_dates=(T0,))
    assert bootstrap_commit(governed, owner_repository=False) is None
    trust = judge_history(governed, owner_repository=False)
    assert trust.trusted is None
    assert trust.unreviewed == first
    # An owner map only younger than the first version did not govern it.
    younger = history(first, owner_map_dates=(T0 + timedelta(days=9),))
    assert bootstrap_commit(younger, owner_repository=False) == first
    # The same second is all a commit's date tells: it may have come first.
    same = history(first, owner_map_dates=(first.committed_at,))
    assert bootstrap_commit(same, owner_repository=False) is None
    # Older owner commits beyond the page read: not known, so no bootstrap.
    assert bootstrap_commit(history(first, owner_map_older=True), owner_repository=False) is None
    # The owner's own repository has nothing above it.
    assert bootstrap_commit(governed, owner_repository=True) == first


def test_an_incomplete_or_empty_history_has_no_bootstrap() -> None:
    assert bootstrap_commit(history(change(1, "b1"), complete=False), owner_repository=True) is None
    assert bootstrap_commit(history(), owner_repository=True) is None
    assert bootstrap_commit(history(change(1, None)), owner_repository=True) is None
    trust = judge_history(history(), owner_repository=False)
    assert (trust.trusted, trust.unreviewed) == (None, None)


def test_what_changed_between_two_maps() -> None:
    before = amap().document
    after = amap(
        MAP.replace("gus: {role: maintainer, affiliations: [{company: globex}]}", "")
        .replace(
            "alice: {role: maintainer, affiliations: [{company: acme}]}",
            "alice: {role: leader, affiliations: [{company: globex}]}\n  zed: {}",
        )
        .replace(
            "  initech: {name: Initech}\n", "  initech: {name: Initech}\n  umbrella: {name: U}\n"
        )
        + "policy: {protected_companies: 3}\n"
    ).document
    changes = map_changes(before, after)
    assert changes == MapChanges(
        people_added=("zed",),
        people_removed=("gus",),
        people_moved=("alice",),
        roles_changed=("alice",),
        companies_added=("umbrella",),
        policy_changed=True,
    )
    assert changes.lines() == [
        "- people added: `zed`",
        "- people removed: `gus`",
        "- affiliations changed: `alice`",
        "- roles changed: `alice`",
        "- companies added: `umbrella`",
        "- the policy changed",
    ]
    assert map_changes(None, before).people_added == ("alice", "gus", "ivan")
    assert not map_changes(None, before).policy_changed
    assert map_changes(before, before).lines() == []


def push(**overrides: object) -> MapPush:
    fields: dict[str, object] = {
        "head_sha": "a" * 40,
        "pusher": "alice",
        "forced": False,
        "first_version": False,
        "owner_governed": False,
        "pull_request": None,
        "commits": ("aaaaaaa",),
    }
    fields.update(overrides)
    return MapPush(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "conclusion", "title"),
    [
        (
            {"pull_request": reviewed_pr()},
            "success",
            "Map change reviewed in #7: approvals from Globex, Initech",
        ),
        (
            {"first_version": True},
            "neutral",
            "First map of this repository: in force as it is",
        ),
        (
            {"first_version": True, "owner_governed": True},
            "failure",
            "Map changed without independent review: pushed by @alice (Acme)",
        ),
        (
            {"pull_request": reviewed_pr(check="action_required")},
            "failure",
            "Map changed without independent review: #7 merged by @gus (Globex)",
        ),
        (
            {"forced": True, "pull_request": reviewed_pr()},
            "failure",
            "Map force-pushed by @alice (Acme)",
        ),
        (
            {"pusher": "stranger"},
            "failure",
            "Map changed without independent review: pushed by @stranger (no company on record)",
        ),
    ],
)
def test_the_verdict_on_a_push(overrides: dict[str, object], conclusion: str, title: str) -> None:
    verdict = judge_map_push(push(**overrides), reviewer_map=amap(), changes=MapChanges(), day=DAY)
    assert (verdict.conclusion, verdict.title) == (conclusion, title)
    assert verdict.summary.startswith(f"**{conclusion}**")
    assert "`aaaaaaa`" in verdict.summary


def test_without_a_map_to_name_companies_logins_are_shown() -> None:
    verdict = judge_map_push(
        push(pull_request=reviewed_pr(), commits=()),
        reviewer_map=None,
        changes=MapChanges(people_added=("zed",)),
        day=DAY,
    )
    assert verdict.title == "Map change reviewed in #7: approvals from @gus, @ivan"
    assert "Commits" not in verdict.summary
    assert "- people added: `zed`" in verdict.summary
    unknown = judge_map_push(push(pusher=""), reviewer_map=None, changes=MapChanges(), day=DAY)
    assert unknown.title.endswith("pushed by an unknown account")
    nobody = LandedPullRequest(3, merged_by=None, check="success")
    named = judge_map_push(
        push(pull_request=nobody), reviewer_map=amap(), changes=MapChanges(), day=DAY
    )
    assert named.title.endswith("approvals from no company on record")


def test_the_held_line_links_the_unreviewed_commit() -> None:
    line = held_line(HeldChange("abcdef1234", "https://github.com/o/r/commit/abcdef1234"))
    assert line.startswith("The map changed without review in [`abcdef1`](https://github.com/")
    assert "`unreviewed_map: hold`" in line


def test_a_merge_over_the_check_is_said_once_naming_who_and_what() -> None:
    assert (
        merged_over_check_comment(
            merged_by="alice", check_name="COI review", conclusion="success", amap=amap(), day=DAY
        )
        is None
    )
    body = merged_over_check_comment(
        merged_by="alice",
        check_name="COI review",
        conclusion="action_required",
        amap=amap(),
        day=DAY,
    )
    assert body is not None
    assert body.startswith("<!-- coi-bot:merged-over-check -->")
    assert "`@alice` (Acme) merged this pull request" in body
    assert "`COI review` was `action_required`" in body
    missing = merged_over_check_comment(
        merged_by="alice", check_name="COI review", conclusion=None, amap=None, day=DAY
    )
    assert missing is not None
    assert "`@alice` merged" in missing
    assert "missing (never written)" in missing


@pytest.mark.parametrize(
    ("commit", "reviewed", "how"),
    [
        (change(2, "b", pr=reviewed_pr()), True, "reviewed in #7: approvals from Globex, Initech"),
        (
            change(2, "b", pr=reviewed_pr(check="action_required")),
            False,
            "#7 merged over the check (`action_required`) by @gus (Globex)",
        ),
        (
            change(2, "b", pr=reviewed_pr(check=None)),
            False,
            "#7 merged over the check (missing) by @gus (Globex)",
        ),
        (change(2, "b"), False, "direct push: a commit by @alice (Acme)"),
    ],
)
def test_how_each_change_landed(commit: MapCommit, reviewed: bool, how: str) -> None:
    landed = how_it_landed(commit, path="m.yml", bootstrap=False, amap=amap(), day=DAY)
    assert (landed.reviewed, landed.how) == (reviewed, how)


def test_an_unreviewed_change_is_an_error_finding_of_the_map_or_a_protected_file() -> None:
    first = how_it_landed(change(1, "a"), path="m.yml", bootstrap=True, amap=None, day=DAY)
    assert (first.reviewed, first.how) == (True, "first version (bootstrap)")
    pushed = how_it_landed(change(2, "b"), path="m.yml", bootstrap=False, amap=None, day=DAY)
    owners = how_it_landed(change(3, "c"), path="OWNERS.md", bootstrap=False, amap=None, day=DAY)
    findings = history_findings([owners, pushed, first], map_paths=["m.yml"])
    assert [(f.severity, f.rule, f.person) for f in findings] == [
        ("error", "protected-change-unreviewed", "alice"),
        ("error", "map-change-unreviewed", "alice"),
    ]
    assert findings[1].message == (
        f"m.yml changed in {change(2, 'b').oid[:7]} without independent review:"
        " direct push: a commit by @alice"
    )
    assert findings[1].evidence[0].describe() == f"commit {change(2, 'b').oid[:7]}"
    assert findings[1].evidence[0].url.endswith(change(2, "b").oid)


# --- the version in force at a past moment (a vote's label event) ---------------------------


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def blob_at(found_history: MapHistory, n: float) -> tuple[str | None, str | None, bool]:
    found = in_force_at(found_history, day(n), owner_repository=False)
    commit, unreviewed = found.commit, found.unreviewed
    return (
        commit.blob_sha if commit else None,
        unreviewed.blob_sha if unreviewed else None,
        found.known,
    )


def test_the_version_in_force_at_a_moment_ignores_later_changes() -> None:
    reviewed = history(change(3, "b3", pr=reviewed_pr(8)), change(1, "b1"))
    assert blob_at(reviewed, 0.5) == (None, None, True)  # no map yet: the next one decides
    assert blob_at(reviewed, 1) == ("b1", None, True)  # committed that second: in force
    assert blob_at(reviewed, 2.9) == ("b1", None, True)
    assert blob_at(reviewed, 3) == ("b3", None, True)


def test_an_unreviewed_change_before_the_moment_is_held_then_as_now() -> None:
    pushed = history(change(4, "b4", pr=reviewed_pr(9)), change(2, "b2"), change(1, "b1"))
    assert blob_at(pushed, 3) == ("b1", "b2", True)  # b2 in force only under `accept`
    assert blob_at(pushed, 5) == ("b4", None, True)


def test_a_reviewed_deletion_leaves_no_version_and_an_unreviewed_one_holds() -> None:
    deleted = history(change(2, None, pr=reviewed_pr()), change(1, "b1"))
    assert blob_at(deleted, 3) == (None, None, True)
    pushed = history(change(2, None), change(1, "b1"))
    assert blob_at(pushed, 3) == ("b1", None, True)
    assert in_force_at(pushed, day(3), owner_repository=False).unreviewed == change(2, None)


def test_a_history_that_does_not_reach_back_to_the_moment_is_unknown() -> None:
    partial = history(change(5, "b5", pr=reviewed_pr()), complete=False)
    assert blob_at(partial, 3) == (None, None, False)
    assert blob_at(partial, 6) == ("b5", None, True)


def test_a_first_version_is_no_bootstrap_where_the_owners_map_governed_before() -> None:
    first = history(change(2, "b2"), owner_map_dates=(day(1),))
    assert blob_at(first, 3) == (None, "b2", True)  # the owner's map decides
    assert in_force_at(first, day(3), owner_repository=True).commit == change(2, "b2")
