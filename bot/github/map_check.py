"""Check a pull request's new map off the event loop: once per blob, in a worker process, in time.

Anyone can open a pull request that changes the map, so its text is hostile until checked. The
loader is pure Python and pydantic validates in one call that holds the GIL, so a thread would
still stall the event loop: the check runs in a child of a fork server (forked from a process
that has already imported the loader, so a check starts in milliseconds), and only its small
result (errors, entry digests) comes back. The budget is CPU time, so that a busy machine does
not fail an honest map: past it the child ends itself, and one that has still not answered after
WALL_FACTOR times the budget is killed; either way the map fails the check. A map is checked
once per blob SHA, however many evaluations ask, and several asking at once share one check.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import multiprocessing
import os
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext

from cachetools import LRUCache

from bot.affiliations.proposed import ProposedMap, check_proposed_map, too_slow
from bot.policy.facts import MapFile

CHECK_SECONDS = 2.0  # of CPU: a valid map of 10,000 people checks in under 1 s
WALL_FACTOR = 4  # a child descheduled this long past its CPU budget is killed all the same
OUT_OF_TIME = 75  # the exit status of a child that spent its CPU budget
WATCH_SECONDS = 0.02
CHECKED_MAPS = 64  # results are small (errors capped, one digest per login): keep many
CONCURRENT_CHECKS = 2  # each check may use a core for the whole budget

MapKey = tuple[str, str]  # (path, blob SHA or, when GitHub gave none, the text's SHA-256)


class MapCheckError(Exception):
    """The checking process ended without an answer: a fault of ours, not of the map."""


def _check_in_child(sender: Connection, text: str, path: str, cpu_seconds: float) -> None:
    def watch() -> None:
        while time.process_time() < cpu_seconds:
            time.sleep(WATCH_SECONDS)
        os._exit(OUT_OF_TIME)  # no cleanup to wait for: the parent reads the status

    threading.Thread(target=watch, daemon=True).start()
    sender.send(check_proposed_map(text, path=path))
    sender.close()


@functools.cache
def _context() -> BaseContext:
    context = multiprocessing.get_context("forkserver")
    # The fork server imports the loader (and the main module, as every child would) once.
    context.set_forkserver_preload(["__main__", __name__])
    return context


def _key(head_map: MapFile) -> MapKey:
    if head_map.blob_sha:
        return head_map.path, head_map.blob_sha
    return head_map.path, hashlib.sha256(head_map.text.encode("utf-8", "surrogatepass")).hexdigest()


class MapChecks:
    """Checked PR maps by blob; `check` never runs the loader on the calling thread."""

    def __init__(
        self,
        *,
        budget_seconds: float = CHECK_SECONDS,
        concurrency: int = CONCURRENT_CHECKS,
        cached: int = CHECKED_MAPS,
    ) -> None:
        if budget_seconds <= 0 or concurrency < 1:
            raise ValueError(
                f"a map check needs a positive budget and at least one process, got "
                f"{budget_seconds} s and {concurrency}"
            )
        self.budget_seconds = budget_seconds
        self.runs = 0  # child processes started: one per blob, whatever the number of asks
        self._done: LRUCache[MapKey, ProposedMap] = LRUCache(maxsize=cached)
        self._running: dict[MapKey, asyncio.Future[ProposedMap]] = {}
        self._slots = asyncio.Semaphore(concurrency)

    async def check(self, head_map: MapFile) -> ProposedMap:
        """The PR's map checked: from the cache, from a check already running, or a new one."""
        key = _key(head_map)
        done = self._done.get(key)
        if done is not None:
            return done
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(self._check(key, head_map))
            self._running[key] = running
            running.add_done_callback(lambda _: self._running.pop(key, None))
        # One evaluation given up (cancelled) must not cancel the check others wait for.
        return await asyncio.shield(running)

    async def _check(self, key: MapKey, head_map: MapFile) -> ProposedMap:
        async with self._slots:
            result = await self._run(head_map.text, head_map.path)
        self._done[key] = result
        return result

    async def _run(self, text: str, path: str) -> ProposedMap:
        context = _context()
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(  # type: ignore[attr-defined]
            target=_check_in_child,
            args=(sender, text, path, self.budget_seconds),
            daemon=True,
            name="map-check",
        )
        started = False
        try:
            # Blocking: the first call starts the fork server; later ones fork in milliseconds.
            await asyncio.to_thread(process.start)
            started = True
            self.runs += 1
            sender.close()  # the child holds the only writer: its death reads as EOF
            wall_seconds = self.budget_seconds * WALL_FACTOR
            if not await asyncio.to_thread(receiver.poll, wall_seconds):
                return too_slow(path, seconds=self.budget_seconds)
            try:
                result: ProposedMap = await asyncio.to_thread(receiver.recv)
            except EOFError:
                await asyncio.to_thread(process.join)
                if process.exitcode == OUT_OF_TIME:
                    return too_slow(path, seconds=self.budget_seconds)
                raise MapCheckError(
                    f"the check of {path} ended without an answer (exit code {process.exitcode})"
                ) from None
            return result
        finally:
            if started:
                process.kill()  # at once: a check past its budget gets no grace
                await asyncio.to_thread(process.join)
            receiver.close()
            sender.close()
