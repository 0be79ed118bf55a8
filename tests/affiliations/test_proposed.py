"""A PR's new map checked: bounded errors and suggestions, digests of each person's entry."""

from __future__ import annotations

from bot.affiliations.consistency import MAX_SUGGESTIONS
from bot.affiliations.loader import MAX_ERRORS, load_map_text
from bot.affiliations.proposed import check_proposed_map, too_slow
from tests.e2e.test_hostile import unknown_companies_map


def test_errors_beyond_the_cap_are_counted_not_listed() -> None:
    loaded = load_map_text(unknown_companies_map(companies=3, unknown=MAX_ERRORS + 7), path="m")
    assert len(loaded.errors) == MAX_ERRORS
    assert loaded.errors_omitted == 7
    assert loaded.error_count == MAX_ERRORS + 7


def test_only_the_first_unknown_ids_get_a_suggestion() -> None:
    text = unknown_companies_map(companies=3, unknown=MAX_SUGGESTIONS + 5).replace(
        "unknowncorp", "company"
    )
    errors = check_proposed_map(text, path="m").errors
    hinted = [e for e in errors if "did you mean" in e.message]
    assert len(errors) == MAX_SUGGESTIONS + 5
    assert len(hinted) == MAX_SUGGESTIONS


def test_equal_entries_have_equal_digests_and_any_change_shows() -> None:
    base = "version: 1\ncompanies: {a: {name: A}}\npeople:\n  x: {affiliations: [{company: a}]}\n"
    moved = base.replace("[{company: a}]", "[{company: a, from: 2020-01-01}]")
    first, again, changed = (check_proposed_map(t, path="m") for t in (base, base, moved))
    assert first.entry_of("X") == again.entry_of("x")
    assert first.entry_of("x") != changed.entry_of("x")


def test_a_check_out_of_time_is_a_failure() -> None:
    result = too_slow("m.yml", seconds=2)
    assert not result.ok
    assert result.error_count == 1
    assert str(result.errors[0]) == (
        "m.yml:1:1: the map is too large or too broken to check in time (2 s of CPU)"
    )
