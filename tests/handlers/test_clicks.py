"""`check_run.requested_action` carries the button and its clicker to the scheduler."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gidgethub import sansio

from bot.handlers import router
from bot.intents import ButtonClick, ButtonIdentifier
from bot.pr import PullRequestRef
from tests.web.deliveries import load_payload, with_installation


class ClickRecorder:
    def __init__(self) -> None:
        self.scheduled: list[tuple[PullRequestRef, ButtonClick | None]] = []

    def schedule(self, ref: PullRequestRef, *, click: ButtonClick | None = None) -> bool:
        self.scheduled.append((ref, click))
        return True

    def sweep(self, installation_id: int, owner: str, repo: str) -> bool:
        raise AssertionError("a click sweeps nothing")

    def sweep_owner(self, installation_id: int, owner: str) -> bool:
        raise AssertionError("a click sweeps nothing")

    def map_changed(self, owner: str, repo: str) -> None:
        raise AssertionError("a click changes no map")


def clicked(reference_dir: Path, identifier: str, *, sender: str = "alice") -> dict[str, Any]:
    payload = with_installation(
        load_payload(reference_dir, "check_run/requested_action.payload.json")
    )
    payload["requested_action"] = {"identifier": identifier}
    payload["sender"]["login"] = sender
    return payload


@pytest.mark.parametrize("identifier", ["recheck", "request"])
async def test_our_buttons_travel_with_the_clicker(
    identifier: ButtonIdentifier, reference_dir: Path
) -> None:
    payload = clicked(reference_dir, identifier, sender="mallory")
    scheduling = ClickRecorder()
    await router.dispatch(
        sansio.Event(payload, event="check_run", delivery_id="d"),
        scheduler=scheduling,
        map_path=".github/affiliations.yml",
    )
    numbers = sorted({p["number"] for p in payload["check_run"]["pull_requests"]})
    assert [(ref.number, click) for ref, click in scheduling.scheduled] == [
        (number, ButtonClick("mallory", identifier)) for number in numbers
    ]
    installation = payload["installation"]["id"]
    assert all(ref.installation_id == installation for ref, _ in scheduling.scheduled)


async def test_an_unknown_button_still_re_evaluates_without_a_click(reference_dir: Path) -> None:
    scheduling = ClickRecorder()
    await router.dispatch(
        sansio.Event(clicked(reference_dir, "fix_everything"), event="check_run", delivery_id="d"),
        scheduler=scheduling,
        map_path=".github/affiliations.yml",
    )
    assert scheduling.scheduled
    assert all(click is None for _, click in scheduling.scheduled)
