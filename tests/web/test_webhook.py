"""POST /webhook over real HTTP: every status code of the contract, dedupe, bursts, sweeps, and
what the router does after the 202 (malformed bodies, handler faults, a full scheduler)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.logs import JsonFormatter
from bot.metrics import Metrics
from bot.pr import MapPushRef, PullRequestRef
from bot.web.app import ROUTER_KEY, create_app
from bot.web.state import FAULTS_KEY, INBOX_KEY, LEDGER_KEY, METRICS_KEY, SCHEDULER_KEY
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


def opened_ref(number: int) -> PullRequestRef:
    """The pull request the `opened` example names, renumbered."""
    return PullRequestRef(1, "Codertocat", "Hello-World", number)


async def post(client: TestClient[Any, web.Application], delivery: Delivery) -> tuple[int, Any]:
    # A stream, not bytes: aiohttp warns on large raw bodies (and warnings are errors here).
    body = io.BytesIO(delivery.body)
    response = await client.post("/webhook", data=body, headers=delivery.headers)
    return response.status, await response.json()


async def drain(client: TestClient[Any, web.Application]) -> None:
    async with asyncio.timeout(5):
        await client.app[INBOX_KEY].join()
        await client.app[SCHEDULER_KEY].drain()


def routed(client: TestClient[Any, web.Application], outcome: str, **labels: str) -> float:
    """How many acknowledged deliveries the router counted with this outcome (any event)."""
    wanted = {"outcome": outcome, **labels}
    return sum(
        sample.value
        for metric in client.app[METRICS_KEY].registry.collect()
        for sample in metric.samples
        if sample.name == "coi_routed_deliveries_total"
        and all(sample.labels[key] == value for key, value in wanted.items())
    )


@pytest.fixture
def json_log() -> Any:
    """The bot's log lines as JSON objects, formatted when logged (so with their context)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("bot")
    logger.addHandler(handler)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    logger.removeHandler(handler)


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
        (b"null", "not a JSON object"),
    ],
)
async def test_a_signed_body_that_is_not_a_json_object_is_acknowledged_then_logged_and_counted(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    json_log: Any,
    body: bytes,
    reason: str,
) -> None:
    delivery = Delivery(event="pull_request", body=body)
    status, answer = await post(client, delivery)
    assert (status, answer["status"]) == (202, "queued"), "nothing is parsed before the ack"
    await drain(client)
    assert routed(client, "malformed", event="pull_request") == 1
    warning = next(line for line in json_log() if "malformed" in line["message"])
    assert (warning["delivery"], warning["level"]) == (delivery.delivery_id, "warning")
    assert reason in warning["message"]
    assert recorder.calls == []
    # A redelivery would repeat the same bytes: the ID stays claimed, not asked again.
    assert delivery.delivery_id in client.app[LEDGER_KEY]._seen
    assert delivery.delivery_id not in client.app[FAULTS_KEY]


async def test_a_handler_fault_after_the_ack_is_logged_counted_released_and_kept_for_redelivery(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    opened: dict[str, Any],
    json_log: Any,
) -> None:
    del opened["pull_request"]  # the pull_request handler raises KeyError on it
    delivery = Delivery.of("pull_request", opened)
    status, answer = await post(client, delivery)
    assert (status, answer["status"]) == (202, "queued")
    await drain(client)
    fault = next(line for line in json_log() if line["level"] == "error")
    assert fault["delivery"] == delivery.delivery_id
    assert "KeyError: 'pull_request'" in fault["exception"]
    assert routed(client, "fault", event="pull_request", action="opened") == 1
    assert delivery.delivery_id not in client.app[LEDGER_KEY]._seen
    assert delivery.delivery_id in client.app[FAULTS_KEY]
    # GitHub's redelivery of the same ID is processed again, not answered as a duplicate.
    status, answer = await post(client, delivery)
    assert (status, answer["status"]) == (202, "queued")
    await drain(client)
    assert routed(client, "fault") == 2
    assert recorder.calls == []


