"""GitHub's timestamps: ISO 8601 with `Z` or an offset (Python 3.11 reads both)."""

from __future__ import annotations

from datetime import datetime


def github_time(raw: str) -> datetime:
    """A timestamp from GitHub as an aware datetime; one without a zone is refused."""
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        raise ValueError(f"GitHub timestamps carry a zone: {raw!r} has none")
    return moment
