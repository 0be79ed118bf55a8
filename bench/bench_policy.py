"""Time evaluate + render on the issue's big and typical pull requests; print figures, PASS/FAIL.

Run: `uv run python bench/bench_policy.py`. Targets (issue 4): a PR of 3,000 files, 250 commits,
300 reviews and 1,000 comments against a 10,000-person map in < 20 ms; a typical PR (20 files,
5 reviews, 10 comments) in < 1 ms. Figures are the median of repeated runs.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument
from bot.policy.facts import ChangedFile, Comment, Commit, PullRequestFacts, Review
from bot.policy.render import render
from bot.policy.reviewers import plan_review_request
from bot.policy.verdict import MapRef, evaluate

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
HEAD = "f" * 40
REF = MapRef(path=".github/affiliations.yml", blob_sha="a" * 40, source="repository")


def big_map(people: int = 10_000, companies: int = 2_000) -> AffiliationMap:
    document = {
        "version": 1,
        "companies": {f"c{i}": {"name": f"Company {i}"} for i in range(companies)},
        "people": {
            f"p{i}": {
                "role": "maintainer" if i % 20 == 0 else "contributor",
                "emails": [f"p{i}@example.com"],
                "affiliations": [
                    {"company": f"c{i % companies}", "until": "2025-01-01"},
                    {
                        "company": f"c{(i + 1) % companies}",
                        "from": "2025-01-01",
                        "until": "2026-02-01",
                    },
                    {"company": f"c{(i + 2) % companies}", "from": "2026-02-01"},
                ],
            }
            for i in range(people)
        },
        "policy": {
            "major": {"paths": ["core/**", "api/**", "GOVERNANCE.md"]},
            "protected_files": [".github/affiliations.yml", "GOVERNANCE.md"],
        },
    }
    return AffiliationMap(MapDocument.model_validate(document))


def pull_request(*, files: int, commits: int, reviews: int, comments: int) -> PullRequestFacts:
    states = ["APPROVED", "APPROVED", "COMMENTED", "CHANGES_REQUESTED"]
    bodies = ["LGTM", "/coi declare", "> /coi minor", "/coi recheck", "```\n/coi x\n```\nok"]
    return PullRequestFacts(
        owner="o",
        repo="r",
        number=1,
        node_id="PR_big",
        title="big",
        opener="p1",
        head_sha=HEAD,
        base_ref="main",
        files=tuple(
            ChangedFile(f"{'core' if i % 3 else 'docs'}/m{i // 50}/f{i}.py", 3, 1)
            for i in range(files)
        ),
        commits=tuple(
            Commit(
                sha=f"{i:040x}",
                author_login=f"p{i % 7}",
                message=f"change {i}\n\nCo-authored-by: X <p{i % 11}@example.com>",
            )
            for i in range(commits)
        ),
        reviews=tuple(
            Review(
                id=f"r{i}",
                author=f"p{(i * 37) % 10_000}",
                state=states[i % 4],  # type: ignore[arg-type]
                submitted_at=T0 + timedelta(hours=i),
                commit_sha=HEAD if i % 5 else "0" * 40,
            )
            for i in range(reviews)
        ),
        comments=tuple(
            Comment(
                id=f"c{i}",
                author=f"p{(i * 13) % 10_000}",
                body=bodies[i % len(bodies)],
                created_at=T0 + timedelta(minutes=i),
                updated_at=T0 + timedelta(minutes=i),
            )
            for i in range(comments)
        ),
    )


def median_ms(pr: PullRequestFacts, amap: AffiliationMap, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        render(evaluate(pr, amap, now=NOW, map_ref=REF), check_name="COI review")
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> int:
    amap = big_map()
    small_map = AffiliationMap(
        MapDocument.model_validate(
            {
                **amap.document.model_dump(by_alias=True),
                "people": {
                    k: v.model_dump(by_alias=True)
                    for k, v in list(amap.document.people.items())[:50]
                },
            }
        )
    )
    cases = [
        (
            "big PR vs 10,000-person map",
            pull_request(files=3000, commits=250, reviews=300, comments=1000),
            amap,
            20.0,
            30,
        ),
        (
            "typical PR vs 10,000-person map",
            pull_request(files=20, commits=3, reviews=5, comments=10),
            amap,
            1.0,
            300,
        ),
        (
            "typical PR vs 50-person map",
            pull_request(files=20, commits=3, reviews=5, comments=10),
            small_map,
            1.0,
            300,
        ),
    ]
    failed = False
    for name, pr, amap_used, target, repeats in cases:
        median_ms(pr, amap_used, 3)  # warm caches (compiled globs) as a running server has them
        figure = median_ms(pr, amap_used, repeats)
        ok = figure < target
        failed |= not ok
        print(
            f"{name}: evaluate+render {figure:.3f} ms (target < {target:g} ms) "
            f"{'PASS' if ok else 'FAIL'}"
        )
    pr = pull_request(files=3000, commits=250, reviews=300, comments=1000)
    verdict = evaluate(pr, amap, now=NOW, map_ref=REF)
    start = time.perf_counter()
    plan_review_request(pr, amap, verdict, now=NOW, load={})
    print(
        f"reviewer choice over {len(amap.tsc_members())} TSC members: "
        f"{(time.perf_counter() - start) * 1000:.2f} ms (no target)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
