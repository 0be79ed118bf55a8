"""Benchmark people as accounts: the map as one PR's accounts show it (`AffiliationMap.seen_as`).

Every evaluation asks it with the accounts its snapshot names; a map of `--people` people, each
bound to a GitHub id, is loaded once. Measured: the common case (every account agrees with the
map: the map itself is used) and a rename in the PR (the map is re-keyed for that evaluation).
The median of `--runs` rounds of 100 calls each, in ms per call.

    uv run python bench/bench_accounts.py [--people N] [--accounts N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from bot.affiliations.index import AffiliationMap
from bot.affiliations.loader import load_map_text

CALLS = 100


def generate_map(people: int) -> str:
    lines = ["version: 1", "companies:"]
    lines += [f"  c{index}: {{name: Company {index}}}" for index in range(50)]
    lines.append("people:")
    lines += [
        f"  p{index}: {{id: {index + 1}, role: maintainer,"
        f" affiliations: [{{company: c{index % 50}}}]}}"
        for index in range(people)
    ]
    return "\n".join(lines) + "\n"


def ms_per_call(amap: AffiliationMap, accounts: dict[str, int | None], runs: int) -> float:
    rounds = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(CALLS):
            amap.seen_as(accounts)
        rounds.append((time.perf_counter() - start) / CALLS * 1000)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=50, help="accounts one PR names")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    loaded = load_map_text(generate_map(args.people), path="bench.yml")
    assert loaded.map is not None, loaded.errors
    step = max(1, args.people // args.accounts)
    agreeing: dict[str, int | None] = {f"p{i}": i + 1 for i in range(0, args.people, step)}
    renamed = {**agreeing, "p1-renamed": 2}
    print(f"map: {args.people} people with ids; {len(agreeing)} accounts per PR")
    agree = ms_per_call(loaded.map, agreeing, args.runs)
    print(f"every account agrees with the map: {agree:.3f} ms per evaluation")
    rename = ms_per_call(loaded.map, renamed, args.runs)
    print(f"one member renamed (map re-keyed):  {rename:.3f} ms per evaluation")


if __name__ == "__main__":
    main()
