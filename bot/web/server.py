"""`serve(settings)`: run the webhook server until SIGINT/SIGTERM, then stop cleanly.

`preflight()` checks everything the configuration promises (the App key, the numbers, the
bundled map) before the port opens, and refuses with every problem at once.

aiohttp's `run_app` turns SIGTERM into a graceful exit: it stops accepting connections, lets
requests in flight finish (`shutdown_timeout`), then runs the cleanup contexts (the scheduler's
workers are stopped, the GitHub session is closed).
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bot.affiliations.loader import MapError, load_map_file
from bot.logs import configure_logging
from bot.settings import DEFAULT_BUNDLED_MAP, Settings, SettingsError
from bot.version import installed_version
from bot.web.app import create_app

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_SECONDS = 10.0


class StartupRefused(Exception):
    """The configuration cannot work: the environment's problems and the bundled map's errors."""

    def __init__(self, problems: tuple[str, ...], map_file: Path, map_errors: tuple[MapError, ...]):
        super().__init__("; ".join([*problems, *map(str, map_errors)]))
        self.problems = problems
        self.map_file = map_file
        self.map_errors = map_errors

    def lines(self, *, prefix: str) -> list[str]:
        """One line per problem; the map's errors stay `FILE:LINE:COL: message` for editors."""
        lines = [f"{prefix}{problem}" for problem in self.problems]
        lines.extend(str(error) for error in self.map_errors)
        if self.map_errors:
            lines.append(
                f"{prefix}COI_MAP {self.map_file}: {len(self.map_errors)} error(s) in the map"
            )
        return lines


@dataclass(frozen=True, slots=True)
class Startup:
    settings: Settings
    people: int  # in the bundled map


def preflight(environ: Mapping[str, str] | None = None) -> Startup:
    """The settings and the bundled map, checked before the port opens; else StartupRefused."""
    env = os.environ if environ is None else environ
    problems: tuple[str, ...] = ()
    settings = None
    try:
        settings = Settings.from_env(env)
    except SettingsError as error:
        problems = error.problems
    map_file = settings.bundled_map if settings else Path(env.get("COI_MAP") or DEFAULT_BUNDLED_MAP)
    loaded = load_map_file(map_file)
    map_errors = loaded.errors if loaded.map is None else ()
    if settings is None or loaded.map is None:
        raise StartupRefused(problems, map_file, map_errors)
    return Startup(settings, people=len(loaded.map.document.people))


def serve(settings: Settings, *, people: int | None = None) -> None:
    """Run until SIGINT/SIGTERM; `people`: the bundled map's size, for the startup line."""
    configure_logging()
    log.info(
        "starting coi-bot %s",
        installed_version(),
        extra={
            "version": installed_version(),
            "app_id": settings.app_id,
            "api_url": settings.api_url,
            "graphql_url": settings.graphql_url,
            "map": str(settings.bundled_map),
            "people": people,
            "host": settings.host,
            "port": settings.port,
        },
    )
    run(create_app(settings), host=settings.host, port=settings.port)


def run(app: web.Application, *, host: str, port: int) -> None:
    """Serve `app` until SIGINT/SIGTERM, as `serve` does (benchmarks run their own app here)."""
    # What exists now (modules, the app) lives as long as the process: frozen, the collector's
    # full passes no longer walk it every few hundred webhook deliveries.
    gc.collect()
    gc.freeze()
    web.run_app(
        app,
        host=host,
        port=port,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        # Deliveries are logged as JSON by the webhook itself; aiohttp's text access log is noise.
        access_log=None,
        print=None,
    )
