"""What the App records in its own check run so that state stays in GitHub: the declarations in
force, read back by the next evaluation's snapshot. A declaration deleted by someone who may not
lower the bar keeps its effect from this record (GitHub keeps no text of a deleted comment).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from bot.policy.conflicts import Declaration
from bot.policy.facts import RecordedDeclaration

_MARKER = "coi-bot:declarations"
Row = TypeVar("Row")


def hidden_rows(marker: str, rows: Sequence[Mapping[str, object]]) -> str:
    """Rows as one hidden HTML comment line marked `marker`; empty when there are none."""
    if not rows:
        return ""
    # Escaped so that no user text can close the HTML comment: JSON reads \u003c back as "<".
    encoded = (
        json.dumps(rows, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")
    )
    return f"<!-- {marker} {encoded} -->"


def read_hidden_rows(
    marker: str, text: str | None, parse: Callable[[Mapping[str, object]], Row]
) -> tuple[Row, ...]:
    """The rows `hidden_rows` wrote under `marker`, each parsed; nothing for text not in this
    form (a record with a row that does not parse is ignored, never trusted in part)."""
    found = re.search(rf"<!-- {re.escape(marker)} (?P<json>\[.*?\]) -->", text or "")
    if found is None:
        return ()
    try:
        return tuple(parse(row) for row in json.loads(found["json"]))
    except (ValueError, KeyError, TypeError):
        return ()


def record_line(declarations: Iterable[Declaration]) -> str:
    """One hidden line for the check run's text; empty when nothing is declared."""
    rows = [
        {
            "comment": d.comment_id,
            "author": d.comment_author or d.by,
            "login": d.login,
            "by": d.by,
            "reason": d.reason,
            "at": d.at.isoformat(),
            "author_id": d.author_id,
            "login_id": d.login_id,
            "by_id": d.by_id,
        }
        for d in declarations
        if d.at is not None
    ]
    return hidden_rows(_MARKER, rows)


def read_records(text: str | None) -> tuple[RecordedDeclaration, ...]:
    """The declarations a check run's text recorded; nothing for text the App did not write
    in this form (a record that does not parse is ignored, never trusted in part)."""
    return read_hidden_rows(_MARKER, text, _declaration)


def _declaration(row: Mapping[str, object]) -> RecordedDeclaration:
    reason = row["reason"]
    return RecordedDeclaration(
        comment_id=str(row["comment"]),
        comment_author=str(row["author"]),
        login=str(row["login"]),
        by=str(row["by"]),
        reason=None if reason is None else str(reason),
        at=datetime.fromisoformat(str(row["at"])),
        comment_author_id=account_id(row.get("author_id")),
        login_id=account_id(row.get("login_id")),
        by_id=account_id(row.get("by_id")),
    )


def account_id(value: object) -> int | None:
    """A recorded account id; a record written before ids has none."""
    if value is None:
        return None
    if type(value) is not int or value <= 0:
        raise ValueError(f"not a GitHub id: {value!r}")
    return value
