"""JSON log lines: one object per line, the delivery context on each, never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.logs import JsonFormatter, configure_logging, current_context, log_context
from bot.settings import Secret
from tests.web.deliveries import WEBHOOK_SECRET, make_settings

PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nnot a real key\n"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Route the root logger to a buffer as JSON, and restore it afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging(level=logging.DEBUG, stream=buffer)
    yield buffer
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_each_line_is_one_json_object_with_the_context(stream: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    with log_context(delivery="d-1", event="pull_request", action="opened"):
        with log_context(repository="org/repo", pr=7):
            log.info("queued %s", "org/repo#7", extra={"status": 202})
        log.warning("outer")
    log.info("outside")
    first, second, third = lines(stream)
    assert first["message"] == "queued org/repo#7"
    assert first["level"] == "info"
    assert first["logger"] == "bot.test"
    assert first["status"] == 202
    assert {k: first[k] for k in ("delivery", "event", "action", "repository", "pr")} == {
        "delivery": "d-1",
        "event": "pull_request",
        "action": "opened",
        "repository": "org/repo",
        "pr": 7,
    }
    assert "repository" not in second
    assert second["delivery"] == "d-1"
    assert "delivery" not in third
    assert current_context() == {}


def test_exceptions_are_logged_inside_the_object(stream: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("bot.test").exception("failed")
    (line,) = lines(stream)
    assert "RuntimeError: boom" in line["exception"]


def test_a_log_of_the_settings_shows_no_secret(stream: io.StringIO) -> None:
    settings = make_settings(private_key=Secret(PRIVATE_KEY))
    log = logging.getLogger("bot.test")
    log.info("settings %r", settings)
    log.info("settings %s", settings)
    log.info("extra", extra={"secret": settings.webhook_secret, "settings": settings})
    # A Secret given to %s raises in str(): the formatter keeps the line and drops the arguments.
    record = logging.LogRecord(
        "bot.test", logging.INFO, __file__, 1, "secret %s", (settings.webhook_secret,), None
    )
    withheld = json.loads(JsonFormatter().format(record))
    output = stream.getvalue() + json.dumps(withheld)
    assert len(lines(stream)) == 3
    assert WEBHOOK_SECRET not in output
    assert "It's a Secret" not in output
    assert "not a real key" not in output
    assert "Secret(sha256:" in output
    assert withheld["message"].startswith("secret %s (arguments withheld: refusing")


@given(created=st.floats(min_value=0, max_value=4_102_444_800))  # up to 2100-01-01
# Scaled before the split, these once rounded a microsecond away from datetime's own stamp.
@example(created=1854274542.7449994)
@example(created=3629259783.9829993)
def test_the_time_is_utc_iso_8601_with_milliseconds(created: float) -> None:
    record = logging.LogRecord("bot.test", logging.INFO, __file__, 1, "tick", None, None)
    record.created = created
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert json.loads(JsonFormatter().format(record))["time"] == expected


def test_extras_json_cannot_hold_natively_still_keep_the_line(stream: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    log.info("int keys", extra={"by_status": {202: 3, 503: 1}})
    log.info("huge", extra={"count": 2**70, "seen": {(1, 2)}})
    first, second = lines(stream)
    assert first["by_status"] == {"202": 3, "503": 1}
    assert second["message"] == "'huge'"  # the fallback reprs every value
    assert second["count"] == repr(2**70)


def test_an_unknown_context_field_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log context field"), log_context(user="x"):
        pass


def test_configuring_twice_keeps_one_json_handler(stream: io.StringIO) -> None:
    configure_logging(stream=stream)
    json_handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, JsonFormatter)
    ]
    assert len(json_handlers) == 1
