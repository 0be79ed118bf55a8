"""A vote is judged by the map in force at its label event, not by the map the bot finds when it
first hears of the vote: GitHub's delivery is late (here: held back until the map changed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.stage import Stage
from tests.e2e.conftest import OWNER, REPO, Clock, count, seed
from tests.e2e.test_votes import LABEL, VOTE_CHECK, VOTE_MAP, bot_bodies, vote, vote_run

MAP_PATH = ".github/affiliations.yml"
# A direct push takes effect only under `accept` (an unreviewed map is otherwise held): the map
# in force changes without a PR to review.
ACCEPTING = VOTE_MAP.replace("\npolicy:\n", "\npolicy:\n  unreviewed_map: accept\n")


def step(clock: Clock) -> None:
    """Five seconds later by GitHub's clock: the label, the push and the delivery each get theirs
    (within the minute GitHub's clock may lag the App's, or the App's tokens are refused)."""
    clock.moment += timedelta(seconds=5)


def half_a_minute_ago(clock: Clock) -> None:
    clock.moment = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)


async def late_label(stage: Stage, clock: Clock, *, sender: str, new_map: str) -> int:
    """A PR labelled by `sender`; the map changes; only then is the label event delivered."""
    number = await stage.sim.open_pull_request(
        REPO, author="ivan", title="Rework core", files={"core/engine.py": "x = 1\n"}
    )
    await stage.settle()
    stage.sim.webhook_url = None  # deliveries are late from here on
    step(clock)
    await stage.sim.set_labels(REPO, number, [LABEL], sender=sender)
    step(clock)
    await stage.sim.push_to_branch(REPO, "main", {MAP_PATH: new_map})
    step(clock)
    stage.sim.webhook_url = f"{stage.bot_url}/webhook"
    (labeled,) = [
        d for d in stage.sim.deliveries if (d.event, d.action) == ("pull_request", "labeled")
    ]
    await stage.sim.redeliver(labeled)
    await stage.settle()
    return number


