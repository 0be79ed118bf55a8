"""Two bot processes fed every delivery at the same instant: one final state, nothing doubled.

A fan-out stands where GitHub's webhook URL points and posts each delivery to both bots at
once, so both evaluate the same PR from the same GitHub state concurrently. GitHub has no
idempotency key for check runs: both may create one; `write_check_run` then keeps every run of
the name on the head identical, so branch protection sees one verdict whichever run it reads.

Replies: GitHub has no create-if-absent for comments, so two bots answering one refused command
at the same instant can both post the reply. Every evaluation that then sees more than one
visible copy keeps the oldest as the reply and hides each younger one as a duplicate
(`minimizeComment`, classifier DUPLICATE), as GitHub's own "Hide: Duplicate" does; both bots
may hide the same copy at once, which is harmless.

Races that remain, honestly:
- both bots may ask the same reviewer at the same instant (each saw nobody pending): two POSTs
  for one person, whom GitHub lists once (two different people, after loads that differed by a
  moment, are cut back to one by `surplus_requests`);
- the App's own comments trigger no evaluation (bots' comments are ignored), so a duplicate stays
  visible, saying the same as the reply, until the PR is next evaluated for any reason (a
  comment, review, push or click on it; the reconciler only if the check itself needs repair);
- that evaluation may itself race a third creation only if both bots see no visible reply at all,
  which needs every copy minimized by someone else;
- a hidden duplicate is hidden, not deleted: it stays in the thread, collapsed, with GitHub's
  "This comment was marked as duplicate" notice (the API subset has no comment deletion).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web
from githubsim.simulator import GitHubSimulator

from bot.github.replies import REPLY_MARKER
from bot.stage import Stage
from bot.web.app import create_app
from bot.web.state import SCHEDULER_KEY
from tests.e2e.conftest import REPO, seed


class FanOut:
    """Posts each webhook to every target concurrently; answers with the first one's status."""

    def __init__(self) -> None:
        self.targets: list[str] = []

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/webhook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._session = aiohttp.ClientSession()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}/webhook"

    async def close(self) -> None:
        await self._session.close()
        await self._runner.cleanup()

    async def _post(self, target: str, body: bytes, headers: dict[str, str]) -> int:
        async with self._session.post(target, data=body, headers=headers) as response:
            return response.status

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        headers["Content-Type"] = request.headers.get("Content-Type", "application/json")
        statuses = await asyncio.gather(*(self._post(t, body, headers) for t in self.targets))
        return web.Response(status=statuses[0])


