"""What a merge group holds: every open PR whose head commit is among its commits, read once."""

from __future__ import annotations

from typing import Any

import pytest

from bot.github.merge_groups import MAX_COMMIT_PAGES, read_group_contents
from bot.merge_queue import GroupContents, group_contents
from bot.pr import MergeGroupRef
from tests.github.fakes import GRAPHQL_URL, Call, FakeServer

REF = MergeGroupRef(
    7, "acme", "widgets", "g" * 40, "refs/heads/gh-readonly-queue/main/pr-2-" + "b" * 40,
    "refs/heads/main",
)  # fmt: skip


def commit(oid: str, *pulls: tuple[int, str, str], total: int | None = None) -> dict[str, Any]:
    nodes = [{"number": n, "state": state, "headRefOid": head} for n, state, head in pulls]
    count = len(nodes) if total is None else total
    return {"oid": oid, "associatedPullRequests": {"totalCount": count, "nodes": nodes}}


@pytest.mark.parametrize(
    ("commits", "named", "expected"),
    [
        ([], (2,), GroupContents((2,))),
        # The PR ahead in the queue, then the named one: queue order, each once.
        (
            [commit("a", (1, "OPEN", "a")), commit("b", (2, "OPEN", "b"))],
            (2,),
            GroupContents((1, 2)),
        ),
        # A PR that only contains a group commit (stacked on it) is not in the group.
        ([commit("a", (1, "OPEN", "a"), (5, "OPEN", "z"))], (2,), GroupContents((1, 2))),
        # Merged or closed PRs are not queued.
        ([commit("a", (1, "MERGED", "a"), (3, "CLOSED", "a"))], (2,), GroupContents((2,))),
        # The group's own merge commits belong to no PR.
        ([commit("m"), commit("a", (1, "OPEN", "a"))], (), GroupContents((1,))),
        # More PRs than one read lists: incomplete, judged failing.
        ([commit("a", (1, "OPEN", "a"), total=11)], (2,), GroupContents((1, 2), True)),
    ],
)
def test_the_group_holds_each_pr_whose_head_it_contains(
    commits: list[dict[str, Any]], named: tuple[int, ...], expected: GroupContents
) -> None:
    assert group_contents(commits, named=named) == expected


async def authorization() -> str:
    return "token t"


def answer(nodes: list[dict[str, Any]], *, more: bool = False) -> dict[str, Any]:
    page = {"hasNextPage": more, "endCursor": "next" if more else None}
    commits = {"pageInfo": page, "nodes": nodes}
    return {"data": {"repository": {"ref": {"compare": {"commits": commits}}}}}


async def test_one_read_unless_the_group_has_more_than_100_commits() -> None:
    server = FakeServer()
    pages = [
        answer([commit("a", (1, "OPEN", "a"))], more=True),
        answer([commit("b", (2, "OPEN", "b"))]),
    ]
    seen: list[dict[str, Any]] = []

    def graphql(call: Call, match: Any) -> tuple[int, Any]:
        seen.append(call.body["variables"])
        return 200, pages[len(seen) - 1]

    server.route("POST", "/graphql", graphql)
    found = await read_group_contents(
        server.factory(authorization), REF, named=(2,), endpoint=GRAPHQL_URL
    )
    assert found == (GroupContents((1, 2)), 2)
    assert seen[0]["baseRef"] == "refs/heads/main"
    assert seen[0]["headRef"] == REF.head_ref.removeprefix("refs/heads/")
    assert (seen[0]["after"], seen[1]["after"]) == (None, "next")


async def test_a_group_github_cannot_compare_is_judged_as_named() -> None:
    server = FakeServer()
    server.reply("POST", "/graphql", 200, {"data": {"repository": {"ref": None}}})
    found = await read_group_contents(
        server.factory(authorization), REF, named=(2,), endpoint=GRAPHQL_URL
    )
    assert found == (None, 1)


async def test_a_group_too_big_to_read_is_incomplete() -> None:
    server = FakeServer()
    server.reply("POST", "/graphql", 200, answer([commit("a", (1, "OPEN", "a"))], more=True))
    contents, reads = await read_group_contents(
        server.factory(authorization), REF, named=(2,), endpoint=GRAPHQL_URL
    )
    assert reads == MAX_COMMIT_PAGES
    assert contents == GroupContents((1, 2), incomplete=True)
