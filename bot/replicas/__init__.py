"""Several replicas behind one Redis: shared dedupe, durable work, per-PR leases, one reconciler."""

from bot.replicas.coordinator import Coordinator
from bot.replicas.dedupe import Acceptance
from bot.replicas.link import CoordinationUnavailable
from bot.replicas.pr_lease import ReleaseOutcome
from bot.replicas.stream import Work

__all__ = ["Acceptance", "CoordinationUnavailable", "Coordinator", "ReleaseOutcome", "Work"]
