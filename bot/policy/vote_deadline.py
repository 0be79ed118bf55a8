"""When an issue's vote closes, as far as its label timeline tells: the reconciler's estimate.

An issue has no check run to carry its close time (a PR's does: `OPEN_VOTE_MARKER`), and reading
every comment of every labelled issue each cycle would cost more than the votes are worth. The
last TSC member's addition of the label opened the vote, and the rules for a proposal with no
files give its duration. The estimate is never late for a vote under the map in force: a vote the
label's removal cancelled, or a later map with a longer duration, only makes one evaluation too
many (it finds the vote as it is and writes nothing).
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
