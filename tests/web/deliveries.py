"""Signed webhook deliveries built from GitHub's recorded payloads (web and handler tests)."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.intents import Intents
from bot.pr import PullRequestRef, WorkRef
from bot.settings import Secret, Settings
from bot.web.signature import sign

WEBHOOK_SECRET = "It's a Secret to Everybody"
INSTALLATION_ID = 4242


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_id": "12345",
        "private_key": Secret("-----BEGIN PRIVATE KEY-----\nnot a real key\n"),
        "webhook_secret": Secret(WEBHOOK_SECRET),
        "workers": 4,
        "queue_size": 100,
        "coalesce_seconds": 0.02,
    }
    values.update(overrides)
    return Settings(**values)


def payload_files(reference_dir: Path) -> list[Path]:
    return sorted((reference_dir / "payloads").glob("*/*.json"))


def load_payload(reference_dir: Path, name: str) -> dict[str, Any]:
    """`name` is "<event>/<file>", e.g. "pull_request/opened.payload.json"."""
    data: dict[str, Any] = json.loads(
        (reference_dir / "payloads" / name).read_text(encoding="utf-8")
    )
    return data


def with_installation(
    data: dict[str, Any], installation_id: int = INSTALLATION_ID
) -> dict[str, Any]:
    """App deliveries always carry an installation; some recorded samples are repository hooks."""
    data = copy.deepcopy(data)
    data.setdefault("installation", {"id": installation_id, "node_id": "MDIz"})
    return data


@dataclass
class Delivery:
    event: str
    body: bytes
    delivery_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    secret: str = WEBHOOK_SECRET

    @classmethod
    def of(cls, event: str, data: Any, **kwargs: Any) -> Delivery:
        return cls(event=event, body=json.dumps(data).encode(), **kwargs)

    @property
    def headers(self) -> dict[str, str]:
        return {
            "X-GitHub-Event": self.event,
            "X-GitHub-Delivery": self.delivery_id,
            "X-Hub-Signature-256": sign(self.body, secret=self.secret),
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/tests",
        }


class RecordingEvaluate:
    """Stands in for Engine.evaluate: records each call; optionally raises or waits."""

    def __init__(self) -> None:
        self.calls: list[WorkRef] = []

    async def __call__(self, ref: WorkRef, intents: Intents) -> None:
        self.calls.append(ref)


def ref(number: int = 2, *, repo: str = "Hello-World", owner: str = "Codertocat") -> PullRequestRef:
    return PullRequestRef(installation_id=INSTALLATION_ID, owner=owner, repo=repo, number=number)
