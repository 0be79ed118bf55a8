"""What a map push costs: the push's verdict, and every open PR judged again, with the hold.

On the in-process stage (bot + simulator over loopback HTTP), a repository with its own map and
`--prs` open PRs, each approved by a colleague of its author. Then a direct push moves that
colleague to another company (held: nothing changes for the PRs, every summary says so), then a
reviewed PR makes the same move and is merged (in force: every PR passes). For each push the
script prints the time until everything settled, the history reads (`MapHistory`) and all
GraphQL requests; then one more event on each PR, which must read no history at all.

    uv run python bench/bench_trust.py [--prs 50]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

from bot.stage import Stage

OWNER, NAME = "acme", "widgets"
REPO = f"{OWNER}/{NAME}"
MAP_PATH = ".github/affiliations.yml"
MAP = """\
version: 1
companies:
  acme: {name: Acme}
  globex: {name: Globex}
  initech: {name: Initech}
people:
  alice: {role: maintainer, affiliations: [{company: acme}]}
  anna: {role: maintainer, affiliations: [{company: acme}]}
  gus: {role: maintainer, affiliations: [{company: globex}]}
  ivan: {role: maintainer, affiliations: [{company: initech}]}
  carl: {role: contributor, affiliations: [{company: acme}]}
policy:
  major: {paths: ["core/**"]}
  protected_files: [.github/affiliations.yml]
"""
MOVED = MAP.replace(
    "anna: {role: maintainer, affiliations: [{company: acme}]}",
    "anna: {role: maintainer, affiliations: [{company: globex}]}",
)


def queries(stage: Stage, name: str | None = None) -> int:
    return sum(
        1
        for call in stage.sim.calls
        if call.kind == "graphql" and (name is None or call.query_name == name)
    )


async def measured(stage: Stage, label: str, action: Awaitable[object]) -> None:
    stage.sim.reset_calls()
    started = time.perf_counter()
    await action
    await stage.settle()
    elapsed = (time.perf_counter() - started) * 1000
    print(
        f"{label:<36} {elapsed:8.0f} ms  history reads {queries(stage, 'MapHistory'):3d}"
        f"  GraphQL requests {queries(stage):4d}"
    )


async def main(prs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        bundled = Path(folder) / "bundled.yml"
        bundled.write_text(MAP, encoding="utf-8")
        async with Stage(bundled_map=bundled) as stage:
            sim = stage.sim
            sim.add_installation(OWNER)
            for login in ("alice", "anna", "gus", "ivan", "carl"):
                sim.add_user(login, email=f"{login}@{OWNER}.example")
            sim.add_repo(OWNER, NAME, files={MAP_PATH: MAP})
            for login in ("alice", "anna", "gus", "ivan"):
                sim.set_permission(REPO, login, "write")
            numbers = []
            for index in range(prs):
                number = await sim.open_pull_request(
                    REPO, author="alice", title=f"core {index}", files={f"core/{index}.py": "x\n"}
                )
                await sim.submit_review(REPO, number, reviewer="anna")
                numbers.append(number)
            await stage.settle()
            print(f"{prs} open PRs, each approved by a colleague of its author")

            await measured(
                stage,
                "direct push (held)",
                sim.push_to_branch(REPO, "main", {MAP_PATH: MOVED}, author="alice"),
            )
            number = await sim.open_pull_request(
                REPO, author="carl", title="Move anna", files={MAP_PATH: MOVED + "bots: []\n"}
            )
            for reviewer in ("gus", "ivan"):
                await sim.submit_review(REPO, number, reviewer=reviewer)
            await stage.settle()
            await measured(
                stage,
                "reviewed PR merged (in force)",
                sim.close_pull_request(REPO, number, merge=True, sender="gus"),
            )

            async def touch_all() -> None:
                for pr in numbers:
                    await sim.set_labels(REPO, pr, ["again"], sender="gus")

            await measured(stage, "one more event on every PR", touch_all())
            passing = sum(
                1
                for pr in numbers
                if sim.check_runs(REPO, sim.head_sha(REPO, pr))[0]["conclusion"] == "success"
            )
            print(f"PRs passing under the reviewed map: {passing}/{prs}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=50)
    asyncio.run(main(parser.parse_args().prs))
