"""A PR's map checked in a worker process: once per blob, shared by concurrent asks, in time."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from bot.github.map_check import MapCheckError, MapChecks
from bot.policy.facts import MapFile
from tests.e2e.test_hostile import unknown_companies_map

VALID = "version: 1\ncompanies: {acme: {name: Acme}}\npeople:\n  alice: {logins: [Alice-Work]}\n"


async def test_a_valid_map_comes_back_with_its_entries() -> None:
    checks = MapChecks()
    checked = await checks.check(MapFile(path="m.yml", text=VALID, blob_sha="a1"))
    assert checked.ok
    entry = checked.entry_of("alice-work")
    assert entry is not None
    assert entry[0] == "alice"
    assert checked.entry_of("bob") is None


async def test_a_blob_is_checked_once_however_many_ask() -> None:
    checks = MapChecks()
    broken = MapFile(path="m.yml", text="version: 1\ncompanies: {acme: {}}\n", blob_sha="b2")
    first, second = await asyncio.gather(checks.check(broken), checks.check(broken))
    again = await checks.check(broken)
    assert first == second == again
    assert [str(e) for e in first.errors] == ["m.yml:2:19: missing required key 'name'"]
    assert checks.runs == 1


async def test_the_same_text_without_a_blob_sha_is_checked_once() -> None:
    checks = MapChecks()
    await checks.check(MapFile(path="m.yml", text=VALID))
    await checks.check(MapFile(path="m.yml", text=VALID))
    assert checks.runs == 1


async def test_a_map_past_the_budget_fails_and_stays_failed() -> None:
    checks = MapChecks(budget_seconds=0.001)
    slow = MapFile(path="m.yml", text=unknown_companies_map(companies=2_000, unknown=50))
    checked = await checks.check(slow)
    assert not checked.ok
    assert [e.message for e in checked.errors] == [
        "the map is too large or too broken to check in time (0.001 s of CPU)"
    ]
    assert await checks.check(slow) is checked
    assert checks.runs == 1


async def test_one_evaluation_given_up_does_not_cancel_the_check_another_awaits() -> None:
    checks = MapChecks()
    shared = MapFile(path="m.yml", text=VALID, blob_sha="c3")
    given_up = asyncio.ensure_future(checks.check(shared))
    waiting = asyncio.ensure_future(checks.check(shared))
    await asyncio.sleep(0)
    given_up.cancel()
    assert (await waiting).ok
    assert checks.runs == 1


def test_a_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive budget"):
        MapChecks(budget_seconds=0)


async def test_a_checker_that_dies_is_our_fault_not_the_maps() -> None:
    checks = MapChecks()
    # Not text: the loader raises in the child, which then ends without an answer.
    unreadable = MapFile(path="m.yml", text=cast(str, 42), blob_sha="d4")
    with pytest.raises(MapCheckError, match="ended without an answer"):
        await checks.check(unreadable)
