"""Small builders for policy tests: a map of Acme, Globex, Initech and friends, and PR facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument
from bot.policy.facts import (
    ChangedFile,
    Comment,
    Commit,
    LabelChange,
    PullRequestFacts,
    Review,
    ReviewState,
)

HEAD = "h" * 40
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def document(**overrides: Any) -> dict[str, Any]:
    """The map as YAML would give it; keyword arguments replace top-level keys or policy keys."""
    policy: dict[str, Any] = {
        "major": {
            "paths": ["core/**"],
            "changed_lines": 500,
            "changed_files": 30,
            "labels": ["major"],
        },
        "minor_labels": ["trivial"],
        "protected_files": [".github/affiliations.yml", "GOVERNANCE.md"],
    }
    policy.update(overrides.pop("policy", {}))
    doc: dict[str, Any] = {
        "version": 1,
        "companies": {
            "acme": {"name": "Acme", "aliases": ["ACME Corp"]},
            "globex": {"name": "Globex"},
            "initech": {"name": "Initech"},
            "broadcom": {"name": "Broadcom"},
            "vmware": {"name": "VMware", "parent": "broadcom"},
            "independent": {"name": "Independent", "independent": True},
        },
        "people": {
            "alice": {
                "role": "maintainer",
                "emails": ["alice@acme.example"],
                "affiliations": [{"company": "acme"}],
            },
            "bob": {"role": "maintainer", "affiliations": [{"company": "acme"}]},
            "carol": {"role": "maintainer", "affiliations": [{"company": "globex"}]},
            "dave": {"role": "contributor", "affiliations": [{"company": "globex"}]},
            "erin": {
                "role": "maintainer",
                "emails": ["erin@initech.example"],
                "affiliations": [{"company": "initech"}],
            },
            "frank": {
                "role": "maintainer",
                "logins": ["frank-work"],
                "affiliations": [
                    {"company": "globex", "until": "2026-03-05"},
                    {"company": "acme", "from": "2026-03-05"},
                ],
            },
            "grace": {"role": "maintainer", "affiliations": [{"company": "vmware"}]},
            "heidi": {"role": "maintainer", "affiliations": [{"company": "broadcom"}]},
            "ivan": {"role": "maintainer", "affiliations": [{"company": "independent"}]},
            "judy": {"role": "maintainer", "affiliations": [{"company": "independent"}]},
            "mallory": {
                "role": "maintainer",
                "affiliations": [{"company": "initech"}],
                "conflicts": [{"company": "acme", "reason": "consults for Acme"}],
            },
            "oscar": {
                "role": "maintainer",
                "affiliations": [{"company": "globex"}],
                "away": [{"from": "2026-03-25", "until": "2026-04-10"}],
            },
        },
        "bots": ["renovate[bot]"],
        "policy": policy,
    }
    doc.update(overrides)
    return doc


def make_map(**overrides: Any) -> AffiliationMap:
    return AffiliationMap(MapDocument.model_validate(document(**overrides)))


def approve(
    author: str,
    days: float = 1,
    *,
    state: ReviewState = "APPROVED",
    sha: str = HEAD,
    rid: str | None = None,
    bot: bool = False,
) -> Review:
    return Review(
        id=rid or f"r-{author}-{days}-{state}",
        author=author,
        state=state,
        submitted_at=at(days),
        commit_sha=sha,
        author_is_bot=bot,
    )


def comment(
    author: str, body: str, days: float = 0.5, *, cid: str | None = None, bot: bool = False
) -> Comment:
    return Comment(
        id=cid or f"c-{author}-{days}",
        author=author,
        body=body,
        created_at=at(days),
        updated_at=at(days),
        author_is_bot=bot,
        database_id=int(days * 1000),
    )


def facts(
    *,
    opener: str = "alice",
    files: tuple[str, ...] = ("core/engine.py",),
    reviews: tuple[Review, ...] = (),
    comments: tuple[Comment, ...] = (),
    commits: tuple[Commit, ...] = (),
    labels: tuple[str, ...] = (),
    labels_by: str = "carol",
    **extra: Any,
) -> PullRequestFacts:
    """`labels_by`: who added the labels (carol: a TSC member of no author's company), unless
    `label_changes` says otherwise."""
    extra.setdefault(
        "label_changes", tuple(LabelChange(name, labels_by, True, T0) for name in labels)
    )
    return PullRequestFacts(
        owner="acme",
        repo="widgets",
        number=7,
        node_id="PR_node7",
        title="Change things",
        opener=opener,
        head_sha=HEAD,
        base_ref="main",
        labels=labels,
        files=tuple(ChangedFile(path, additions=10, deletions=2) for path in files),
        commits=commits or (Commit(sha=HEAD, author_login=opener),),
        reviews=reviews,
        comments=comments,
        **extra,
    )
