"""Labels are judged by who set them: a `minor_labels` label added, or a major label removed,
lowers the classification only when a TSC member with no conflict on the PR did it (DESIGN.md,
"Nobody conflicted can lower the bar"). A major label counts whoever added it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.affiliations.index import AffiliationMap
from bot.policy.conflicts import Declaration, Parties, RefusedAct, may_not_lower_the_bar
from bot.policy.facts import LabelChange, PullRequestFacts
from bot.policy.markdown import code


@dataclass(frozen=True, slots=True)
class JudgedLabels:
    labels: tuple[str, ...]  # what the classification reads
    refused: tuple[RefusedAct, ...]  # label changes that did not lower the bar


def judge_labels(
    facts: PullRequestFacts,
    amap: AffiliationMap,
    parties: Parties,
    *,
    declared: Mapping[str, Declaration],
) -> JudgedLabels:
    """The PR's labels as the classification may read them.

    A minor label counts only when its last change (the timeline's LabeledEvent) is by an
    unconflicted TSC member; a major label removed by anyone else still counts. With no change on
    record (older than the timeline's last 100), a minor label does not count: fail closed."""
    policy = amap.policy
    minor = {name.casefold() for name in policy.minor_labels}
    major = {name.casefold() for name in policy.major.labels}
    last: dict[str, LabelChange] = {}
    for change in sorted(facts.label_changes, key=lambda c: c.at):
        last[change.label.casefold()] = change
    kept: list[str] = []
    refused: list[RefusedAct] = []
    for label in facts.labels:
        key = label.casefold()
        if key not in minor or key in major:
            kept.append(label)
            continue
        added = last.get(key)
        if added is None or not added.added:
            why = "who added it is not on the timeline's last 100 label changes"
            refused.append(RefusedAct(None, f"the label {code(label)}", why))
            continue
        why_not = may_not_lower_the_bar(
            parties, added.actor, day=added.at.date(), declared=declared
        )
        if why_not is None:
            kept.append(label)
        else:
            refused.append(RefusedAct(added.actor, f"added the label {code(label)}", why_not))
    present = {label.casefold() for label in facts.labels}
    for key in sorted(major - present):
        removed = last.get(key)
        if removed is None or removed.added:
            continue
        why_not = may_not_lower_the_bar(
            parties, change.actor, day=change.at.date(), declared=declared
        )
        if why_not is not None:
            kept.append(change.label)
            refused.append(
                RefusedAct(change.actor, f"removed the label {code(change.label)}", why_not)
            )
    return JudgedLabels(labels=tuple(kept), refused=tuple(refused))