async def test_a_map_changed_after_the_label_event_does_not_decide_the_vote(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    async with stage_factory(clock=clock) as stage:
        half_a_minute_ago(clock)
        seed(stage, repo_files={"README.md": "widgets\n", MAP_PATH: ACCEPTING})
        # After the label went on: 2/3 needed, and Alice's leader weight drops to 1.
        stricter = ACCEPTING.replace(
            "leader: {tsc: true, votes: 3}", "leader: {tsc: true, votes: 1}"
        ).replace("  votes:\n", '  votes:\n    threshold: "2/3"\n')
        assert stricter.count("votes: 1}") == 2
        assert 'threshold: "2/3"' in stricter
        number = await late_label(stage, clock, sender="gus", new_map=stricter)
        (opened,) = [b for b in bot_bodies(stage, number) if "coi-bot:vote-opened" in b]
        assert "@gus opened a TSC vote: yes must be more than 1/2" in opened
        await vote(stage, number, "alice", "yes")
        await vote(stage, number, "gus", "no")
        run = vote_run(stage, number)
        assert run["output"]["title"].startswith("Vote open: yes 3, no 2,"), "the older map"
        assert "| @alice | leader | 3 | Acme | yes | 3 |" in run["output"]["summary"]
        assert count(stage, query="MapBlob") == 1, "the older map is read once, by its blob"
        assert stage.sim.violations == []


async def test_a_label_added_before_its_adder_joined_the_tsc_opens_no_vote(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    async with stage_factory(clock=clock) as stage:
        half_a_minute_ago(clock)
        seed(stage, repo_files={"README.md": "widgets\n", MAP_PATH: ACCEPTING})
        # Carl, a contributor when he added the label, is a maintainer by the time it arrives.
        promoted = ACCEPTING.replace("carl: {role: contributor", "carl: {role: maintainer")
        assert promoted != ACCEPTING
        number = await late_label(stage, clock, sender="carl", new_map=promoted)
        assert LABEL not in stage.sim.pull(REPO, number).labels
        (reply,) = [body for body in bot_bodies(stage, number) if "coi-bot:vote-label" in body]
        assert "only TSC members open a vote: @carl is not on the TSC" in reply
        head = stage.sim.head_sha(REPO, number)
        assert not [run for run in stage.sim.check_runs(REPO, head) if run["name"] == VOTE_CHECK]
        # On the TSC now, the same label from him opens a vote.
        step(clock)
        await stage.sim.set_labels(REPO, number, [LABEL], sender="carl")
        await stage.settle()
        assert vote_run(stage, number)["status"] == "in_progress"
        (opened,) = [b for b in bot_bodies(stage, number) if "coi-bot:vote-opened" in b]
        assert "@carl opened a TSC vote" in opened
        assert stage.sim.violations == []


async def test_a_repository_map_added_after_the_label_event_leaves_the_owners_map_in_force(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    async with stage_factory(clock=clock) as stage:
        half_a_minute_ago(clock)
        seed(stage, repo_files={"README.md": "widgets\n"})
        stage.sim.add_repo(OWNER, ".github", files={MAP_PATH: ACCEPTING})
        # The repository's own first map lands after the label went on (in force now: the
        # owner's map accepts unreviewed changes) and would have Carl open the vote; the owner's
        # map, in force then, refuses him.
        promoted = ACCEPTING.replace("carl: {role: contributor", "carl: {role: maintainer")
        number = await late_label(stage, clock, sender="carl", new_map=promoted)
        assert LABEL not in stage.sim.pull(REPO, number).labels
        (reply,) = [body for body in bot_bodies(stage, number) if "coi-bot:vote-label" in body]
        assert "only TSC members open a vote: @carl is not on the TSC" in reply
        assert count(stage, query="MapHistory") >= 2, "the repository's, then the owner's"
        assert stage.sim.violations == []


async def test_a_map_pushed_without_review_was_not_in_force_at_the_label_event(
    stage_factory: Callable[..., Stage], clock: Clock
) -> None:
    async with stage_factory(clock=clock) as stage:
        half_a_minute_ago(clock)
        seed(stage, repo_files={"README.md": "widgets\n", MAP_PATH: VOTE_MAP})
        sim = stage.sim
        number = await sim.open_pull_request(
            REPO, author="ivan", title="Rework core", files={"core/engine.py": "x = 1\n"}
        )
        await stage.settle()
        # Carl makes himself a maintainer by a direct push: held (`unreviewed_map: hold`)...
        step(clock)
        promoted = VOTE_MAP.replace("carl: {role: contributor", "carl: {role: maintainer")
        await sim.push_to_branch(REPO, "main", {MAP_PATH: promoted}, author="carl")
        await stage.settle()
        # ...and adds the label, whose delivery is lost...
        step(clock)
        sim.webhook_url = None
        await sim.set_labels(REPO, number, [LABEL], sender="carl")
        sim.webhook_url = f"{stage.bot_url}/webhook"
        # ...before his promotion lands reviewed, approved by Globex and Initech.
        step(clock)
        reviewed = promoted.replace("people:\n", "people:\n  zed: {role: contributor}\n")
        change = await sim.open_pull_request(
            REPO, author="carl", title="Promote carl", files={MAP_PATH: reviewed}
        )
        for reviewer in ("gus", "ivan"):
            await sim.submit_review(REPO, change, reviewer=reviewer)
        await stage.settle()
        await sim.close_pull_request(REPO, change, merge=True, sender="gus")
        await stage.settle()
        step(clock)
        (labeled,) = [
            d for d in sim.deliveries if (d.event, d.action) == ("pull_request", "labeled")
        ]
        await sim.redeliver(labeled)
        await stage.settle()
        # On the TSC by the map in force now, not by the one in force when he added the label.
        assert LABEL not in sim.pull(REPO, number).labels
        (reply,) = [body for body in bot_bodies(stage, number) if "coi-bot:vote-label" in body]
        assert "only TSC members open a vote: @carl is not on the TSC" in reply
        step(clock)
        await sim.set_labels(REPO, number, [LABEL], sender="carl")
        await stage.settle()
        assert vote_run(stage, number)["status"] == "in_progress", "a TSC member since the merge"
        assert sim.violations == []
