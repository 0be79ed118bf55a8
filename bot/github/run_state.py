"""What a check run read from GraphQL says: its conclusion, or its status while not completed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def run_status(run: Mapping[str, Any]) -> str:
    """Lower case; a run read without its status is taken as completed, as the App wrote it."""
    return str(run.get("status") or "completed").lower()


def run_conclusion(run: Mapping[str, Any]) -> str | None:
    return (run.get("conclusion") or "").lower() or None


def run_state(run: Mapping[str, Any]) -> str | None:
    """A run's conclusion, or its status while not completed: GitHub has been seen to keep the
    former conclusion of a run set back to `in_progress`, so the status decides."""
    status = run_status(run)
    return run_conclusion(run) if status == "completed" else status
