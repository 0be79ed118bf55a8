"""People are accounts: `AffiliationMap.seen_as` resolves GitHub's (login, id) to a map person."""

from __future__ import annotations

from datetime import date

import pytest

from bot.affiliations.index import AccountNote, AffiliationMap
from bot.affiliations.loader import load_map_text

DAY = date(2026, 6, 1)
MAP = """\
version: 1
companies:
  acme: {name: Acme}
  globex: {name: Globex}
people:
  alice: {id: 11, role: maintainer, logins: [alice-work], affiliations: [{company: acme}]}
  gus: {id: 22, role: maintainer, affiliations: [{company: globex}]}
  nora: {role: maintainer, affiliations: [{company: globex}]}
"""


@pytest.fixture(scope="module")
def amap() -> AffiliationMap:
    loaded = load_map_text(MAP, path="map.yml")
    assert loaded.map is not None, loaded.errors
    return loaded.map


@pytest.mark.parametrize(
    ("accounts", "login", "person"),
    [
        # The map's id on the map's login: that person, as today.
        ({"gus": 22}, "gus", "gus"),
        ({"GUS": 22}, "GUS", "gus"),
        # Nothing read about the account: by login.
        ({}, "gus", "gus"),
        # Renamed: the id finds the person under the new login.
        ({"gustav": 22}, "gustav", "gustav"),
        # The login held by another account: not the person, whoever holds it.
        ({"gus": 99}, "gus", None),
        ({"gus": None}, "gus", None),
        # Renamed and the old login registered again by someone else, both seen.
        ({"gustav": 22, "gus": 99}, "gustav", "gustav"),
        ({"gustav": 22, "gus": 99}, "gus", None),
        ({"alpha": 22, "gus": 99}, "alpha", "alpha"),  # the new login sorts first
        ({"alpha": 22, "gus": 99}, "gus", None),
        # Renamed: the old login is no longer theirs even when its new holder was not seen.
        ({"gustav": 22}, "gus", None),
        # No id in the map: by login, whatever the account's id.
        ({"nora": 99}, "nora", "nora"),
        # Another of a person's `logins` carries no id of its own: by login.
        ({"alice-work": 77}, "alice-work", "alice"),
        # The id wins over a login: a renamed member's new login is theirs, not another's.
        ({"nora": 22}, "nora", "nora"),
        ({"alice-work": 22}, "alice-work", "alice-work"),
        ({"alice-work": 22}, "alice", "alice"),
    ],
)
def test_an_account_resolves_to_the_person_its_id_or_login_names(
    amap: AffiliationMap, accounts: dict[str, int | None], login: str, person: str | None
) -> None:
    seen = amap.seen_as(accounts)
    assert seen.login_of(login) == person


def test_a_renamed_member_keeps_their_companies_role_and_is_asked_under_the_new_login(
    amap: AffiliationMap,
) -> None:
    seen = amap.seen_as({"gustav": 22})
    assert seen.companies_of("gustav", DAY) == {"globex"}
    assert seen.is_tsc("gustav")
    assert "gustav" in seen.tsc_members()
    assert "gus" not in seen.tsc_members()
    assert seen.map_key("gustav") == "gus"
    assert seen.account_notes == (AccountNote("gustav", 22, "gus", 22, renamed=True),)


def test_a_login_held_by_another_account_is_unknown_and_never_a_candidate(
    amap: AffiliationMap,
) -> None:
    seen = amap.seen_as({"gus": 99})
    assert not seen.is_known("gus")
    assert not seen.is_tsc("gus")
    assert seen.companies_of("gus", DAY) == frozenset()
    assert seen.key_of("gus") == "gus"  # a stranger's key: nobody of the map
    assert "gus" not in seen.tsc_members()
    assert seen.account_notes == (AccountNote("gus", 99, "gus", 22, renamed=False),)
    # Still the map's person, reached by no login: under a key no login can match.
    assert seen.companies_of("gus (old login)", DAY) == {"globex"}
    assert "gus (old login)" not in seen.tsc_members()
    assert seen.map_key("gus (old login)") == "gus"


def test_a_new_login_that_is_another_persons_key_is_no_longer_theirs(
    amap: AffiliationMap,
) -> None:
    # Gus renamed to "nora" (freed by Nora, who has no id in the map): the id decides.
    seen = amap.seen_as({"nora": 22})
    assert seen.companies_of("nora", DAY) == {"globex"}
    assert seen.map_key("nora") == "gus"
    assert sorted(seen.tsc_members()) == ["alice", "nora"]
    assert seen.document.people["nora"].id == 22


def test_a_new_login_listed_among_anothers_logins_leaves_their_list(amap: AffiliationMap) -> None:
    seen = amap.seen_as({"alice-work": 22})
    assert seen.document.people["alice"].logins == []
    assert seen.companies_of("alice-work", DAY) == {"globex"}


def test_a_view_asked_again_for_the_same_accounts_is_itself(amap: AffiliationMap) -> None:
    seen = amap.seen_as({"gustav": 22})
    assert seen.seen_as({"gustav": 22}) is seen
    assert seen.seen_as({"gustav": 22, "gus": 99}).account_notes == (
        AccountNote("gus", 99, "gus", 22, renamed=False),
        AccountNote("gustav", 22, "gus", 22, renamed=True),
    )


def test_both_notes_whichever_login_sorts_first(amap: AffiliationMap) -> None:
    notes = amap.seen_as({"alpha": 22, "gus": 99}).account_notes
    assert {(n.login, n.renamed) for n in notes} == {("alpha", True), ("gus", False)}


def test_accounts_that_agree_with_the_map_leave_it_as_it_is(amap: AffiliationMap) -> None:
    assert amap.seen_as({"gus": 22, "nora": 5, "stranger": 7}) is amap
    assert amap.seen_as({"gustav": 22}).seen_as({}) is amap


def test_a_map_without_ids_is_never_rebuilt() -> None:
    loaded = load_map_text("version: 1\npeople:\n  gus: {}\n", path="map.yml")
    assert loaded.map is not None
    assert loaded.map.seen_as({"gus": 99}) is loaded.map
    assert loaded.map.account_notes == ()
