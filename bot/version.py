"""The installed package's version, as `coi-bot --version` and the server's startup line show it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def installed_version() -> str:
    try:
        return version("coi-bot")
    except PackageNotFoundError:  # pragma: no cover - only a bare source tree lacks the metadata
        return "unknown"
