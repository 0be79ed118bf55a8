"""The check a merge group's head shows: the worst of its PRs, never a rubber stamp."""

from __future__ import annotations

import pytest

from bot.policy.render import (
    MAX_OUTPUT_CHARS,
    MAX_TITLE_CHARS,
    GroupEntry,
    render_merge_group,
    render_together,
)

CHECK = "COI review"


def passing(number: int) -> GroupEntry:
    return GroupEntry(number, "success", "Independent approval present", "**success**: ok.")


@pytest.mark.parametrize(
    ("conclusions", "expected"),
    [
        (["success"], "success"),
        (["success", "success"], "success"),
        (["success", "neutral"], "neutral"),
        (["neutral", "action_required", "success"], "action_required"),
        (["action_required", "failure", "neutral"], "failure"),
        (["failure", "action_required"], "failure"),
        (["success", "cancelled"], "failure"),  # unknown: never a pass
        # Judged once: a PR waiting for an approval fails the group rather than hold the queue.
        (["success", "in_progress"], "action_required"),
        (["in_progress", "neutral"], "action_required"),
        (["in_progress", "failure"], "failure"),
    ],
)
def test_the_group_shows_the_worst_conclusion(conclusions: list[str], expected: str) -> None:
    entries = [GroupEntry(n, c, f"title {n}") for n, c in enumerate(conclusions, start=1)]
    assert render_merge_group(entries, check_name=CHECK).conclusion == expected


def test_a_passing_group_still_lists_each_pr() -> None:
    output = render_merge_group([passing(3), passing(5)], check_name=CHECK)
    assert output.conclusion == "success"
    assert output.title == "All 2 pull requests in this merge group pass"
    assert "| #3 | success | Independent approval present |" in output.summary
    assert "| #5 | success |" in output.summary
    assert "## #" not in output.summary, "no failing PR to explain"


def test_a_single_passing_pr_names_itself() -> None:
    output = render_merge_group([passing(7)], check_name=CHECK)
    assert output.title == "#7 passes: Independent approval present"


def test_a_failing_pr_brings_its_own_summary() -> None:
    failing = GroupEntry(
        5, "action_required", "Needs 1 independent approval", "**action_required**: anna only."
    )
    output = render_merge_group([passing(3), failing], check_name=CHECK)
    assert output.conclusion == "action_required"
    assert output.title == "#5: Needs 1 independent approval"
    assert "1 of 2 pull requests in this merge group does not pass" in output.summary
    assert "## #5: action_required\n\n**action_required**: anna only." in output.summary
    assert "## #3" not in output.summary


def test_several_failing_prs_are_all_named() -> None:
    entries = [
        GroupEntry(2, "failure", "#2 is closed"),
        passing(3),
        GroupEntry(4, "neutral", "advisory"),
    ]
    output = render_merge_group(entries, check_name=CHECK)
    assert output.title == "2 of 3 pull requests do not pass: #2, #4"
    assert "## #2: failure\n\n#2 is closed" in output.summary
    assert "## #4: neutral" in output.summary


def test_a_group_naming_no_pr_fails() -> None:
    output = render_merge_group([], check_name=CHECK)
    assert output.conclusion == "failure"
    assert "names no pull request" in output.title


def test_the_fingerprint_follows_the_output() -> None:
    one = render_merge_group([passing(3)], check_name=CHECK)
    assert render_merge_group([passing(3)], check_name=CHECK).fingerprint == one.fingerprint
    assert render_merge_group([passing(4)], check_name=CHECK).fingerprint != one.fingerprint
    assert render_merge_group([passing(3)], check_name="other").fingerprint != one.fingerprint


def test_the_output_stays_within_githubs_limits() -> None:
    huge = GroupEntry(1, "failure", "t" * 500, "x\n" * 70_000)
    output = render_merge_group([huge], check_name=CHECK)
    assert len(output.title) <= MAX_TITLE_CHARS
    assert len(output.summary) <= MAX_OUTPUT_CHARS
    assert output.title.endswith("…")


def test_a_title_with_a_pipe_keeps_the_table_intact() -> None:
    output = render_merge_group([GroupEntry(1, "failure", "a | b\nc")], check_name=CHECK)
    assert "| #1 | failure | a \\| b c |" in output.summary


@pytest.mark.parametrize(
    ("conclusions", "expected"),
    [
        (["success", "in_progress"], "in_progress"),  # a PR still waiting holds the commit
        (["neutral", "in_progress"], "in_progress"),  # waiting blocks where neutral passes
        (["in_progress", "action_required"], "action_required"),
        (["failure", "in_progress"], "failure"),
    ],
)
def test_a_waiting_pr_holds_what_it_shares(conclusions: list[str], expected: str) -> None:
    entries = [GroupEntry(n, c, f"title {n}") for n, c in enumerate(conclusions, start=1)]
    output = render_together(entries, check_name=CHECK, place="with this head commit")
    assert output.conclusion == expected


def test_prs_sharing_a_commit_are_named_for_it_and_closed_by_the_footer() -> None:
    held = GroupEntry(2, "action_required", "Needs 1 independent approval", "**held**: why.")
    output = render_together(
        [held, passing(3)], check_name=CHECK, place="with this head commit", footer="The end."
    )
    assert output.title == "#2: Needs 1 independent approval"
    assert "1 of 2 pull requests with this head commit does not pass" in output.summary
    assert output.summary.endswith("\n\nThe end.")
    assert "**held**: why." in output.summary
    unsigned = render_together([held, passing(3)], check_name=CHECK, place="with this head commit")
    assert unsigned.fingerprint != output.fingerprint


def test_a_waiting_pr_fails_a_merge_group_and_says_why() -> None:
    waiting = GroupEntry(6, "in_progress", "Major change: waiting for an approval to judge")
    output = render_merge_group([passing(3), waiting], check_name=CHECK)
    assert output.conclusion == "action_required"
    assert "| #6 | in_progress |" in output.summary
    assert "is judged once, when it is queued" in output.summary


@pytest.mark.parametrize(
    ("conclusions", "expected"),
    [
        (["success", "in_progress"], "in_progress"),  # an event on either PR judges both again
        (["in_progress", "neutral"], "in_progress"),  # waiting blocks, where neutral passes
        (["in_progress", "action_required"], "action_required"),
    ],
)
def test_prs_sharing_a_head_wait_together(conclusions: list[str], expected: str) -> None:
    entries = [GroupEntry(n, c, f"title {n}") for n, c in enumerate(conclusions, start=1)]
    output = render_together(entries, check_name=CHECK, place="with this head commit")
    assert output.conclusion == expected
    assert "judged once" not in output.summary
