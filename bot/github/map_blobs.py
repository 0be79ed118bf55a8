"""Which repositories carry their own map: the map's blob on each default branch, read in
GraphQL for up to 100 repositories at once (no connection in the query: 1 point), instead of
one contents request per repository, which answers a missing map with an uncacheable 404."""

from __future__ import annotations

from typing import Any

import gidgethub.abc

MAP_BLOBS_PER_QUERY = 100


def map_blobs_query(count: int) -> str:
    """The map's blob on the default branch of `count` repositories (`$o0`, `$n0`, ...)."""
    variables = ", ".join(f"$o{i}: String!, $n{i}: String!" for i in range(count))
    fields = "\n".join(
        f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ defaultBranchRef {{ target {{ "
        "... on Commit { file(path: $mapPath) { oid } } } } }"
        for i in range(count)
    )
    return (
        f"query MapBlobs($mapPath: String!, {variables}) {{\n"
        f"  rateLimit {{ limit remaining }}\n{fields}\n}}"
    )


def blob_under(ref: Any, *, key: str) -> str | None:
    """The blob `{key: {oid}}` under a ref's target commit names; None when there is no file."""
    target = ref.get("target") if isinstance(ref, dict) else None
    found = target.get(key) if isinstance(target, dict) else None
    oid = found.get("oid") if isinstance(found, dict) else None
    return oid if isinstance(oid, str) else None


async def map_blobs(
    gh: gidgethub.abc.GitHubAPI,
    repositories: list[tuple[str, str]],
    *,
    map_path: str,
    endpoint: str,
) -> dict[tuple[str, str], str | None]:
    """(owner, repo) -> the map's blob on its default branch, None where it has no map."""
    blobs: dict[tuple[str, str], str | None] = {}
    for start in range(0, len(repositories), MAP_BLOBS_PER_QUERY):
        chunk = repositories[start : start + MAP_BLOBS_PER_QUERY]
        variables: dict[str, Any] = {"mapPath": map_path}
        for i, (owner, repo) in enumerate(chunk):
            variables[f"o{i}"], variables[f"n{i}"] = owner, repo
        data = await gh.graphql(map_blobs_query(len(chunk)), endpoint=endpoint, **variables)
        for i, key in enumerate(chunk):
            blobs[key] = blob_under((data.get(f"r{i}") or {}).get("defaultBranchRef"), key="file")
    return blobs
