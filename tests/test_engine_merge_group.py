"""Which errors reading a queued PR make it "cannot be read" in its group's check."""

from __future__ import annotations

from typing import Any

import gidgethub
import pytest

from bot.engine import _unreadable
from bot.github.snapshot import SnapshotError


def query_error(*types: Any, errors: Any = None) -> gidgethub.QueryError:
    error = gidgethub.QueryError({"data": None, "errors": [{"message": "refused"}]})
    listed = [{"type": t, "message": f"{t} happened"} for t in types]
    error.response = {"data": None, "errors": listed if errors is None else errors}
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SnapshotError("acme/widgets#9: GitHub returned no such pull request"), "no such"),
        (query_error("NOT_FOUND"), "GitHub answered: NOT_FOUND happened"),
        (query_error("FORBIDDEN", "NOT_FOUND"), "FORBIDDEN happened; NOT_FOUND happened"),
    ],
)
def test_a_missing_or_hidden_pr_cannot_be_read(error: Exception, expected: str) -> None:
    reason = _unreadable(error)
    assert reason is not None
    assert expected in reason


@pytest.mark.parametrize(
    "error",
    [
        query_error("RATE_LIMITED"),  # transient: the evaluation fails and is retried
        query_error("NOT_FOUND", "INTERNAL"),
        query_error(),
        query_error(errors="not a list of errors"),
        ValueError("a bug of ours"),
    ],
)
def test_any_other_error_is_not_a_verdict(error: Exception) -> None:
    assert _unreadable(error) is None
