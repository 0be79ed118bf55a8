"""Hypothesis properties of the verdict (issue 4)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.policy.facts import ChangedFile, Comment, Commit, PullRequestFacts, Review, ReviewState
from bot.policy.render import MAX_OUTPUT_CHARS, MAX_TITLE_CHARS, render
from bot.policy.verdict import MapRef, Verdict, evaluate

from .builders import HEAD, NOW, at, make_map

REF = MapRef(path=".github/affiliations.yml", blob_sha=None, source="repository")
PEOPLE = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "frank-work",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "oscar",
    "zed",
    "renovate[bot]",
]
PATHS = ["core/a.py", "core/x/b.py", "docs/a.md", "src/c.py", "GOVERNANCE.md"]
# APPROVED twice: approvals are what the policy counts, so draw them more often
REVIEW_STATES: list[ReviewState] = [
    "APPROVED",
    "APPROVED",
    "CHANGES_REQUESTED",
    "COMMENTED",
    "DISMISSED",
]
BODIES = [
    "/coi declare",
    "/coi withdraw",
    "/coi declare @carol busy",
    "/coi withdraw @carol",
    "/coi minor",
    "/coi major",
    "/coi recheck",
    "> /coi minor",
    "/coi oops",
    "hello",
]
MAPS = {
    "default": make_map(),
    "always": make_map(policy={"require": "always", "stale_approvals": "ignore"}),
    "independent": make_map(
        policy={
            "unknown_people": "independent",
            "enforcement": "advisory",
            "independent_approvals": 2,
        }
    ),
}


@st.composite
def pull_requests(
    draw: st.DrawFn, *, paths: list[str] = PATHS, opener: str | None = None
) -> PullRequestFacts:
    files = draw(st.lists(st.sampled_from(paths), unique=True, max_size=4))
    reviews = draw(
        st.lists(
            st.tuples(
                st.sampled_from(PEOPLE),
                st.sampled_from(REVIEW_STATES),
                st.integers(0, 40),
                st.booleans(),
            ),
            max_size=8,
        )
    )
    comments = draw(
        st.lists(
            st.tuples(st.sampled_from(PEOPLE), st.sampled_from(BODIES), st.integers(0, 40)),
            max_size=5,
        )
    )
    who = opener or draw(st.sampled_from(PEOPLE[:-2]))
    co_author = draw(
        st.sampled_from(
            [
                "",
                "\n\nCo-authored-by: A <alice@acme.example>",
                "\n\nCo-authored-by: E <erin@initech.example>",
            ]
        )
    )
    return PullRequestFacts(
        owner="o",
        repo="r",
        number=1,
        node_id="PR_1",
        title="t",
        opener=who,
        head_sha=HEAD,
        base_ref="main",
        labels=tuple(
            draw(st.lists(st.sampled_from(["major", "trivial", "x"]), unique=True, max_size=2))
        ),
        files=tuple(ChangedFile(p, additions=5) for p in files),
        commits=(Commit(sha=HEAD, author_login=who, message="m" + co_author),),
        reviews=tuple(
            Review(
                id=f"r{i}",
                author=a,
                state=s,
                submitted_at=at(d),
                commit_sha=HEAD if fresh else "o" * 40,
            )
            for i, (a, s, d, fresh) in enumerate(reviews)
        ),
        comments=tuple(
            Comment(id=f"c{i}", author=a, body=b, created_at=at(d), updated_at=at(d))
            for i, (a, b, d) in enumerate(comments)
        ),
    )


def _judge(pr: PullRequestFacts, policy: str) -> Verdict:
    return evaluate(pr, MAPS[policy], now=NOW, map_ref=REF, writers=frozenset({"zed"}))


policies = st.sampled_from(sorted(MAPS))


@given(pull_requests(), policies, st.randoms(use_true_random=False))
def test_verdict_does_not_depend_on_listing_order(
    pr: PullRequestFacts, policy: str, rnd: Any
) -> None:
    def shuffled(items: tuple[Any, ...]) -> tuple[Any, ...]:
        listed = list(items)
        rnd.shuffle(listed)
        return tuple(listed)

    other = replace(
        pr,
        files=shuffled(pr.files),
        reviews=shuffled(pr.reviews),
        comments=shuffled(pr.comments),
        labels=shuffled(pr.labels),
    )
    first, second = _judge(pr, policy), _judge(other, policy)
    assert first == second
    assert render(first, check_name="c").fingerprint == render(second, check_name="c").fingerprint


UNPROTECTED = [p for p in PATHS if p != "GOVERNANCE.md"]


@given(pull_requests(paths=UNPROTECTED, opener="alice"), policies, st.integers(0, 45))
def test_a_same_company_approval_never_turns_action_required_into_success(
    pr: PullRequestFacts, policy: str, day: int
) -> None:
    # Only for the independence rule: on protected files a same-company TSC member legitimately
    # lends their company to the `protected_companies` count.
    before = _judge(pr, policy)
    extra = Review(
        id="r-extra", author="bob", state="APPROVED", submitted_at=at(day), commit_sha=HEAD
    )
    after = _judge(replace(pr, reviews=(*pr.reviews, extra)), policy)
    if before.conclusion in ("action_required", "neutral"):
        assert after.conclusion == before.conclusion


@given(pull_requests(), policies)
def test_removing_an_independent_approval_never_turns_action_required_into_success(
    pr: PullRequestFacts, policy: str
) -> None:
    before = _judge(pr, policy)
    if before.conclusion not in ("action_required", "neutral"):
        return
    # Two ways an approval goes away on GitHub: the review is dismissed, or the reviewer's
    # reviews are gone. (Deleting only the latest of several approvals would bring back an
    # earlier one, judged at its own date: that is no removal.)
    for approval in before.approvals:
        if not approval.counted:
            continue
        dismissed = tuple(
            replace(r, state="DISMISSED") if r.id == approval.review_id else r for r in pr.reviews
        )
        assert _judge(replace(pr, reviews=dismissed), policy).conclusion == before.conclusion
        gone = tuple(r for r in pr.reviews if r.author not in _accounts(approval.reviewer))
        assert _judge(replace(pr, reviews=gone), policy).conclusion == before.conclusion


def _accounts(reviewer: str) -> set[str]:
    return {"frank", "frank-work"} if reviewer == "frank" else {reviewer}


@st.composite
def huge_pull_requests(draw: st.DrawFn) -> PullRequestFacts:
    pr = draw(pull_requests())
    scale = draw(st.integers(0, 3000))
    name = draw(st.text(alphabet="ab|`*_\n -é", min_size=1, max_size=60))
    files = tuple(
        ChangedFile(f"core/{name}/{i}.py".replace("\n", "n"), additions=1) for i in range(scale)
    )
    reviews = tuple(
        Review(
            id=f"x{i}",
            author=f"user{i}-{name[:5]}".replace("\n", ""),
            state="APPROVED",
            submitted_at=at(i % 40),
            commit_sha=HEAD,
        )
        for i in range(scale // 3)
    )
    comments = tuple(
        Comment(
            id=f"k{i}",
            author="carol",
            body=f"/coi declare @bob {name * 20}",
            created_at=at(1),
            updated_at=at(1),
        )
        for i in range(scale // 10)
    )
    return replace(
        pr, files=pr.files + files, reviews=pr.reviews + reviews, comments=pr.comments + comments
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(huge_pull_requests(), policies, st.lists(st.sampled_from(PEOPLE), max_size=3))
def test_rendered_output_stays_inside_githubs_limits(
    pr: PullRequestFacts, policy: str, requested: list[str]
) -> None:
    output = render(_judge(pr, policy), check_name="COI review", requested=requested)
    assert len(output.summary) <= MAX_OUTPUT_CHARS
    assert len(output.text) <= MAX_OUTPUT_CHARS
    assert len(output.title) <= MAX_TITLE_CHARS
    assert "\n" not in output.title
    assert output.title
    assert 32 <= len(output.fingerprint) <= 40
