"""JSON log lines, one object per line, carrying the delivery and the pull request in hand.

The context (delivery ID, event, action, repository, PR) lives in contextvars so that every line
logged while a delivery or an evaluation is handled carries it, including lines from tasks
started there (asyncio copies the context into new tasks).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import IO, Any

import orjson

CONTEXT_FIELDS = ("delivery", "event", "action", "repository", "pr")
_KNOWN_FIELDS = frozenset(CONTEXT_FIELDS)

# One variable for all fields: entering a context costs one set, not one per field (it runs
# twice per webhook delivery).
_context: ContextVar[Mapping[str, str | int | None]] = ContextVar(
    "coi_log_context", default=MappingProxyType({})
)

# Attributes every LogRecord has; anything else came from `extra=` and is logged as a field.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


class log_context:
    """Attach fields (a subset of CONTEXT_FIELDS) to every line logged inside the block; a field
    given as None hides the enclosing block's value."""

    __slots__ = ("_fields", "_token")

    def __init__(self, **fields: str | int | None) -> None:
        if not _KNOWN_FIELDS.issuperset(fields):
            unknown = ", ".join(sorted(set(fields) - _KNOWN_FIELDS))
            raise ValueError(f"unknown log context field(s): {unknown}")
        self._fields = fields
        self._token: Token[Mapping[str, str | int | None]] | None = None

    def __enter__(self) -> None:
        self._token = _context.set({**_context.get(), **self._fields})

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _context.reset(self._token)
            self._token = None


def current_context() -> dict[str, str | int]:
    fields = _context.get()
    return {name: value for name in CONTEXT_FIELDS if (value := fields.get(name)) is not None}


def _json_default(value: object) -> str:
    # repr, never str: a Secret refuses str() and shows only a fingerprint in its repr.
    return repr(value)


# An `extra=` field may be a dict with int keys: keep it rather than lose the line.
_DUMP_OPTIONS = orjson.OPT_NON_STR_KEYS


def _utc_timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds, as datetime's isoformat gives, at a fraction of its cost."""
    # Split before scaling, as datetime.fromtimestamp does: `created * 1e6` rounds otherwise.
    fraction, whole = math.modf(created)
    seconds, microseconds = int(whole), round(fraction * 1_000_000)
    if microseconds >= 1_000_000:
        seconds, microseconds = seconds + 1, microseconds - 1_000_000
    elif microseconds < 0:
        seconds, microseconds = seconds - 1, microseconds + 1_000_000
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{microseconds // 1000:03d}+00:00"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, context, extras."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except (TypeError, ValueError) as error:
            # A Secret among the arguments raises TypeError on %s: keep the line, drop the args.
            message = f"{record.msg} (arguments withheld: {error})"
        entry: dict[str, Any] = {
            "time": _utc_timestamp(record.created),
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
        try:
            return orjson.dumps(entry, default=_json_default, option=_DUMP_OPTIONS).decode()
        except orjson.JSONEncodeError:
            # An integer beyond 64 bits, or an exotic key: keep the line, every value as repr.
            return orjson.dumps({key: repr(value) for key, value in entry.items()}).decode()


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
    # The JSON line shows none of the caller, thread or process fields, so skip collecting them
    # for every record (logging's documented optimizations: a third of a webhook ack's logging).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
