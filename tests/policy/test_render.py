from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import pytest

from bot.affiliations.loader import MapError
from bot.jobs.reconciler import map_decided
from bot.policy.facts import MapFile, PullRequestFacts
from bot.policy.render import (
    MAX_OUTPUT_CHARS,
    CheckOutput,
    annotation_batches,
    fit,
    render,
)
from bot.policy.trust import HeldChange
from bot.policy.verdict import MapRef, evaluate, map_failure

from .builders import NOW, approve, comment, document, facts, make_map

AMAP = make_map()
REF = MapRef(path=".github/affiliations.yml", blob_sha="abc123", source="repository")
MAP_PATH = ".github/affiliations.yml"


def _render(
    pr: PullRequestFacts, *, requested: Sequence[str] = (), no_candidate: bool = False
) -> CheckOutput:
    verdict = evaluate(pr, AMAP, now=NOW, map_ref=REF)
    return render(verdict, check_name="COI review", requested=requested, no_candidate=no_candidate)


@pytest.mark.parametrize(
    ("pr", "title"),
    [
        (facts(files=("docs/a.md",)), "Not a major change"),
        (facts(), "Major change: waiting for an approval to judge"),
        (
            facts(reviews=(approve("bob"), approve("carol"))),
            "Major change with independent approval",
        ),
        (facts(reviews=(approve("bob"),)), "Needs 1 independent approval from another company"),
        (
            facts(opener="erin", files=("GOVERNANCE.md",)),
            "Protected files need approvals from 2 more companies",
        ),
        (
            facts(opener="erin", files=("GOVERNANCE.md",), reviews=(approve("carol"),)),
            "Protected files need approvals from 1 more company",
        ),
    ],
)
def test_titles(pr, title: str) -> None:  # type: ignore[no-untyped-def]
    assert _render(pr).title == title


def test_a_company_name_that_mimics_another_shows_its_own_id() -> None:
    # Globex renamed "Acme" in the map: every place the summary names it shows `globex` too.
    doc = document()
    doc["companies"]["globex"]["name"] = "Acme"
    amap = make_map(companies=doc["companies"])
    pr = facts(opener="erin", files=("GOVERNANCE.md",), reviews=(approve("carol"),))
    summary = render(evaluate(pr, amap, now=NOW, map_ref=REF), check_name="COI review").summary
    assert "| @carol | 2026-03-02 12:00 UTC | Acme (`globex`) | yes |" in summary
    assert "approving companies: Acme (`globex`) (1 more needed)" in summary


def test_summary_tables() -> None:
    pr = facts(
        reviews=(approve("bob"), approve("dave", 2)),
        comments=(
            comment("carol", "/coi declare @erin | odd reason"),
            comment("zed", "/coi bogus", 1),
        ),
    )
    output = _render(pr, requested=("ivan",))
    assert output.conclusion == "action_required"
    summary = output.summary
    assert "| @alice | opener, commit author | Acme (`acme`) |" in summary
    assert (
        "| @bob | 2026-03-02 12:00 UTC | Acme (`acme`) | no "
        "| same company as the authors, Acme (`acme`) |" in summary
    )
    assert "| @dave (not TSC) |" in summary
    assert "path rule `core/**` matches 1 file" in summary
    assert "| @erin | @carol | odd reason \\| |" not in summary
    assert "odd reason" in summary
    assert "Asked: @ivan." in summary
    assert "Decided by the map `.github/affiliations.yml` at blob `abc123` (repository)." in summary
    assert "refused: unknown command `bogus`" in output.text
    assert "- `core/engine.py`" in output.text


def test_no_candidate_left_and_nobody_asked() -> None:
    pr = facts(reviews=(approve("bob"),))
    assert "the TSC must act" in _render(pr, no_candidate=True).summary
    assert "Nobody asked yet." in _render(pr).summary


def test_fingerprint_is_stable_and_changes_with_what_is_shown() -> None:
    pr = facts(reviews=(approve("bob"),))
    first, again = _render(pr), _render(pr)
    assert first.fingerprint == again.fingerprint
    assert 32 <= len(first.fingerprint) <= 40
    assert _render(pr, requested=("carol",)).fingerprint != first.fingerprint
    assert _render(replace(pr, reviews=())).fingerprint != first.fingerprint


def test_head_map_errors_become_annotations() -> None:
    text = '{"version": 1,\n "companies": {"acme": {"name": "Acme"}},\n "poeple": {}}'
    pr = facts(opener="erin", files=(MAP_PATH,), head_map=MapFile(path=MAP_PATH, text=text))
    output = _render(pr)
    assert output.conclusion == "failure"
    assert output.title.startswith("This PR's affiliation map has")
    assert output.annotations
    for annotation in output.annotations:
        assert annotation["path"] == MAP_PATH
        assert annotation["annotation_level"] == "failure"
        assert annotation["start_line"] == annotation["end_line"]
    assert "### Map errors" in output.text


@pytest.mark.parametrize(("source", "annotated"), [("repository", 1), ("owner", 0), ("bundled", 0)])
def test_map_failure_rendering(source: str, annotated: int) -> None:
    ref = MapRef(path="config/affiliations.yml", blob_sha=None, source=source)  # type: ignore[arg-type]
    errors = [MapError(path="config/affiliations.yml", line=3, column=0, message="bad")]
    output = render(map_failure(facts(), errors, map_ref=ref, now=NOW), check_name="COI review")
    assert output.conclusion == "failure"
    assert output.title == "The affiliation map config/affiliations.yml is invalid (1 error)"
    assert len(output.annotations) == annotated
    assert all("start_column" not in a for a in output.annotations)
    assert "config/affiliations.yml:3:0: bad" in output.text


