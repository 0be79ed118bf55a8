"""`coi-bot demo`: the central story, played by the real bot against the built-in simulator.

A maintainer of company A opens a major pull request; a colleague from A approves; the check asks
for independent review; the bot requests a TSC member of another company; that member approves;
the check passes. The cast is drawn from the bundled map, so the story runs on real TSC data.

With `--serve`, the simulator (and the bot) keep running after the story until Ctrl-C or SIGTERM,
and the demo prints the environment and the commands that point `coi-bot check` and `report` at
it, with a token of the App's installation such as a CI job's `GITHUB_TOKEN` would be.

The demo repository carries its own copy of the bundled map without the TSC members who have no
company on record: their approval counts only where GitHub shows their company (else
`unknown_people` decides, conflicted by default), and the simulator's profiles show none, so the
reviewer it asks in the story is always someone whose company is known. No affiliation is added.
"""

from __future__ import annotations

import asyncio
import shlex
import signal
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import yaml

from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import load_map_file, load_map_text
from bot.settings import DEFAULT_MAP_PATH
from bot.stage import BUNDLED_MAP, Stage

if TYPE_CHECKING:
    from githubsim import GitHubSimulator

OWNER, REPO = "StackStorm", "st2"
SIMULATOR_MISSING = (
    "coi-bot demo needs the GitHub simulator, which comes with the development environment: "
    "in a clone of the repository run `uv run --frozen coi-bot demo`"
)


class DemoError(RuntimeError):
    """The story could not be played; the message says which step went wrong."""


@dataclass(frozen=True, slots=True)
class Cast:
    company: str
    author: str
    colleague: str
    major_path: str


def choose_cast(amap: AffiliationMap, *, today: datetime) -> Cast:
    """A company with a TSC member (the author) and a colleague; a path the policy calls major."""
    day = today.date()
    by_company: dict[str, list[str]] = {}
    for login in sorted(amap.document.people):
        for company in sorted(amap.companies_of(login, day)):
            if amap.conflict_group(company) is not None:
                by_company.setdefault(company, []).append(login)
    for company, people in sorted(by_company.items()):
        authors = [login for login in people if amap.is_tsc(login)]
        if authors and len(people) >= 2:
            author = authors[0]
            colleague = next(login for login in people if login != author)
            return Cast(company, author, colleague, _major_path(amap))
    raise DemoError("the map has no company with a TSC member and a colleague to play the story")


def _major_path(amap: AffiliationMap) -> str:
    for pattern in amap.policy.major.paths:
        if "**" in pattern:
            return pattern.replace("**", "coi_demo/change.py").replace("*", "x")
    raise DemoError("the map's policy names no major directory (a `dir/**` pattern) to change")


@dataclass(frozen=True, slots=True)
class DemoMap:
    """The map the demo repository carries, and the TSC members it leaves out."""

    text: str
    map: AffiliationMap
    left_out: tuple[str, ...]


def demo_map(text: str, amap: AffiliationMap, *, today: datetime) -> DemoMap:
    """`text` (the bundled map) without its TSC members who have no company on record `today`."""
    day = today.date()
    left_out = tuple(login for login in amap.tsc_members() if not amap.companies_of(login, day))
    if left_out:
        document = yaml.safe_load(text)
        for login in left_out:
            del document["people"][login]
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    loaded = load_map_text(text, path=DEFAULT_MAP_PATH)
    if loaded.map is None:
        raise DemoError(f"the demo's copy of the map is invalid: {loaded.errors[0]}")
    return DemoMap(text=text, map=loaded.map, left_out=left_out)


def seed_repository(
    sim: GitHubSimulator,
    amap: AffiliationMap,
    *,
    install: bool = True,
    map_text: str | None = None,
) -> str:
    """StackStorm/st2 with everyone in the map as a user and the TSC as collaborators; with
    `map_text`, the repository carries that map at the default path.

    Without `install`, the App is not installed yet, so what happens there is announced to nobody.
    """
    if install:
        sim.add_installation(OWNER)
    for login, person in sorted(amap.document.people.items()):
        sim.add_user(login, email=person.emails[0] if person.emails else None)
    files = {"README.md": "# st2\n"}
    if map_text is not None:
        files[DEFAULT_MAP_PATH] = map_text
    sim.add_repo(OWNER, REPO, files=files)
    repo = f"{OWNER}/{REPO}"
    for login in amap.tsc_members():
        sim.set_permission(repo, login, "write")
    return repo


