"""Fuzz POST /webhook with at least 10,000 requests: zero 5xx, nothing unsigned acted on, every
acknowledged delivery routed (a malformed one logged and counted), healthy after.

Payloads are valid-but-odd instances of GitHub's own webhook JSON Schemas
(githubsim.reference: schemas/), drawn by hypothesis through a small schema interpreter below
(type, enum, const, properties/required, items, oneOf/anyOf/allOf, $ref across files). Each
drawn case is sent five ways (signed; signed over other bytes; unsigned; signed with odd
headers and body; unsigned junk of odd size and content type), then as 20 signed mutants
(keys dropped, values swapped for odd ones, wrapped, truncated), seeded by hypothesis.

The server runs on its own event loop in this (synchronous) test, so that hypothesis drives it.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import random
import string
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.intents import Intents
from bot.pr import WorkRef
from bot.web.app import create_app
from bot.web.signature import sign
from bot.web.state import INBOX_KEY, METRICS_KEY
from bot.web.webhook import MAX_BODY_BYTES
from tests.web.deliveries import WEBHOOK_SECRET, make_settings

SIGNED_INSTALLATION = 4242
UNSIGNED_INSTALLATION = 666  # every unsigned or forged request claims this installation
MUTANTS_PER_CASE = 20
REQUESTS_PER_CASE = 5 + MUTANTS_PER_CASE
CASES = int(os.environ.get("COI_FUZZ_CASES", "400"))  # x 25 = 10,000 requests
MAX_DEPTH = 4  # beyond it, objects and arrays are empty: odd, and keeps 10,000 draws fast
ODD_STRINGS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "\u0000", "../../etc/passwd", "%s%s%n", "\u202e", "🙂" * 5]),
)

Json = Any


class SchemaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, Json] = {}

    def load(self, path: Path) -> Json:
        path = path.resolve()
        if path not in self._cache:
            self._cache[path] = json.loads(path.read_text(encoding="utf-8"))
        return self._cache[path]

    def resolve(self, ref: str, *, base: Path) -> tuple[Json, Path]:
        file_part = ref.split("#", 1)[0]
        for candidate in (base.parent / file_part, self.root / file_part):
            if candidate.is_file():
                return self.load(candidate), candidate
        raise FileNotFoundError(f"{ref} from {base}")

    def event_schemas(self) -> list[tuple[str, Path]]:
        return sorted(
            (path.parent.name, path)
            for path in self.root.glob("*/*.schema.json")
            if path.parent.name != "common"
        )


def _merge(schemas: list[Json]) -> Json:
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in schemas:
        merged["properties"].update(part.get("properties") or {})
        merged["required"] += part.get("required") or []
    return merged


@st.composite
def instance(draw: st.DrawFn, schema: Json, store: SchemaStore, base: Path, depth: int = 0) -> Json:
    if not isinstance(schema, dict) or not schema:
        return draw(st.one_of(st.none(), st.integers(), ODD_STRINGS))
    if "$ref" in schema:
        target, path = store.resolve(schema["$ref"], base=base)
        return draw(instance(target, store, path, depth))
    if "allOf" in schema:
        parts = []
        for part in schema["allOf"]:
            resolved, path = (
                store.resolve(part["$ref"], base=base) if "$ref" in part else (part, base)
            )
            parts.append(resolved)
            base = path if "$ref" in part else base
        return draw(instance(_merge(parts), store, base, depth))
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return draw(instance(draw(st.sampled_from(schema[key])), store, base, depth))
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return draw(st.sampled_from(schema["enum"]))
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = draw(st.sampled_from(kind))
    if kind == "object" or "properties" in schema:
        result: dict[str, Json] = {}
        if depth >= MAX_DEPTH:
            return result
        required = set(schema.get("required") or ())
        for name, sub in (schema.get("properties") or {}).items():
            if name in required or draw(st.booleans()):
                result[name] = draw(instance(sub, store, base, depth + 1))
        return result
    if kind == "array":
        if depth >= MAX_DEPTH:
            return []
        item = schema.get("items") or {}
        return draw(st.lists(instance(item, store, base, depth + 1), max_size=3))
    if kind == "string":
        return draw(ODD_STRINGS)
    if kind == "integer":
        return draw(st.integers(min_value=-(2**63), max_value=2**63))
    if kind == "number":
        return draw(st.floats(allow_nan=False, allow_infinity=False))
    if kind == "boolean":
        return draw(st.booleans())
    return None


class Target:
    """The real app with recording wiring, served on a loopback port of its own loop."""

    def __init__(self) -> None:
        self.evaluated: list[WorkRef] = []
        self.swept: list[int] = []
        self.statuses: Counter[int] = Counter()
        self.sent = 0

    async def start(self) -> None:
        async def evaluate(ref: WorkRef, intents: Intents) -> None:
            self.evaluated.append(ref)

        async def open_pull_requests(installation: int, owner: str, repo: str) -> list[Any]:
            self.swept.append(installation)
            return []

        async def installation_repositories(installation: int, owner: str) -> list[str]:
            self.swept.append(installation)
            return []

        self.app = app = create_app(
            make_settings(queue_size=1_000_000, coalesce_seconds=0.0),
            evaluate=evaluate,
            open_pull_requests=open_pull_requests,
            installation_repositories=installation_repositories,
        )
        self.server = TestServer(app)
        await self.server.start_server()
        self.session = aiohttp.ClientSession()
        self.url = str(self.server.make_url("/webhook"))

    async def close(self) -> None:
        await self.session.close()
        await self.server.close()

    async def post(self, body: bytes | io.BytesIO, headers: dict[str, str]) -> int:
        async with self.session.post(self.url, data=body, headers=headers) as response:
            await response.read()
        self.sent += 1
        self.statuses[response.status] += 1
        return response.status

    async def routed(self) -> float:
        """Acknowledged deliveries the router has finished with, whatever their outcome."""
        await self.app[INBOX_KEY].join()
        return sum(
            sample.value
            for metric in self.app[METRICS_KEY].registry.collect()
            for sample in metric.samples
            if sample.name == "coi_routed_deliveries_total"
        )

    async def healthy(self) -> bool:
        async with self.session.get(str(self.server.make_url("/healthz"))) as response:
            return response.status == 200 and (await response.json())["status"] == "ok"


def _headers(event: str, body: bytes | None, **extra: str) -> dict[str, str]:
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    if body is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret=WEBHOOK_SECRET)
    headers.update(extra)
    return headers


def _claiming(payload: Json, installation: int) -> bytes:
    if isinstance(payload, dict):
        payload = {**payload, "installation": {"id": installation}}
    return json.dumps(payload).encode()


ODD_VALUES: list[Json] = [None, "", 0, -1, 2**70, 1.5, True, [], {}, "x" * 1000, [None], {"id": {}}]


def _mutant(payload: Json, rng: random.Random) -> bytes:
    """A signed-worthy body GitHub would never send: a key dropped or mistyped, or cut short."""
    value = json.loads(json.dumps(payload))
    if isinstance(value, dict):
        value["installation"] = {"id": SIGNED_INSTALLATION}
    choice = rng.randrange(5)
    if choice == 0 and isinstance(value, dict) and value:
        value.pop(rng.choice(sorted(value)))
    elif choice == 1 and isinstance(value, dict) and value:
        key = rng.choice(sorted(value))
        inner = value[key]
        if isinstance(inner, dict) and inner:
            inner[rng.choice(sorted(inner))] = rng.choice(ODD_VALUES)
        else:
            value[key] = rng.choice(ODD_VALUES)
    elif choice == 2:
        value = rng.choice([[value], {"payload": value}, json.dumps(value)])
    encoded = json.dumps(value).encode()
    if choice == 3:
        return encoded[: rng.randrange(len(encoded) + 1)]
    if choice == 4:
        return encoded.replace(b'"', b"'", 1)
    return encoded


async def _send_case(
    target: Target, event: str, payload: Json, odd: dict[str, Any], seed: int
) -> None:
    rng = random.Random(seed)
    for _ in range(MUTANTS_PER_CASE):
        body = _mutant(payload, rng)
        status = await target.post(body, _headers(event, body))
        # Signed with both headers: the body is judged after the 202, never answered 400.
        assert status in (200, 202), (status, event, body[:200])
    signed = _claiming(payload, SIGNED_INSTALLATION)
    forged = _claiming(payload, UNSIGNED_INSTALLATION)
    status = await target.post(signed, _headers(event, signed))
    assert status in (200, 202), (status, event)
    # Signed over the genuine bytes, sent with the forged ones.
    assert (
        await target.post(
            forged,
            _headers(event, None, **{"X-Hub-Signature-256": sign(signed, secret=WEBHOOK_SECRET)}),
        )
        == 401
    )
    assert await target.post(forged, _headers(event, None)) == 401
    # Signed, with odd headers and an odd body.
    body = odd["body"]
    headers = _headers(odd["event"], body, **{"Content-Type": odd["content_type"]})
    if odd["drop"]:
        headers.pop(odd["drop"])
    assert await target.post(body, headers) in (200, 202, 400)
    # Unsigned junk, or a signature with the wrong scheme or secret.
    junk_headers = _headers(event, None, **{"Content-Type": odd["content_type"]})
    junk_headers["X-Hub-Signature-256"] = odd["bad_signature"]
    assert await target.post(odd["junk"], junk_headers) == 401


ODD = st.fixed_dictionaries(
    {
        "event": st.one_of(
            st.sampled_from(["pull_request", "push", "ping", "issue_comment", "check_run"]),
            st.text(alphabet=string.ascii_letters + "_-", min_size=1, max_size=30),
        ),
        "body": st.one_of(
            st.binary(max_size=200),
            st.just(b"[]"),
            st.just(b"null"),
            st.just(b'{"action": 1}'),
            st.just(b'{"pull_request": {"number": "1"}, "installation": {"id": "x"}}'),
            st.just(b'{"installation": {"id": 4242}, "repository": null, "action": "opened"}'),
        ),
        "content_type": st.sampled_from(
            ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "*/*"]
        ),
        "drop": st.sampled_from([None, None, "X-GitHub-Event", "X-GitHub-Delivery"]),
        "junk": st.one_of(st.binary(max_size=64), st.binary(min_size=4096, max_size=65536)),
        "bad_signature": st.sampled_from(
            ["", "sha256=", "sha1=abc", "sha256=" + "0" * 64, "sha256=zz", "md5=x" * 100]
        ),
    }
)


def test_ten_thousand_hostile_requests_leave_the_server_correct_and_healthy(
    reference_dir: Path,
) -> None:
    store = SchemaStore(reference_dir / "schemas")
    schemas = store.event_schemas()
    loop = asyncio.new_event_loop()
    target = Target()
    # 10,000 warning lines would cost more than the requests; the statuses are asserted instead.
    bot_logger = logging.getLogger("bot")
    level = bot_logger.level
    bot_logger.setLevel(logging.ERROR)
    loop.run_until_complete(target.start())
    try:

        @st.composite
        def case(draw: st.DrawFn) -> tuple[str, Json]:
            event, path = draw(st.sampled_from(schemas))
            return event, draw(instance(store.load(path), store, path))

        @settings(
            max_examples=CASES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=case(), odd=ODD, seed=st.integers(min_value=0, max_value=2**32))
        def one(case: tuple[str, Json], odd: dict[str, Any], seed: int) -> None:
            loop.run_until_complete(_send_case(target, case[0], case[1], odd, seed))

        one()
        too_large = io.BytesIO(b"x" * (MAX_BODY_BYTES + 1))
        assert loop.run_until_complete(target.post(too_large, _headers("push", None))) == 413
        assert loop.run_until_complete(target.healthy())
        assert loop.run_until_complete(target.routed()) == target.statuses[202]
    finally:
        bot_logger.setLevel(level)
        loop.run_until_complete(target.close())
        loop.close()

    assert target.sent >= CASES * REQUESTS_PER_CASE
    assert not [status for status in target.statuses if status >= 500], target.statuses
    assert all(ref.installation_id != UNSIGNED_INSTALLATION for ref in target.evaluated)
    assert UNSIGNED_INSTALLATION not in target.swept
    assert target.statuses[401] >= 3 * CASES
    assert target.statuses[202] > 0, "some drawn payloads must have been acted on"


def test_the_schema_interpreter_draws_valid_instances(reference_dir: Path) -> None:
    store = SchemaStore(reference_dir / "schemas")
    _, path = next(s for s in store.event_schemas() if s[0] == "ping")
    schema = store.load(path)

    @settings(max_examples=30, deadline=None, database=None)
    @given(value=instance(schema, store, path))
    def check(value: Json) -> None:
        assert isinstance(value, dict)
        assert set(schema["required"]) <= set(value)
        assert set(value) <= set(schema["properties"])

    check()
