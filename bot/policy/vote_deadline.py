"""When an issue's vote closes, as far as its label timeline tells: the reconciler's estimate.

An issue has no check run to carry its close time (a PR's does: `OPEN_VOTE_MARKER`), and reading
every comment of every labelled issue each cycle would cost more than the votes are worth. The
last TSC member's addition of the label opened the vote, most of the time, and the rules for a
proposal with no files give its duration. The estimate is a safety net, not the close: the
reconciler queues every vote it sees open once, and that evaluation arms the exact timer (kept in
Redis with replicas). A wrong estimate costs one evaluation that writes nothing (too early), or
leaves a vote whose timer was lost to its next event (too late: the label taken off by someone
who could not cancel the vote, then put back by a TSC member while it ran).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.affiliations.index import AffiliationMap
from bot.policy.facts import LabelChange
from bot.policy.votes import rules_for


def issue_vote_closes(
    amap: AffiliationMap, label_changes: Iterable[LabelChange]
) -> datetime | None:
    """The close of the vote the last TSC addition of the vote label opened; None: no opening."""
    label = amap.policy.votes.label.casefold()
    opened = [
        change.at
        for change in label_changes
        if change.added
        and change.label.casefold() == label
        and change.actor is not None
        and amap.is_tsc(change.actor)
    ]
    if not opened:
        return None
    return max(opened) + rules_for(amap.policy.votes, ()).duration
