"""Check-run writes: create, update in place, skip when unchanged, annotations in batches."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from bot.github.checks import (
    ACTIONS,
    TEXT_LIMIT,
    annotation_json,
    stamped_external_id,
    write_check_run,
)
from bot.github.snapshot import ExistingCheckRun
from tests.github.fakes import FakeServer

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Output:
    conclusion: str = "success"
    title: str = "No conflict"
    summary: str = "All good"
    text: str = ""
    annotations: tuple[Any, ...] = ()
    fingerprint: str = "fp-1"


@dataclass(frozen=True)
class Note:
    path: str
    start_line: int
    end_line: int
    annotation_level: str = "failure"
    message: str = "bad"
    title: str | None = None


@dataclass
class Runs:
    server: FakeServer = field(default_factory=FakeServer)

    def __post_init__(self) -> None:
        self.server.route("POST", r"/repos/o/r/check-runs", lambda c, m: (201, {"id": 9}))
        self.server.route("PATCH", r"/repos/o/r/check-runs/(\d+)", lambda c, m: (200, {}))

    @property
    def bodies(self) -> list[Any]:
        return [call.body for call in self.server.calls]

    async def write(self, output: Output, existing: ExistingCheckRun | None = None) -> str:
        async def authorization() -> str:
            return "token t"

        return await write_check_run(
            self.server.factory(authorization),
            owner="o",
            repo="r",
            head_sha="h" * 40,
            check_name="COI review",
            output=output,
            existing=existing,
            now=NOW,
        )


def test_buttons_fit_githubs_limits() -> None:
    assert len(ACTIONS) <= 3
    for action in ACTIONS:
        assert len(action["label"]) <= 20
        assert len(action["description"]) <= 40
        assert len(action["identifier"]) <= 20
    assert [a["identifier"] for a in ACTIONS] == ["recheck", "request"]


async def test_a_new_run_is_created_completed() -> None:
    runs = Runs()
    assert await runs.write(Output(text="details")) == "created"
    (body,) = runs.bodies
    assert body["status"] == "completed"
    assert body["completed_at"] == "2026-04-01T12:00:00Z"
    assert body["external_id"] == stamped_external_id("fp-1")
    assert body["output"] == {"title": "No conflict", "summary": "All good", "text": "details"}
    assert runs.server.summary() == ["POST /repos/o/r/check-runs"]


def _body_errors(reference_dir: Path, path: str, method: str, body: Any) -> list[str]:
    """What GitHub's own description (openapi-subset.json) finds wrong with a request body."""
    spec = json.loads((reference_dir / "openapi-subset.json").read_text())
    content = spec["paths"][path][method]["requestBody"]["content"]["application/json"]
    return [error.message for error in Draft7Validator(content["schema"]).iter_errors(body)]


async def test_a_waiting_verdict_is_written_in_progress(reference_dir: Path) -> None:
    runs = Runs()
    assert await runs.write(Output(conclusion="in_progress")) == "created"
    existing = ExistingCheckRun(id=41, external_id="fp-0", conclusion=None, status="in_progress")
    assert await runs.write(Output(conclusion="in_progress"), existing) == "updated"
    created, updated = runs.bodies
    for body in (created, updated):
        # A conclusion or completed_at would complete the run: GitHub's status alone says it.
        assert body["status"] == "in_progress"
        assert "conclusion" not in body
        assert "completed_at" not in body
        assert body["started_at"] == "2026-04-01T12:00:00Z", "the reconciler's stamp"
    assert _body_errors(reference_dir, "/repos/{owner}/{repo}/check-runs", "post", created) == []
    update = "/repos/{owner}/{repo}/check-runs/{check_run_id}"
    assert _body_errors(reference_dir, update, "patch", updated) == []
    # What the writer used to send: GitHub knows no conclusion `in_progress`.
    wrong = {**created, "status": "completed", "conclusion": "in_progress"}
    assert _body_errors(reference_dir, "/repos/{owner}/{repo}/check-runs", "post", wrong)


async def test_a_completed_run_that_waits_again_is_written_blocking(reference_dir: Path) -> None:
    runs = Runs()
    passed = ExistingCheckRun(id=41, external_id="fp-0", conclusion="success")
    assert await runs.write(Output(conclusion="in_progress", title="waiting"), passed) == "updated"
    (body,) = runs.bodies
    # GitHub would keep the run completed, and `success`: it is written completed, blocking.
    assert (body["status"], body["conclusion"]) == ("completed", "action_required")
    assert body["completed_at"] == "2026-04-01T12:00:00Z"
    assert "started_at" not in body
    assert body["output"]["title"] == "waiting"
    assert body["external_id"] == stamped_external_id("fp-1"), "unchanged when judged again"
    update = "/repos/{owner}/{repo}/check-runs/{check_run_id}"
    assert _body_errors(reference_dir, update, "patch", body) == []


async def test_an_existing_run_is_patched_in_place() -> None:
    runs = Runs()
    existing = ExistingCheckRun(id=41, external_id="fp-0", conclusion="success")
    assert await runs.write(Output(), existing) == "updated"
    assert runs.server.summary() == ["PATCH /repos/o/r/check-runs/41"]
    assert "head_sha" not in runs.bodies[0]


async def test_an_unchanged_output_writes_nothing() -> None:
    runs = Runs()
    existing = ExistingCheckRun(
        id=41, external_id=stamped_external_id("fp-1"), conclusion="success"
    )
    assert await runs.write(Output(), existing) == "unchanged"
    assert runs.server.calls == []


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, ["POST"]),
        (50, ["POST"]),
        (51, ["POST", "PATCH"]),
        (120, ["POST", "PATCH", "PATCH"]),
    ],
)
async def test_annotations_go_fifty_per_request(count: int, expected: list[str]) -> None:
    runs = Runs()
    notes = tuple(Note(path="m.yml", start_line=i + 1, end_line=i + 1) for i in range(count))
    await runs.write(Output(conclusion="failure", annotations=notes))
    assert [call.method for call in runs.server.calls] == expected
    sizes = [len(body["output"].get("annotations", [])) for body in runs.bodies]
    assert sum(sizes) == count
    assert all(size <= 50 for size in sizes)
    for body in runs.bodies[1:]:
        assert set(body) == {"output"}
        assert body["output"]["title"]
    if count:
        assert "title" not in runs.bodies[0]["output"]["annotations"][0]  # None left out


async def test_oversized_text_is_clipped() -> None:
    runs = Runs()
    await runs.write(Output(summary="x" * (TEXT_LIMIT + 10)))
    summary = runs.bodies[0]["output"]["summary"]
    assert len(summary) == TEXT_LIMIT
    assert summary.endswith("(truncated: GitHub keeps at most 65,535 characters)")


def test_annotations_from_mappings_and_refusals() -> None:
    assert annotation_json({"path": "a", "title": None}) == {"path": "a"}
    with pytest.raises(TypeError, match="cannot send str"):
        annotation_json("a.yml:1")
    with pytest.raises(TypeError):
        annotation_json(Note)
