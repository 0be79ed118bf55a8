"""`merge_group` deliveries: which group is queued, and which head refs name no PR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.merge_queue import branch_name, queued_pull_requests
from bot.pr import MergeGroupRef
from tests.handlers.test_routing import dispatch
from tests.web.deliveries import load_payload

SHA = "929f8209d40f77f4abc622a499c93a83babdbe64"


@pytest.mark.parametrize(
    ("head_ref", "base_ref", "expected"),
    [
        (f"refs/heads/gh-readonly-queue/main/pr-104-{SHA}", "refs/heads/main", (104,)),
        (f"refs/heads/gh-readonly-queue/main/pr-7-{SHA[:7]}", "main", (7,)),
        (f"refs/heads/gh-readonly-queue/release/1.x/pr-3-{SHA}", "refs/heads/release/1.x", (3,)),
        (f"refs/heads/gh-readonly-queue/main/pr-3-{SHA}-pr-5-{SHA}", "refs/heads/main", (3, 5)),
        (f"refs/heads/gh-readonly-queue/main/pr-3-{SHA}/pr-5-{SHA}", "refs/heads/main", (3, 5)),
        (f"refs/heads/gh-readonly-queue/main/pr-3-{SHA}/pr-3-{SHA}", "refs/heads/main", (3,)),
        # Not a merge queue branch of this base: never guessed at.
        (f"refs/heads/gh-readonly-queue/dev/pr-104-{SHA}", "refs/heads/main", None),
        (f"refs/heads/feature/pr-104-{SHA}", "refs/heads/main", None),
        (f"gh-readonly-queue/main/pr-104-{SHA}", "refs/heads/main", None),
        ("refs/heads/gh-readonly-queue/main/pr-104", "refs/heads/main", None),
        ("refs/heads/gh-readonly-queue/main/pr-104-nothex", "refs/heads/main", None),
        (f"refs/heads/gh-readonly-queue/main/pr-0-{SHA}", "refs/heads/main", None),
        (f"refs/heads/gh-readonly-queue/main/pr-x-{SHA}", "refs/heads/main", None),
        (f"refs/heads/gh-readonly-queue/main/pr-1-{SHA}/extra", "refs/heads/main", None),
        (f"refs/heads/gh-readonly-queue//pr-1-{SHA}", "", None),
        ("", "refs/heads/main", None),
    ],
)
def test_queued_pull_requests_reads_every_entry_of_the_head_ref(
    head_ref: str, base_ref: str, expected: tuple[int, ...] | None
) -> None:
    assert queued_pull_requests(head_ref, base_ref=base_ref) == expected


def test_branch_name_strips_the_heads_prefix() -> None:
    assert branch_name("refs/heads/release/1.x") == "release/1.x"
    assert branch_name("main") == "main"


def checks_requested(reference_dir: Path) -> dict[str, Any]:
    return load_payload(reference_dir, "merge_group/checks_requested.payload.json")


async def test_checks_requested_queues_the_group(reference_dir: Path) -> None:
    data = checks_requested(reference_dir)
    data["merge_group"]["head_ref"] = f"refs/heads/gh-readonly-queue/main/pr-9-{SHA}"
    assert await dispatch("merge_group", data) == [
        (
            "merge_group",
            MergeGroupRef(
                1,
                "octo-org",
                "octo-repo",
                head_sha="2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d",
                head_ref=f"refs/heads/gh-readonly-queue/main/pr-9-{SHA}",
                base_ref="refs/heads/main",
                default_branch="main",  # its map judges the group
            ),
        )
    ]


@pytest.mark.parametrize(
    "break_it",
    [
        lambda group: group.update(head_ref="refs/heads/some-branch"),
        lambda group: group.update(head_ref=None),
        lambda group: group.pop("head_ref"),
        lambda group: group.pop("base_ref"),
        lambda group: group.update(base_ref="refs/heads/dev"),
        lambda group: group.update(head_sha=""),
        lambda group: group.pop("head_sha"),
        lambda group: group.clear(),
    ],
)
async def test_a_malformed_merge_group_is_logged_and_ignored(
    reference_dir: Path, break_it: Any, caplog: pytest.LogCaptureFixture
) -> None:
    data = checks_requested(reference_dir)
    break_it(data["merge_group"])
    assert await dispatch("merge_group", data) == []
    assert "names no pull request: ignored" in caplog.text


async def test_a_payload_without_a_merge_group_is_ignored(reference_dir: Path) -> None:
    data = checks_requested(reference_dir)
    data["merge_group"] = "not an object"
    assert await dispatch("merge_group", data) == []


async def test_a_merge_group_without_an_installation_queues_nothing(reference_dir: Path) -> None:
    data = checks_requested(reference_dir)
    del data["installation"]
    assert await dispatch("merge_group", data) == []


async def test_a_destroyed_group_needs_nothing(reference_dir: Path) -> None:
    data = checks_requested(reference_dir)
    data["action"] = "destroyed"
    data["reason"] = "merged"
    assert await dispatch("merge_group", data) == []
