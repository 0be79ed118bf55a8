"""The router parses only what handlers read (bot.handlers.payload): for every recorded payload,
and for payloads whose read fields hold anything JSON can, the handlers decide exactly what they
decide on the full parse."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gidgethub import sansio
from githubsim.reference import PAYLOAD_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.handlers import router
from bot.handlers.payload import Malformed, parse
from bot.intents import ButtonClick, CommentEdit
from bot.pr import WorkRef
from tests.web.deliveries import with_installation

MAP_PATH = ".github/affiliations.yml"


class Recorder:
    """Implements bot.handlers.Scheduling: every call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def schedule(
        self, ref: WorkRef, *, click: ButtonClick | None = None, edit: CommentEdit | None = None
    ) -> bool:
        self.calls.append(("schedule", ref, click, edit))
        return True

    def sweep(self, installation_id: int, owner: str, repo: str) -> bool:
        self.calls.append(("sweep", installation_id, owner, repo))
        return True

    def sweep_owner(self, installation_id: int, owner: str) -> bool:
        self.calls.append(("sweep_owner", installation_id, owner))
        return True

    def map_changed(self, owner: str, repo: str) -> None:
        self.calls.append(("map_changed", owner, repo))


def recorded() -> list[tuple[str, dict[str, Any]]]:
    """(event, payload) of every recorded delivery, as an App receives it (with an installation),
    plus a push that changes the map, so that the push handler's reads are exercised too."""
    samples = []
    for path in sorted(PAYLOAD_EXAMPLES.glob("*/*.json")):
        data = with_installation(json.loads(path.read_text(encoding="utf-8")))
        samples.append((path.parent.name, data))
        if path.parent.name == "push":
            pushed = with_installation(data)
            pushed["ref"] = f"refs/heads/{pushed['repository']['default_branch']}"
            pushed["head_commit"] = {"added": [], "modified": [MAP_PATH], "removed": []}
            samples.append(("push", pushed))
    return samples


SAMPLES = recorded()


async def outcome(event: str, data: Any) -> tuple[list[tuple[object, ...]], str | None]:
    """What the handlers queue for `data`, and the exception they raise, if any."""
    scheduling = Recorder()
    try:
        await router.dispatch(
            sansio.Event(data, event=event, delivery_id="d"),
            scheduler=scheduling,
            map_path=MAP_PATH,
        )
    except Exception as error:  # a handler's fault on odd input must be the same fault
        return scheduling.calls, type(error).__name__
    return scheduling.calls, None


@pytest.mark.parametrize(("event", "data"), SAMPLES, ids=[event for event, _ in SAMPLES])
async def test_every_recorded_payload_is_routed_as_its_full_parse(
    event: str, data: dict[str, Any]
) -> None:
    body = json.dumps(data).encode()
    full = await outcome(event, json.loads(body))
    assert await outcome(event, parse(body)) == full


def test_the_projection_keeps_only_what_handlers_read() -> None:
    _, data = next(sample for sample in SAMPLES if sample[0] == "pull_request")
    projected = parse(json.dumps(data).encode())
    pull = data["pull_request"]
    assert projected["pull_request"] == {
        "number": pull["number"],
        "merged": pull["merged"],
        "merged_by": pull["merged_by"],
    }
    assert projected["repository"]["owner"] == {"login": data["repository"]["owner"]["login"]}
    assert "title" not in projected["pull_request"]
    assert len(json.dumps(projected)) < len(json.dumps(data)) / 20


def read_paths(projected: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every key path the projection kept: the fields some handler reads."""
    paths: list[tuple[str | int, ...]] = []
    if isinstance(projected, dict):
        for key, value in projected.items():
            paths.append((*prefix, key))
            paths.extend(read_paths(value, (*prefix, key)))
    elif isinstance(projected, list):
        for index, value in enumerate(projected):
            paths.extend(read_paths(value, (*prefix, index)))
    return paths


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
async def test_any_value_in_a_read_field_is_routed_as_its_full_parse(data: st.DataObject) -> None:
    event, payload = data.draw(st.sampled_from(SAMPLES))
    payload = json.loads(json.dumps(payload))
    paths = read_paths(parse(json.dumps(payload).encode()))
    *parents, last = data.draw(st.sampled_from(paths))
    holder: Any = payload
    for key in parents:
        holder = holder[key]
    if data.draw(st.booleans()):
        holder[last] = data.draw(json_values)
    elif isinstance(holder, dict):
        del holder[last]
    body = json.dumps(payload).encode()
    assert await outcome(event, parse(body)) == await outcome(event, json.loads(body))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"", "not JSON"),
        (b'{"action": "\xff"}', "not JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b'"a string"', "not a JSON object"),
        (b"null", "not a JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_malformed(body: bytes, reason: str) -> None:
    with pytest.raises(Malformed, match=reason):
        parse(body)
