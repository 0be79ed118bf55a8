"""Several replicas behind one Redis: shared dedupe, durable work, per-PR leases, one reconciler."""

from bot.replicas.coordinator import (
    CoordinationUnavailable,
    Coordinator,
    ReleaseOutcome,
    Work,
)

__all__ = ["CoordinationUnavailable", "Coordinator", "ReleaseOutcome", "Work"]