def test_fit_cuts_at_a_line_with_a_note() -> None:
    long = "\n".join("x" * 99 for _ in range(1000))
    assert fit("short") == "short"
    cut = fit(long, limit=1000)
    assert len(cut) <= 1000
    assert cut.endswith("(GitHub allows 1,000 here).")
    assert "more characters not shown" in cut
    no_newline = fit("y" * 5000, limit=1000)
    assert len(no_newline) <= 1000


def test_huge_prs_stay_inside_the_limits() -> None:
    reviewers = [f"user{i}" for i in range(2000)]
    pr = facts(
        files=tuple(f"core/{'d' * 50}/{i}.py" for i in range(3000)),
        reviews=tuple(approve(r, rid=r) for r in reviewers),
    )
    output = _render(pr)
    assert len(output.summary) <= MAX_OUTPUT_CHARS
    assert len(output.text) <= MAX_OUTPUT_CHARS
    assert "more characters not shown" in output.summary + output.text


@pytest.mark.parametrize(
    ("count", "sizes"), [(0, []), (1, [1]), (50, [50]), (51, [50, 1]), (120, [50, 50, 20])]
)
def test_annotation_batches(count: int, sizes: list[int]) -> None:
    annotations = [{"path": "a", "start_line": i} for i in range(count)]
    batches = annotation_batches(annotations)
    assert [len(b) for b in batches] == sizes
    assert [a for b in batches for a in b] == annotations


@pytest.mark.parametrize("size", [0, 51])
def test_annotation_batch_size_is_bounded(size: int) -> None:
    with pytest.raises(ValueError, match="batch size"):
        annotation_batches([], size)


def test_company_names_not_ids_in_tables() -> None:
    doc = document()
    doc["companies"]["acme"]["name"] = "Acme | Rockets"
    pr = facts(reviews=(approve("bob"),))
    from bot.affiliations.index import AffiliationMap
    from bot.affiliations.model import MapDocument

    amap = AffiliationMap(MapDocument.model_validate(json.loads(json.dumps(doc))))
    output = render(evaluate(pr, amap, now=NOW, map_ref=REF), check_name="x")
    assert "Acme \\| Rockets" in output.summary


def test_a_held_map_change_is_said_right_before_the_map_line() -> None:
    held = HeldChange("f00dfeed" * 5, "https://github.com/o/r/commit/" + "f00dfeed" * 5)
    verdict = evaluate(facts(), AMAP, now=NOW, map_ref=replace(REF, held=held))
    summary = render(verdict, check_name="COI review").summary.rstrip()
    *_, held_text, blank, map_line = summary.splitlines()
    assert held_text.startswith("The map changed without review in [`f00dfee`](https://github.com/")
    assert blank == ""
    assert map_line.startswith("Decided by the map `.github/affiliations.yml` at blob `abc123`")
    plain = render(evaluate(facts(), AMAP, now=NOW, map_ref=REF), check_name="COI review")
    assert "without review" not in plain.summary
    assert plain.fingerprint != render(verdict, check_name="COI review").fingerprint


def test_a_waiting_change_says_what_it_waits_for() -> None:
    output = _render(facts(reviews=(approve("renovate[bot]"),)))
    assert output.conclusion == "in_progress"
    first = output.summary.splitlines()[0]
    assert first.startswith("**in_progress**: ")
    assert "waiting for an approval to judge" in first
    assert "first approval that counts" in first
    assert "or conflicts" in first
    assert "bots' reviews never count" in output.summary, "the approval that did not end it"
    assert "### Review requested" not in output.summary, "nobody is asked while it waits"


@pytest.mark.parametrize(
    ("source", "instead"),
    [("bundled", "the bundled map"), ("repository", "the repository's map")],
)
def test_an_unreadable_owner_repository_is_named_before_the_map_line(
    source: str, instead: str
) -> None:
    ref = MapRef(path="config/affiliations.yml", blob_sha="b0b", source=source)  # type: ignore[arg-type]
    verdict = evaluate(facts(), AMAP, now=NOW, map_ref=replace(ref, unread_owner="o/.github"))
    summary = render(verdict, check_name="COI review").summary
    *_, said, blank, map_line = summary.splitlines()
    assert map_line.startswith("Decided by the map `config/affiliations.yml` at blob `b0b`")
    assert said == (
        "The owner's repository `o/.github` could not be read (the App is not installed there, "
        f"or it does not exist), so no map of it was used: {instead} decided instead."
    )
    assert (blank, map_decided(summary)) == ("", ("b0b", source))


def test_the_default_branch_is_named_on_the_map_line() -> None:
    verdict = evaluate(facts(), AMAP, now=NOW, map_ref=replace(REF, branch="main"))
    summary = render(verdict, check_name="COI review").summary
    assert summary.splitlines()[-1] == (
        "Decided by the map `.github/affiliations.yml` at blob `abc123` (repository). "
        "It is the map on the default branch `main`, which judges every pull request whatever "
        "its base."
    )
    assert map_decided(summary) == ("abc123", "repository")