class Story:
    """Plays the steps and prints each with the check's state and the requested reviewers."""

    def __init__(
        self, stage: Stage, amap: AffiliationMap, out: TextIO, *, left_out: tuple[str, ...] = ()
    ) -> None:
        self.stage = stage
        self.sim = stage.sim
        self.amap = amap
        self.left_out = left_out
        self.out = out
        self.repo = f"{OWNER}/{REPO}"
        self.number = 0

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def who(self, login: str) -> str:
        companies = self.amap.companies_of(login, datetime.now(UTC).date())
        names = ", ".join(self.amap.company_name(c) for c in sorted(companies)) or "no company"
        return f"@{login} ({names})"

    def seed(self, map_text: str) -> None:
        seed_repository(self.sim, self.amap, map_text=map_text)

    def check(self) -> dict[str, Any]:
        head = self.sim.pull(self.repo, self.number).head_sha
        runs = self.sim.check_runs(self.repo, head)
        if not runs:
            raise DemoError("the bot wrote no check run")
        run: dict[str, Any] = runs[-1]
        return run

    def report(self, step: str) -> dict[str, Any]:
        run = self.check()
        requested = self.sim.review_requests(self.repo, self.number)
        state = run["conclusion"] or run["status"]  # a waiting run has no conclusion yet
        self.say(f"  check: {state}: {run['output']['title']}")
        if requested:
            self.say("  review requested from: " + ", ".join(self.who(r) for r in requested))
        self.say(f"  ({step})")
        return run

    async def play(self, cast: Cast) -> int:
        stage, sim = self.stage, self.sim
        self.say(
            f"coi-bot demo: {self.repo} governed by its copy of the bundled map "
            f"({BUNDLED_MAP.name}) at {DEFAULT_MAP_PATH}"
        )
        if self.left_out:
            names = ", ".join(f"@{login}" for login in self.left_out)
            self.say(
                f"  left out of the copy: {names}, TSC members with no company on record "
                "(with no company shown by GitHub either, their approval would not count)"
            )
        self.say()
        self.say(f"1. {self.who(cast.author)} opens a pull request changing {cast.major_path}")
        self.number = await sim.open_pull_request(
            self.repo,
            author=cast.author,
            title="Rework the action runner's isolation",
            files={cast.major_path: "def isolate():\n    return True\n" * 3},
        )
        await stage.settle()
        run = self.report("a major change with no approval yet: it waits for one to judge")
        if run["status"] != "in_progress":
            raise DemoError(f"a major change with no approval was not held: {run['conclusion']}")

        self.say(f"2. {self.who(cast.colleague)}, a colleague, approves")
        await sim.submit_review(self.repo, self.number, reviewer=cast.colleague)
        await stage.settle()
        run = self.report("same-company approval on a major change")
        if run["conclusion"] == "success":
            raise DemoError("the check passed on a same-company approval alone")
        requested = sim.review_requests(self.repo, self.number)
        if not requested:
            raise DemoError("the bot requested no third-party reviewer")

        reviewer = requested[0]
        if not self.amap.companies_of(reviewer, datetime.now(UTC).date()):
            raise DemoError(f"the bot requested @{reviewer}, who has no company on record")
        self.say(f"3. {self.who(reviewer)}, the requested TSC member, approves")
        await sim.submit_review(self.repo, self.number, reviewer=reviewer)
        await stage.settle()
        run = self.report("independent approval")
        if run["conclusion"] != "success":
            raise DemoError(f"the check did not pass after an independent approval: {run}")

        self.say()
        self.say("The check's summary, as GitHub shows it:")
        self.say()
        self.say(run["output"]["summary"])
        return 0


SERVED_TOKEN_LIFETIME = timedelta(days=1)  # longer than any session with the served demo


def serving_instructions(*, api_url: str, token: str, map_path: Path, pull: str) -> list[str]:
    """What to paste into another shell to read the served simulator with the CLI."""
    owner_repo = pull.partition("#")[0]
    map_env = shlex.quote(str(map_path.resolve()))
    return [
        f"The simulator keeps running at {api_url} until Ctrl-C (or SIGTERM). In another shell:",
        "",
        f"  export GITHUB_TOKEN={token} GITHUB_API_URL={api_url} COI_MAP={map_env}",
        f"  coi-bot check {pull} --api-url {api_url}",
        f"  coi-bot check {pull} --api-url {api_url} --json",
        f"  coi-bot report {owner_repo} --api-url {api_url}",
    ]


async def serve_until_stopped(stop: asyncio.Event | None = None) -> None:
    """Wait for Ctrl-C or SIGTERM (or `stop`), whichever comes first."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def play_demo(
    out: TextIO,
    *,
    map_path: Path = BUNDLED_MAP,
    serve: bool = False,
    stop: asyncio.Event | None = None,
) -> int:
    loaded = load_map_file(map_path)
    if loaded.map is None:
        for error in loaded.errors:
            print(error, file=sys.stderr)
        return 1
    today = datetime.now(UTC)
    text = await asyncio.to_thread(map_path.read_text, encoding="utf-8")
    copy = demo_map(text, loaded.map, today=today)
    cast = choose_cast(copy.map, today=today)
    async with Stage(bundled_map=map_path) as stage:
        story = Story(stage, copy.map, out, left_out=copy.left_out)
        story.seed(copy.text)
        status = await story.play(cast)
        if serve:
            token = stage.sim.issue_token(OWNER, lifetime=SERVED_TOKEN_LIFETIME)
            story.say()
            for line in serving_instructions(
                api_url=stage.sim.url,
                token=token,
                map_path=map_path,
                pull=f"{story.repo}#{story.number}",
            ):
                story.say(line)
            await serve_until_stopped(stop)
            story.say("coi-bot demo: stopped")
        return status


def run_demo(
    out: TextIO | None = None, *, map_path: Path = BUNDLED_MAP, serve: bool = False
) -> int:
    try:
        import githubsim  # noqa: F401 - only the development environment installs it
    except ImportError:
        print(SIMULATOR_MISSING, file=sys.stderr)
        return 2
    try:
        return asyncio.run(play_demo(out or sys.stdout, map_path=map_path, serve=serve))
    except DemoError as error:
        print(f"coi-bot demo: {error}", file=sys.stderr)
        return 1