async def test_a_redelivery_handled_after_a_fault_is_evaluated_and_leaves_the_failed_set(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    opened: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.handlers import router

    real_dispatch = router.dispatch
    faults = iter([KeyError("installation")])

    async def flaky(*args: Any, **kwargs: Any) -> None:
        fault = next(faults, None)
        if fault is not None:
            raise fault
        await real_dispatch(*args, **kwargs)

    monkeypatch.setattr("bot.web.webhook.router.dispatch", flaky)
    delivery = Delivery.of("pull_request", opened)
    assert (await post(client, delivery))[0] == 202
    await drain(client)
    assert delivery.delivery_id in client.app[FAULTS_KEY]
    assert (await post(client, delivery))[0] == 202
    await drain(client)
    assert recorder.calls == [PullRequestRef(1, "Codertocat", "Hello-World", 2)]
    assert delivery.delivery_id not in client.app[FAULTS_KEY]
    assert routed(client, "queued") == 1


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
    [("ping", "ping/with-app_id.payload.json"), ("star", "ping/payload.json")],
)
async def test_an_event_no_handler_wants_is_200_ignored_from_its_header(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    reference_dir: Path,
    event: str,
    payload: str,
) -> None:
    delivery = Delivery.of(event, with_installation(load_payload(reference_dir, payload)))
    status, body = await post(client, delivery)
    assert (status, body) == (200, {"status": "ignored", "delivery": delivery.delivery_id})
    assert client.app[INBOX_KEY].depth == 0
    await drain(client)
    assert recorder.calls == []
    assert len(client.app[LEDGER_KEY]) == 0


@pytest.mark.parametrize(
    ("event", "payload", "action"),
    [
        ("pull_request", "pull_request/converted_to_draft.payload.json", "converted_to_draft"),
        ("check_run", "check_run/completed.payload.json", "completed"),
    ],
)
async def test_an_action_no_handler_acts_on_is_acknowledged_then_counted_ignored(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    reference_dir: Path,
    event: str,
    payload: str,
    action: str,
) -> None:
    delivery = Delivery.of(event, with_installation(load_payload(reference_dir, payload)))
    status, body = await post(client, delivery)
    assert (status, body) == (202, {"status": "queued", "delivery": delivery.delivery_id})
    await drain(client)
    assert recorder.calls == []
    assert routed(client, "ignored", event=event, action=action) == 1


def test_the_events_answered_from_their_header_are_exactly_those_without_handlers() -> None:
    from bot.web.webhook import HANDLED_EVENTS

    assert {"pull_request", "pull_request_review", "issue_comment", "push"} <= HANDLED_EVENTS
    assert {"check_suite", "check_run", "installation", "installation_repositories"} <= (
        HANDLED_EVENTS
    )
    assert "issues" in HANDLED_EVENTS  # votes on issues
    assert not {"ping", "star", "fork"} & HANDLED_EVENTS


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


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise TimeoutError("the condition never held")


async def test_a_full_scheduler_holds_the_router_back_and_a_full_inbox_is_503(
    make_client: MakeClient, recorder: RecordingEvaluate, opened: dict[str, Any]
) -> None:
    client = await make_client(queue_size=1, inbox_size=1, coalesce_seconds=0.3)
    metrics = client.app[METRICS_KEY]
    sent = []
    for number in (2, 3, 4, 5):
        opened["pull_request"]["number"] = number
        sent.append(Delivery.of("pull_request", opened))
    # 2 fills the scheduler; the router holds 3 and waits for room; 4 fills the inbox.
    assert (await post(client, sent[0]))[0] == 202
    assert (await post(client, sent[1]))[0] == 202
    await until(lambda: (metrics.registry.get_sample_value("coi_routing_waits_total") or 0) > 0)
    assert (await post(client, sent[2]))[0] == 202
    status, body = await post(client, sent[3])
    assert (status, body["status"]) == (503, "inbox_full")
    assert sent[3].delivery_id not in client.app[LEDGER_KEY]._seen, "free to be redelivered"
    await drain(client)
    assert recorder.calls == [opened_ref(n) for n in (2, 3, 4)], "nothing acknowledged is lost"
    status, body = await post(client, sent[3])
    assert (status, body["status"]) == (202, "queued"), "a refused delivery is not a duplicate"
    await drain(client)
    assert recorder.calls == [opened_ref(n) for n in (2, 3, 4, 5)]
    assert routed(client, "queued") == 4


