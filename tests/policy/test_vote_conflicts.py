"""Who is conflicted on a vote: subjects (map entries and OWNERS.md lines) and their colleagues,
else the authors and theirs, and declared conflicts."""

from __future__ import annotations

from typing import Any

from bot.affiliations.importers import owners_lines
from bot.affiliations.index import AffiliationMap
from bot.affiliations.model import MapDocument
from bot.policy.facts import Commit
from bot.policy.vote_conflicts import Party, authors, conflicts, opener_party, subjects
from bot.policy.votes import electorate

from .builders import facts
from .test_votes import DAY, vote_map

OWNERS = """# Leaders ***
###### 3 vote points
* Lea ([@lea](https://github.com/lea)), _Acme_

# Maintainers *
###### 1 vote points
* Max ([@max](https://github.com/max)), _Globex_
"""
NOMINEE = "* Jake Z ([@skiedude](https://github.com/skiedude)), _ACME_\n"


def _head(amap: AffiliationMap, change: dict[str, Any]) -> AffiliationMap:
    data = amap.document.model_dump(by_alias=True)
    data["people"].update(change)
    return AffiliationMap(MapDocument.model_validate(data))


def _conflicts(amap: AffiliationMap, **parties: Any) -> dict[str, str]:
    voters = electorate(amap, DAY).values()
    return conflicts(
        amap,
        voters,
        subjects=parties.get("subjects", ()),
        authors=parties.get("authors", ()),
        declared=parties.get("declared", {}),
        day=DAY,
    )


def test_owners_lines() -> None:
    lines = owners_lines(OWNERS + NOMINEE)
    assert set(lines) == {"lea", "max", "skiedude"}
    assert (lines["skiedude"].role, lines["skiedude"].company) == ("maintainer", "ACME")
    assert lines["lea"].role == "leader"


def test_a_nominee_missing_from_the_map_takes_the_company_of_their_line() -> None:
    amap = vote_map()
    found = subjects(
        amap, head_map=None, owners_before=OWNERS, owners_after=OWNERS + NOMINEE, day=DAY
    )
    assert found == (Party("skiedude", "nominee", ("acme",)),)
    assert _conflicts(amap, subjects=found) == {
        "lea": "Acme, like the nominee @skiedude",
        "sam": "Acme, like the nominee @skiedude",
    }


def test_a_promotion_in_owners_md_makes_the_promoted_a_subject() -> None:
    amap = vote_map()
    promoted = OWNERS.replace("* Max", "* Maxi")
    found = subjects(amap, head_map=None, owners_before=OWNERS, owners_after=promoted, day=DAY)
    assert found == (Party("max", "nominee", ("globex",)),)
    assert _conflicts(amap, subjects=found) == {
        "max": "the nominee @max",
        "sue": "Globex, like the nominee @max",
    }


def test_a_removal_makes_a_subject() -> None:
    amap = vote_map()
    without_max = OWNERS.split("* Max")[0]
    found = subjects(amap, head_map=None, owners_before=OWNERS, owners_after=without_max, day=DAY)
    assert found == (Party("max", "subject", ("globex",)),)


def test_a_changed_map_entry_makes_a_subject_and_parents_conflict() -> None:
    amap = vote_map()
    head = _head(
        amap, {"moe": {"role": "senior-maintainer", "affiliations": [{"company": "broadcom"}]}}
    )
    found = subjects(amap, head_map=head, owners_before=None, owners_after=None, day=DAY)
    assert found == (Party("moe", "nominee", ("broadcom",)),)
    # VMware's parent is Broadcom: one side of a conflict.
    assert _conflicts(amap, subjects=found) == {
        "moe": "the nominee @moe",
        "mia": "VMware, like the nominee @moe",
    }


def test_a_new_map_entry_takes_its_company_from_the_head_map_by_name() -> None:
    amap = vote_map()
    data = amap.document.model_dump(by_alias=True)
    data["companies"]["globex-inc"] = {"name": "Globex"}
    data["people"]["neo"] = {"role": "maintainer", "affiliations": [{"company": "globex-inc"}]}
    head = AffiliationMap(MapDocument.model_validate(data))
    found = subjects(amap, head_map=head, owners_before=None, owners_after=None, day=DAY)
    assert found == (Party("neo", "nominee", ("globex",)),)


def test_independents_never_conflict_by_company() -> None:
    amap = vote_map()
    assert _conflicts(amap, subjects=[Party("ian", "nominee", ("independent",))]) == {
        "ian": "the nominee @ian"
    }


def test_without_subjects_the_authors_decide() -> None:
    amap = vote_map()
    pr = facts(opener="max", commits=(Commit("c" * 40, author_login="Lea"),))
    found = authors(pr, amap, DAY)
    assert found == (Party("lea", "author", ("acme",)), Party("max", "author", ("globex",)))
    assert _conflicts(amap, authors=found) == {
        "lea": "an author",
        "max": "an author",
        "sam": "Acme, like the author @lea",
        "sue": "Globex, like the author @max",
    }
    assert authors(None, amap, DAY) == ()
    assert opener_party("Sue", amap, DAY) == Party("sue", "author", ("globex",))


def test_subjects_take_precedence_over_authors() -> None:
    amap = vote_map()
    nominee = [Party("skiedude", "nominee", ("acme",))]
    author = [Party("max", "author", ("globex",))]
    assert set(_conflicts(amap, subjects=nominee, authors=author)) == {"lea", "sam"}


def test_declared_conflicts() -> None:
    amap = vote_map()
    found = _conflicts(amap, declared={"ivy": "my brother is the nominee", "ian": None})
    assert found == {
        "ivy": "declared a conflict: my brother is the nominee",
        "ian": "declared a conflict",
    }


def test_standing_conflicts_in_the_map() -> None:
    amap = _head(
        vote_map(),
        {
            "ivy": {
                "role": "maintainer",
                "affiliations": [{"company": "independent"}],
                "conflicts": [{"company": "acme", "reason": "consults for Acme"}],
            }
        },
    )
    found = _conflicts(amap, subjects=[Party("skiedude", "nominee", ("acme",))])
    assert found["ivy"] == (
        "a standing conflict with Acme, like the nominee @skiedude: consults for Acme"
    )
