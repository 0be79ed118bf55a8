"""JSON log lines, one object per line, carrying the delivery and the pull request in hand.

The context (delivery ID, event, action, repository, PR) lives in contextvars so that every line
logged while a delivery or an evaluation is handled carries it, including lines from tasks
started there (asyncio copies the context into new tasks).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import IO, Any

CONTEXT_FIELDS = ("delivery", "event", "action", "repository", "pr")

_context: dict[str, ContextVar[str | int | None]] = {
    name: ContextVar(f"coi_log_{name}", default=None) for name in CONTEXT_FIELDS
}

# Attributes every LogRecord has; anything else came from `extra=` and is logged as a field.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


@contextmanager
def log_context(**fields: str | int | None) -> Iterator[None]:
    """Attach fields (a subset of CONTEXT_FIELDS) to every line logged inside the block."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown log context field(s): {', '.join(sorted(unknown))}")
    tokens: list[tuple[ContextVar[str | int | None], Token[str | int | None]]] = []
    for name, value in fields.items():
        variable = _context[name]
        tokens.append((variable, variable.set(value)))
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


def current_context() -> dict[str, str | int]:
    return {
        name: value for name, variable in _context.items() if (value := variable.get()) is not None
    }


def _json_default(value: object) -> str:
    # repr, never str: a Secret refuses str() and shows only a fingerprint in its repr.
    return repr(value)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, context, extras."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except (TypeError, ValueError) as error:
            # A Secret among the arguments raises TypeError on %s: keep the line, drop the args.
            message = f"{record.msg} (arguments withheld: {error})"
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        entry.update(current_context())
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=_json_default, ensure_ascii=False)


def configure_logging(*, level: int | str = logging.INFO, stream: IO[str] | None = None) -> None:
    """Send every logger's records to `stream` (stderr by default) as JSON lines."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing.formatter, JsonFormatter):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