@pytest.fixture
async def two_bots(
    stage_factory: Callable[..., Stage],
) -> AsyncIterator[tuple[Stage, web.Application]]:
    fan_out = FanOut()
    fan_url = await fan_out.start()
    async with stage_factory() as first:
        seed(first)
        assert first.settings is not None
        second = create_app(first.settings)  # its own scheduler, ledger, caches and session
        runner = web.AppRunner(second, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        assert first.sim.webhook_url is not None
        fan_out.targets = [
            first.sim.webhook_url,
            f"http://127.0.0.1:{runner.addresses[0][1]}/webhook",
        ]
        first.sim.webhook_url = fan_url
        try:
            yield first, second
            assert first.sim.violations == []
        finally:
            await runner.cleanup()
            await fan_out.close()


async def settle_both(stage: Stage, second: web.Application) -> None:
    for _ in range(3):
        await stage.settle()
        await second[SCHEDULER_KEY].drain()
    await stage.settle()


async def test_two_bots_evaluating_at_once_leave_one_verdict_and_no_duplicate_side_effects(
    two_bots: tuple[Stage, web.Application],
) -> None:
    stage, second = two_bots
    sim = stage.sim
    numbers = []
    for index in range(4):
        number = await sim.open_pull_request(
            REPO, author="alice", title=f"core {index}", files={f"core/{index}.py": "x\n"}
        )
        await sim.submit_review(REPO, number, reviewer="anna")
        numbers.append(number)
    minor = await sim.open_pull_request(
        REPO, author="gus", title="docs", files={"docs/a.md": "x\n"}
    )
    await settle_both(stage, second)
    applied = await sim.post_comment(REPO, numbers[0], author="ivan", body="/coi major risky")
    refused = await sim.post_comment(REPO, numbers[1], author="carl", body="/coi major risky")
    await settle_both(stage, second)
    # A new verdict on a PR both bots already judged: every run of the name must follow it.
    await sim.submit_review(REPO, numbers[2], reviewer="gus")
    await settle_both(stage, second)

    expected = {n: "action_required" for n in numbers} | {minor: "success", numbers[2]: "success"}
    for number, conclusion in expected.items():
        runs = sim.check_runs(REPO, sim.head_sha(REPO, number))
        assert runs, f"#{number} has no check"
        outputs = {(r["conclusion"], r["external_id"], r["output"]["summary"]) for r in runs}
        assert len(outputs) == 1, f"#{number}: runs of one name disagree: {outputs}"
        assert runs[0]["conclusion"] == conclusion, number
        assert all(r["conclusion"] not in ("neutral", "skipped") for r in runs)
    # Loads read a moment apart may have made the bots ask two people: the next evaluation keeps
    # one (`surplus_requests`). The `/coi major` comments judged numbers[0:2] again; a remark here.
    await sim.post_comment(REPO, numbers[3], author="anna", body="Thanks, looking.")
    await settle_both(stage, second)
    for number in numbers[:2] + numbers[3:]:
        # The POSTs, not the simulator's state (where asking one person twice leaves one entry):
        # at most one per bot, and one reviewer left pending.
        posts = [
            call
            for call in sim.calls
            if call.operation_id == "pulls/request-reviewers"
            and call.status < 300
            and call.path.endswith(f"/{number}/requested_reviewers")
        ]
        asked = {
            event.reviewer
            for event in sim.repos[REPO].pulls[number].review_request_events
            if not event.removed
        }
        assert 1 <= len(posts) <= 2, f"#{number}: asked {len(posts)} times"
        assert 1 <= len(asked) <= len(posts), f"#{number}: asked {sorted(asked)}"
        assert len(sim.review_requests(REPO, number)) == 1, f"#{number}: one reviewer asked"
    assert sim.reactions(REPO, applied) == ["+1"]
    assert sim.reactions(REPO, refused) == []
    replies = [c for c in sim.comments(REPO, numbers[1]) if REPLY_MARKER in c["body"]]
    assert len({c["body"] for c in replies}) == 1, "every reply says the same"

    # Any later evaluation of the PR (a plain remark here) hides the copies a race left behind.
    await sim.post_comment(REPO, numbers[1], author="anna", body="Thanks, looking.")
    await settle_both(stage, second)
    assert_one_visible_reply(sim, numbers[1], refused)
    assert sim.reactions(REPO, refused) == []


def assert_one_visible_reply(sim: GitHubSimulator, number: int, refused: int) -> None:
    """One reply shown, the oldest, saying why; every other copy hidden as a duplicate."""
    replies = [c for c in sim.comments(REPO, number) if REPLY_MARKER in c["body"]]
    assert replies, "the refusal was answered"
    assert all(c["user"]["login"] == sim.bot_login for c in replies)
    reasons = [sim.minimized_reason(REPO, c["id"]) for c in replies]
    assert reasons == [None] + ["duplicate"] * (len(replies) - 1), reasons
    (shown,) = [c for c, reason in zip(replies, reasons, strict=True) if reason is None]
    lines = shown["body"].splitlines()
    assert lines[0] == REPLY_MARKER
    (refusal,) = [line for line in lines if line.startswith("- @")]
    assert refusal.startswith(f"- @carl ([comment](#issuecomment-{refused})): `/coi major risky`")


async def test_a_reply_posted_twice_is_hidden_once_both_bots_evaluate_again(
    two_bots: tuple[Stage, web.Application],
) -> None:
    stage, second = two_bots
    sim = stage.sim
    number = await sim.open_pull_request(
        REPO, author="alice", title="core", files={"core/a.py": "x\n"}
    )
    refused = await sim.post_comment(REPO, number, author="carl", body="/coi major risky")
    await settle_both(stage, second)
    # Whatever the race did, make it certain: the App posts one more copy of its reply.
    (first, *_) = [c for c in sim.comments(REPO, number) if REPLY_MARKER in c["body"]]
    sim.add_app_comment(REPO, number, body=first["body"])
    copies = len([c for c in sim.comments(REPO, number) if REPLY_MARKER in c["body"]])
    sim.reset_calls()

    await sim.post_comment(REPO, number, author="anna", body="Thanks, looking.")
    await settle_both(stage, second)
    assert_one_visible_reply(sim, number, refused)
    hides = [c for c in sim.calls if c.query_name == "MinimizeDuplicateReply"]
    # Each bot hides what its snapshot showed visible: at most once per bot and copy.
    assert copies - 1 <= len(hides) <= 2 * (copies - 1)
    assert not any(c.method == "PATCH" for c in sim.calls), "the reply already said it all"

    sim.reset_calls()
    await sim.post_comment(REPO, number, author="anna", body="Still looking.")
    await settle_both(stage, second)
    assert not [c for c in sim.calls if c.query_name == "MinimizeDuplicateReply"]
    assert_one_visible_reply(sim, number, refused)
