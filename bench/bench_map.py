"""Benchmark the affiliation map: load + validate a large map, then look companies up.

A map of 10,000 people and 2,000 companies, each person with 3 dated affiliations, is generated
as YAML text; loading it (parse, validate, cross-check, index) must take under 1 s, and 100,000
`companies_of(login, day)` lookups under 0.2 s. Each figure is the median of several runs (the
first run also pays for warming caches; it is printed too).

    uv run python bench/bench_map.py [--people N] [--companies N] [--runs N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta

from bot.affiliations.loader import load_map_text

LOAD_TARGET_S = 1.0
LOOKUP_TARGET_S = 0.2
LOOKUPS = 100_000


def generate_map(*, people: int, companies: int, seed: int = 7) -> str:
    """A valid map: each person moves between three companies over three adjacent periods."""
    rng = random.Random(seed)
    lines = ["version: 1", "companies:"]
    for index in range(companies):
        parent = f", parent: c{index - 1}" if index % 10 == 1 else ""
        lines.append(f"  c{index}: {{name: Company {index}, aliases: [Co {index}]{parent}}}")
    lines.append("people:")
    for index in range(people):
        first, second = date(2010, 1, 1) + timedelta(days=rng.randrange(3000)), None
        second = first + timedelta(days=rng.randrange(1, 2000))
        third = second + timedelta(days=rng.randrange(1, 2000))
        chosen = rng.sample(range(companies), 3)
        lines += [
            f"  user{index}:",
            f"    name: User {index}",
            f"    logins: [user{index}-work]",
            f"    emails: [user{index}@example.com]",
            "    role: maintainer",
            "    affiliations:",
            f"      - {{company: c{chosen[0]}, from: {first}, until: {second}}}",
            f"      - {{company: c{chosen[1]}, from: {second}, until: {third}}}",
            f"      - {{company: c{chosen[2]}, from: {third}}}",
        ]
    return "\n".join(lines) + "\n"


def timed(action: Callable[[], object], runs: int) -> list[float]:
    durations = []
    for _ in range(runs):
        start = time.perf_counter()
        kept = action()
        durations.append(time.perf_counter() - start)
        # Free the result outside the timer: dropping the previous map is not loading this one.
        del kept
    return durations


def report(name: str, durations: list[float], target: float) -> bool:
    median = statistics.median(durations)
    verdict = "PASS" if median < target else "FAIL"
    print(
        f"{name}: median {median:.3f} s, first {durations[0]:.3f} s, best {min(durations):.3f} s"
        f" over {len(durations)} runs (target < {target} s) {verdict}"
    )
    return median < target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--companies", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    text = generate_map(people=args.people, companies=args.companies)
    print(
        f"map: {args.people:,} people, {args.companies:,} companies, "
        f"{3 * args.people:,} affiliations, {len(text.encode()) / 1e6:.2f} MB of YAML"
    )
    result = load_map_text(text, path="generated.yml")
    if result.map is None:
        for error in result.errors[:10]:
            print(error, file=sys.stderr)
        return 2
    amap = result.map
    load_ok = report(
        "load + validate", timed(lambda: load_map_text(text), args.runs), target=LOAD_TARGET_S
    )

    rng = random.Random(11)
    queries = [
        (
            f"User{rng.randrange(args.people)}{rng.choice(['', '-work'])}",
            date(2008, 1, 1) + timedelta(days=rng.randrange(8000)),
        )
        for _ in range(LOOKUPS)
    ]
    found = sum(1 for login, day in queries if amap.companies_of(login, day))
    print(f"lookups: {LOOKUPS:,} by login (either account, any case) and day, {found:,} found")

    def lookups() -> None:
        companies_of = amap.companies_of
        for login, day in queries:
            companies_of(login, day)

    lookup_ok = report(f"{LOOKUPS:,} lookups", timed(lookups, args.runs), target=LOOKUP_TARGET_S)
    return 0 if load_ok and lookup_ok else 1


if __name__ == "__main__":
    sys.exit(main())
