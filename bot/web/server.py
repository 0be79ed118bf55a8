"""`serve(settings)`: run the webhook server until SIGINT/SIGTERM, then stop cleanly.

aiohttp's `run_app` turns SIGTERM into a graceful exit: it stops accepting connections, lets
requests in flight finish (`shutdown_timeout`), then runs the cleanup contexts (the scheduler's
workers are stopped, the GitHub session is closed).
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.logs import configure_logging
from bot.settings import Settings
from bot.web.app import create_app

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_SECONDS = 10.0


def serve(settings: Settings) -> None:
    configure_logging()
    log.info("starting", extra={"host": settings.host, "port": settings.port})
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        # Deliveries are logged as JSON by the webhook itself; aiohttp's text access log is noise.
        access_log=None,
        print=None,
    )
