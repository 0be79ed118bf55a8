"""A click on one of the check run's buttons, carried from the webhook to the engine.

The clicker (`sender.login` of `check_run.requested_action`) must be allowed to run the matching
command, so the click travels with the PR through the scheduler instead of being folded into a
plain re-evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ButtonIdentifier = Literal["recheck", "request"]
BUTTON_IDENTIFIERS: tuple[ButtonIdentifier, ...] = ("recheck", "request")


@dataclass(frozen=True, slots=True)
class ButtonClick:
    login: str
    identifier: ButtonIdentifier

    def __post_init__(self) -> None:
        if self.identifier not in BUTTON_IDENTIFIERS:
            raise ValueError(
                f"unknown button {self.identifier!r}: the check run has 'recheck' and 'request'"
            )
        if not self.login:
            raise ValueError("a button click needs the clicker's login")
