"""POST /webhook over real HTTP: every status code of the contract, dedupe, bursts, sweeps."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.metrics import Metrics
from bot.pr import PullRequestRef
from bot.web.app import create_app
from bot.web.state import LEDGER_KEY, SCHEDULER_KEY
from bot.web.webhook import MAX_BODY_BYTES
from tests.web.deliveries import (
    INSTALLATION_ID,
    Delivery,
    RecordingEvaluate,
    load_payload,
    make_settings,
    ref,
    with_installation,
)

MakeClient = Callable[..., Awaitable[TestClient[Any, web.Application]]]


@pytest.fixture
def recorder() -> RecordingEvaluate:
    return RecordingEvaluate()


@pytest.fixture
def make_client(aiohttp_client: Any, recorder: RecordingEvaluate) -> MakeClient:
    async def make(**settings_overrides: Any) -> TestClient[Any, web.Application]:
        async def open_pull_requests(
            installation_id: int, owner: str, repo: str
        ) -> Sequence[PullRequestRef]:
            return [PullRequestRef(installation_id, owner, repo, n) for n in (10, 11)]

        app = create_app(
            make_settings(**settings_overrides),
            evaluate=recorder,
            open_pull_requests=open_pull_requests,
        )
        client: TestClient[Any, web.Application] = await aiohttp_client(app)
        return client

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> TestClient[Any, web.Application]:
    return await make_client()


@pytest.fixture
def opened(reference_dir: Path) -> dict[str, Any]:
    return load_payload(reference_dir, "pull_request/opened.payload.json")


async def post(client: TestClient[Any, web.Application], delivery: Delivery) -> tuple[int, Any]:
    # A stream, not bytes: aiohttp warns on large raw bodies (and warnings are errors here).
    body = io.BytesIO(delivery.body)
    response = await client.post("/webhook", data=body, headers=delivery.headers)
    return response.status, await response.json()


async def drain(client: TestClient[Any, web.Application]) -> None:
    async with asyncio.timeout(5):
        await client.app[SCHEDULER_KEY].drain()


async def test_a_signed_pull_request_event_is_queued_and_evaluated(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    opened: dict[str, Any],
) -> None:
    delivery = Delivery.of("pull_request", opened)
    status, body = await post(client, delivery)
    assert (status, body) == (202, {"status": "queued", "delivery": delivery.delivery_id})
    await drain(client)
    assert recorder.calls == [PullRequestRef(1, "Codertocat", "Hello-World", 2)]


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=",
        "sha256=" + "0" * 64,
        "sha1=0123456789abcdef0123456789abcdef01234567",
        "sha256=naïve",
    ],
    ids=["missing", "empty", "no-digest", "wrong-digest", "sha1", "non-ascii"],
)
async def test_a_bad_or_missing_signature_is_401_and_calls_nothing(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    opened: dict[str, Any],
    signature: str | None,
) -> None:
    delivery = Delivery.of("pull_request", opened)
    headers = delivery.headers
    del headers["X-Hub-Signature-256"]
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    response = await client.post("/webhook", data=delivery.body, headers=headers)
    assert response.status == 401
    assert (await response.json())["status"] == "unauthorized"
    await drain(client)
    assert recorder.calls == []


async def test_a_signature_with_another_secret_or_of_another_body_is_401(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    opened: dict[str, Any],
) -> None:
    other_secret = Delivery.of("pull_request", opened, secret="not the secret")
    assert (await post(client, other_secret))[0] == 401
    tampered = Delivery.of("pull_request", opened)
    headers = tampered.headers
    response = await client.post("/webhook", data=tampered.body + b" ", headers=headers)
    assert response.status == 401
    await drain(client)
    assert recorder.calls == []


@pytest.mark.parametrize("missing", ["X-GitHub-Event", "X-GitHub-Delivery"])
async def test_a_signed_delivery_without_its_headers_is_400(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    opened: dict[str, Any],
    missing: str,
) -> None:
    delivery = Delivery.of("pull_request", opened)
    headers = delivery.headers
    del headers[missing]
    response = await client.post("/webhook", data=delivery.body, headers=headers)
    assert response.status == 400
    assert missing in (await response.json())["reason"]
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b'"a string"', "not a JSON object"),
        (b"", "not JSON"),
        (b'{"number": NaN}', "not JSON"),
    ],
)
async def test_a_signed_body_that_is_not_a_json_object_is_400(
    client: TestClient[Any, web.Application], body: bytes, reason: str
) -> None:
    status, answer = await post(client, Delivery(event="pull_request", body=body))
    assert status == 400
    assert reason in answer["reason"]


async def test_a_signed_payload_of_the_wrong_shape_is_400_and_may_be_redelivered(
    client: TestClient[Any, web.Application], opened: dict[str, Any]
) -> None:
    del opened["pull_request"]
    delivery = Delivery.of("pull_request", opened)
    status, answer = await post(client, delivery)
    assert status == 400
    assert "pull_request" in answer["reason"]
    assert delivery.delivery_id not in client.app[LEDGER_KEY]._seen
    assert len(client.app[LEDGER_KEY]) == 0


async def test_a_duplicate_delivery_is_processed_once(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    opened: dict[str, Any],
) -> None:
    delivery = Delivery.of("pull_request", opened)
    assert (await post(client, delivery))[0] == 202
    await drain(client)
    status, body = await post(client, delivery)
    assert (status, body["status"]) == (200, "duplicate")
    await drain(client)
    assert len(recorder.calls) == 1


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("ping", "ping/with-app_id.payload.json"),
        ("pull_request", "pull_request/closed.payload.json"),
        ("check_run", "check_run/completed.payload.json"),
        ("star", "ping/payload.json"),
    ],
)
async def test_an_event_or_action_not_evaluated_is_200_ignored(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    reference_dir: Path,
    event: str,
    payload: str,
) -> None:
    delivery = Delivery.of(event, with_installation(load_payload(reference_dir, payload)))
    status, body = await post(client, delivery)
    assert (status, body) == (200, {"status": "ignored", "delivery": delivery.delivery_id})
    await drain(client)
    assert recorder.calls == []


async def test_a_body_above_25_mib_is_413_before_it_is_read(
    client: TestClient[Any, web.Application], recorder: RecordingEvaluate
) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    delivery = Delivery(event="pull_request", body=body)
    response = await client.post("/webhook", data=io.BytesIO(body), headers=delivery.headers)
    assert response.status == 413
    assert (await response.json())["status"] == "too_large"


async def test_a_chunked_body_growing_above_25_mib_is_413(
    client: TestClient[Any, web.Application],
) -> None:
    async def chunks() -> Any:
        piece = b"x" * (1024 * 1024)
        for _ in range(26):
            yield piece

    headers = Delivery(event="pull_request", body=b"").headers
    response = await client.post("/webhook", data=chunks(), headers=headers)
    assert response.status == 413


async def test_a_body_of_exactly_25_mib_is_accepted_for_verification(
    client: TestClient[Any, web.Application],
) -> None:
    body = b" " * (MAX_BODY_BYTES - 2) + b"{}"
    status, answer = await post(client, Delivery(event="ping", body=body))
    assert (status, answer["status"]) == (200, "ignored")


async def test_a_full_queue_is_503_and_the_delivery_can_be_redelivered(
    make_client: MakeClient, recorder: RecordingEvaluate, opened: dict[str, Any]
) -> None:
    client = await make_client(queue_size=1, coalesce_seconds=0.2)
    first = Delivery.of("pull_request", opened)
    assert (await post(client, first))[0] == 202
    opened["pull_request"]["number"] = 3
    second = Delivery.of("pull_request", opened)
    status, body = await post(client, second)
    assert (status, body["status"]) == (503, "queue_full")
    await drain(client)
    status, body = await post(client, second)
    assert (status, body["status"]) == (202, "queued"), "a refused delivery is not a duplicate"
    await drain(client)
    assert [call.number for call in recorder.calls] == [2, 3]


async def test_a_burst_of_50_events_on_one_pr_yields_at_most_2_evaluations(
    make_client: MakeClient, recorder: RecordingEvaluate, reference_dir: Path
) -> None:
    client = await make_client(coalesce_seconds=0.2)
    names = [
        ("pull_request", "pull_request/synchronize.payload.json"),
        ("pull_request", "pull_request/labeled.payload.json"),
        ("pull_request_review", "pull_request_review/submitted.payload.json"),
    ]
    deliveries = [
        Delivery.of(event, load_payload(reference_dir, name))
        for event, name in (names[i % len(names)] for i in range(50))
    ]
    statuses = await asyncio.gather(*(post(client, delivery) for delivery in deliveries))
    assert {status for status, _ in statuses} == {202}
    await drain(client)
    assert 1 <= len(recorder.calls) <= 2
    assert set(recorder.calls) == {PullRequestRef(1, "Codertocat", "Hello-World", 2)}


async def test_an_installation_sweeps_the_open_prs_of_its_repositories(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    reference_dir: Path,
) -> None:
    payload = load_payload(reference_dir, "installation/created.payload.json")
    status, body = await post(client, Delivery.of("installation", payload))
    assert (status, body["status"]) == (202, "queued")
    await drain(client)
    assert sorted(recorder.calls) == [
        PullRequestRef(957387, "Codertocat", "Hello-World", 10),
        PullRequestRef(957387, "Codertocat", "Hello-World", 11),
    ]


async def test_a_map_pushed_to_the_owners_github_repository_sweeps_the_owner(
    aiohttp_client: Any, recorder: RecordingEvaluate, reference_dir: Path
) -> None:
    async def open_pull_requests(
        installation_id: int, owner: str, repo: str
    ) -> Sequence[PullRequestRef]:
        return [PullRequestRef(installation_id, owner, repo, 1)]

    async def installation_repositories(installation_id: int, owner: str) -> Sequence[str]:
        return ["api", ".github"]

    app = create_app(
        make_settings(),
        evaluate=recorder,
        open_pull_requests=open_pull_requests,
        installation_repositories=installation_repositories,
    )
    client = await aiohttp_client(app)
    payload = load_payload(reference_dir, "push/with-new-branch.payload.json")
    payload["repository"]["name"] = ".github"
    payload["commits"][0]["added"] = [".github/affiliations.yml"]
    status, body = await post(client, Delivery.of("push", payload))
    assert (status, body["status"]) == (202, "queued")
    await drain(client)
    assert sorted(recorder.calls) == [
        PullRequestRef(1, "Codertocat", ".github", 1),
        PullRequestRef(1, "Codertocat", "api", 1),
    ]


async def test_an_issue_comment_on_a_pr_is_queued(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    reference_dir: Path,
) -> None:
    payload = with_installation(load_payload(reference_dir, "issue_comment/created.payload.json"))
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/x/y/pulls/1"}
    assert (await post(client, Delivery.of("issue_comment", payload)))[0] == 202
    await drain(client)
    assert recorder.calls == [ref(payload["issue"]["number"])]
    assert recorder.calls[0].installation_id == INSTALLATION_ID


async def test_a_handler_crash_releases_the_delivery_for_redelivery(
    client: TestClient[Any, web.Application],
    opened: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("handler bug")

    monkeypatch.setattr("bot.web.webhook.router.dispatch", crash)
    delivery = Delivery.of("pull_request", opened)
    response = await client.post("/webhook", data=delivery.body, headers=delivery.headers)
    assert response.status == 500
    assert delivery.delivery_id not in client.app[LEDGER_KEY]._seen


async def test_healthz_reports_the_queue_and_the_workers(
    make_client: MakeClient, opened: dict[str, Any]
) -> None:
    client = await make_client(coalesce_seconds=10.0, workers=3)
    await post(client, Delivery.of("pull_request", opened))
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "queue_depth": 1,
        "running": 0,
        "workers": 3,
        "workers_alive": 3,
    }


async def test_healthz_is_503_when_workers_died(client: TestClient[Any, web.Application]) -> None:
    await client.app[SCHEDULER_KEY].stop()
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["workers_alive"] == 0


async def test_metrics_count_deliveries_by_event_action_and_outcome(
    client: TestClient[Any, web.Application], opened: dict[str, Any]
) -> None:
    delivery = Delivery.of("pull_request", opened)
    await post(client, delivery)
    await post(client, delivery)
    unsigned = Delivery.of("pull_request", opened, secret="wrong")
    await post(client, unsigned)
    await drain(client)
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    opened_prefix = 'coi_webhook_deliveries_total{action="opened",event="pull_request"'
    for line in [
        opened_prefix + ',outcome="queued"} 1.0',
        opened_prefix + ',outcome="duplicate"} 1.0',
        'coi_webhook_deliveries_total{action="-",event="-",outcome="unauthorized"} 1.0',
        "coi_queue_depth 0.0",
    ]:
        assert line in text.splitlines()


async def test_an_injected_metrics_registry_is_the_one_served(aiohttp_client: Any) -> None:
    metrics = Metrics()
    metrics.evaluations.labels(outcome="success").inc(3)
    app = create_app(make_settings(), evaluate=RecordingEvaluate(), metrics=metrics)
    client = await aiohttp_client(app)
    text = await (await client.get("/metrics")).text()
    assert 'coi_evaluations_total{outcome="success"} 3.0' in text.splitlines()


async def test_without_an_injected_evaluate_the_engine_does_the_work(
    aiohttp_client: Any, app_private_key_pem: str
) -> None:
    from bot.engine import Engine
    from bot.settings import Secret
    from bot.web.state import SESSION_KEY, WIRING_KEY

    settings = make_settings(private_key=Secret(app_private_key_pem))
    client = await aiohttp_client(create_app(settings))
    wiring = client.app[WIRING_KEY]
    engine = getattr(wiring.evaluate, "__self__", None)
    assert isinstance(engine, Engine)
    assert wiring.open_pull_requests == engine.open_pull_requests
    assert wiring.installation_repositories == engine.installation_repositories
    assert wiring.forget_map == engine.map_changed
    assert not client.app[SESSION_KEY].closed
    assert (await client.get("/healthz")).status == 200


def test_listers_without_an_evaluate_are_refused() -> None:
    async def open_pull_requests(
        installation_id: int, owner: str, repo: str
    ) -> Sequence[PullRequestRef]:
        return []

    with pytest.raises(ValueError, match="need an evaluate"):
        create_app(make_settings(), open_pull_requests=open_pull_requests)