async def test_a_burst_of_50_events_on_one_pr_yields_at_most_2_evaluations(
    make_client: MakeClient, recorder: RecordingEvaluate, reference_dir: Path
) -> None:
    client = await make_client(coalesce_seconds=0.2)
    names = [
        ("pull_request", "pull_request/synchronize.payload.json"),
        ("pull_request", "pull_request/labeled.payload.json"),
        ("pull_request_review", "pull_request_review/submitted.payload.json"),
    ]
    # Fifty distinct bodies: the same body twice is a replay, answered as a duplicate.
    deliveries = [
        Delivery.of(event, {**load_payload(reference_dir, name), "burst_index": index})
        for index, (event, name) in enumerate(names[i % len(names)] for i in range(50))
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
    pushes = [ref for ref in recorder.calls if isinstance(ref, MapPushRef)]
    assert [(ref.repo, ref.head_sha) for ref in pushes] == [(".github", payload["after"])]
    assert sorted(ref for ref in recorder.calls if isinstance(ref, PullRequestRef)) == [
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


async def test_an_exception_on_the_request_path_is_500_logged_and_released(
    client: TestClient[Any, web.Application],
    recorder: RecordingEvaluate,
    opened: dict[str, Any],
    json_log: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken_offer(delivery: Any) -> bool:
        raise AttributeError("a bug in the inbox")

    monkeypatch.setattr(client.app[INBOX_KEY], "offer", broken_offer)
    delivery = Delivery.of("pull_request", opened)
    status, body = await post(client, delivery)
    assert (status, body["status"]) == (500, "error")
    assert delivery.delivery_id not in client.app[LEDGER_KEY]._seen
    failure = next(line for line in json_log() if "exception" in line)
    assert failure["delivery"] == delivery.delivery_id
    assert "a bug in the inbox" in failure["exception"]
    monkeypatch.undo()
    assert (await post(client, delivery))[0] == 202, "GitHub's redelivery is processed"
    await drain(client)
    assert len(recorder.calls) == 1


async def test_a_handler_crash_after_the_ack_is_a_fault_not_a_400(
    client: TestClient[Any, web.Application],
    opened: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("handler bug")

    monkeypatch.setattr("bot.web.webhook.router.dispatch", crash)
    delivery = Delivery.of("pull_request", opened)
    status, _ = await post(client, delivery)
    assert status == 202
    await drain(client)
    assert delivery.delivery_id not in client.app[LEDGER_KEY]._seen
    assert delivery.delivery_id in client.app[FAULTS_KEY]
    assert routed(client, "fault") == 1


async def test_healthz_reports_the_queue_and_the_workers(
    make_client: MakeClient, opened: dict[str, Any]
) -> None:
    client = await make_client(coalesce_seconds=10.0, workers=3)
    await post(client, Delivery.of("pull_request", opened))
    await client.app[INBOX_KEY].join()
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "queue_depth": 1,
        "running": 0,
        "workers": 3,
        "workers_alive": 3,
        "router_alive": True,
        "inbox_alive": True,
        "background_jobs_alive": True,
    }


async def test_healthz_is_503_when_workers_died(client: TestClient[Any, web.Application]) -> None:
    await client.app[SCHEDULER_KEY].stop()
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["workers_alive"] == 0


async def test_a_router_that_fails_once_is_started_again(
    client: TestClient[Any, web.Application],
    opened: dict[str, Any],
    recorder: RecordingEvaluate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox = client.app[INBOX_KEY]
    take = inbox.take
    failures = iter([RuntimeError("a bug in take")])

    async def failing_once() -> Any:
        for failure in failures:
            raise failure
        return await take()

    monkeypatch.setattr(inbox, "take", failing_once)
    await asyncio.sleep(0.2)  # the router's waiting take() returns only with a delivery
    assert (await post(client, Delivery.of("pull_request", opened)))[0] == 202
    await drain(client)
    assert len(recorder.calls) == 1
    assert (await client.get("/healthz")).status == 200
    metrics = client.app[METRICS_KEY]
    assert metrics.registry.get_sample_value("coi_router_restarts_total") == 1


async def test_healthz_is_503_when_the_router_keeps_failing(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.web.webhook.RETRY_SECONDS", 0.0)
    client = await make_client()

    async def broken() -> Any:
        raise RuntimeError("a bug in take")

    router = client.app[ROUTER_KEY]
    await router.stop(drain_seconds=0.1)
    router._task = None
    monkeypatch.setattr(client.app[INBOX_KEY], "take", broken)
    router._retry_seconds = 0.0
    router.start()
    for _ in range(100):
        if not router.alive:
            break
        await asyncio.sleep(0.01)
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["router_alive"] is False


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
    door = 'coi_webhook_deliveries_total{action="-",event="pull_request"'
    for line in [
        door + ',outcome="queued"} 1.0',
        door + ',outcome="duplicate"} 1.0',
        'coi_webhook_deliveries_total{action="-",event="-",outcome="unauthorized"} 1.0',
        'coi_routed_deliveries_total{action="opened",event="pull_request",outcome="queued"} 1.0',
        "coi_queue_depth 0.0",
        "coi_inbox_depth 0.0",
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
    aiohttp_client: Any, tmp_path: Path
) -> None:
    from bot.engine import Engine
    from bot.settings import Secret
    from bot.stage import APP_ID, generate_app_key
    from bot.web.state import SESSION_KEY, WIRING_KEY
    from githubsim import GitHubSimulator
    from tests.e2e.conftest import MAP, REPO, seed_simulator
    from tests.web.deliveries import WEBHOOK_SECRET

    private_pem, public_pem = generate_app_key()
    sim = GitHubSimulator(
        app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=WEBHOOK_SECRET
    )
    await sim.start()
    try:
        bundled = tmp_path / "map.yml"
        bundled.write_text(MAP)
        settings = make_settings(
            app_id=str(APP_ID),
            private_key=Secret(private_pem),
            api_url=sim.url,
            graphql_url=sim.graphql_url,
            bundled_map=bundled,
            reconcile_minutes=0.0,  # only the delivery below may call the simulator
            redeliver_minutes=0.0,
        )
        client = await aiohttp_client(create_app(settings))
        wiring = client.app[WIRING_KEY]
        engine = getattr(wiring.evaluate, "__self__", None)
        assert isinstance(engine, Engine)
        assert wiring.open_pull_requests == engine.open_pull_requests
        assert wiring.installation_repositories == engine.installation_repositories
        assert wiring.forget_map == engine.map_changed
        assert not client.app[SESSION_KEY].closed
        assert (await client.get("/healthz")).status == 200
        # The work itself: a PR opened on "GitHub" gets its check run from the engine.
        seed_simulator(sim)
        sim.webhook_url = str(client.make_url("/webhook"))
        number = await sim.open_pull_request(
            REPO, author="alice", title="Rework core", files={"core/engine.py": "x = 1\n"}
        )
        # The simulator builds GitHub's GraphQL schema on its first query: seconds, once.
        async with asyncio.timeout(60):
            for _ in range(3):
                await sim.settle()
                await client.app[INBOX_KEY].join()
                await client.app[SCHEDULER_KEY].drain()
        runs = sim.check_runs(REPO, sim.head_sha(REPO, number))
        # A major change with no approval yet: waiting for one to judge.
        assert [(run["name"], run["status"]) for run in runs] == [("COI review", "in_progress")]
        assert sim.violations == []
    finally:
        await sim.close()


def test_listers_without_an_evaluate_are_refused() -> None:
    async def open_pull_requests(
        installation_id: int, owner: str, repo: str
    ) -> Sequence[PullRequestRef]:
        return []

    with pytest.raises(ValueError, match="need an evaluate"):
        create_app(make_settings(), open_pull_requests=open_pull_requests)
