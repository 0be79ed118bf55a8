"""Loading the map: every kind of problem reported at once, each at its exact line and column."""

from __future__ import annotations

import gc
import math
import textwrap
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.events import ScalarEvent

from bot.affiliations import loader
from bot.affiliations.consistency import check_document
from bot.affiliations.loader import (
    MAX_DEPTH,
    MAX_MAP_BYTES,
    LoadResult,
    MapError,
    _Composer,
    load_map_file,
    load_map_text,
)

VALID = """\
version: 1
companies:
  extreme: {name: Extreme Networks, aliases: [StackStorm]}
  broadcom: {name: Broadcom}
  vmware: {name: VMware, parent: broadcom}
  independent: {name: Independent, independent: true}
people:
  cognifloyd:
    logins: [cognifloyd-work]
    emails: [floyd@example.com]
    role: senior-maintainer
    affiliations:
      - {company: independent, until: 2021-06-01}
      - {company: vmware, from: 2021-06-01}
    conflicts:
      - {company: extreme, until: 2027-01-01}
    away:
      - {from: 2026-12-20, until: 2027-01-05}
  amanda11:
    role: leader
    affiliations: [{company: extreme}]
bots: ["dependabot[bot]"]
policy:
  roles: {leader: {tsc: true}, senior-maintainer: {tsc: true}}
"""


def load(text: str) -> LoadResult:
    return load_map_text(textwrap.dedent(text), path="m.yml")


def only_error(text: str) -> MapError:
    result = load(text)
    assert result.map is None
    assert len(result.errors) == 1, [str(e) for e in result.errors]
    return result.errors[0]


def test_a_valid_map_loads_with_its_index() -> None:
    result = load_map_text(VALID)
    assert result.errors == ()
    assert result.ok
    assert result.map is not None
    assert result.document is not None
    assert result.map.document is result.document
    assert result.map.login_of("Cognifloyd-Work") == "cognifloyd"
    assert result.map.companies_of("cognifloyd", date(2021, 6, 1)) == {"vmware"}


def test_str_of_an_error_is_file_line_column_message() -> None:
    error = MapError("config/affiliations.yml", 42, 7, "unknown company 'extrme'")
    assert str(error) == "config/affiliations.yml:42:7: unknown company 'extrme'"


# Each case: a map with one mistake, and the one error expected: line, column, message.
ONE_MISTAKE = [
    pytest.param(
        """\
        version: 1
        companies:
          extreme: {nmae: Extreme}
        """,
        (3, 13, "unknown key 'nmae' (did you mean 'name'?)"),
        id="unknown-key-suggested",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice:
            affiliations:
              - company: x
                form: 2020-01-01
        companies: {x: {name: X}}
        """,
        (6, 9, "unknown key 'form' (did you mean 'from'?)"),
        id="unknown-key-alias-suggested",
    ),
    pytest.param(
        """\
        version: 1
        zzz: 1
        """,
        (2, 1, "unknown key 'zzz'"),
        id="unknown-key-without-suggestion",
    ),
    pytest.param(
        """\
        version: 1
        companies:
          extreme: {name: Extreme}
        people:
          alice:
            affiliations:
              - {company: extrme}
        """,
        (7, 19, "unknown company 'extrme' (did you mean 'extreme'?)"),
        id="unknown-company-in-affiliations",
    ),
    pytest.param(
        """\
        version: 1
        companies:
          extreme: {name: Extreme Networks, aliases: [StackStorm]}
        people:
          alice:
            conflicts:
              - {company: stackstorm, reason: consults}
        """,
        (7, 19, "unknown company 'stackstorm' (did you mean 'extreme'?)"),
        id="unknown-company-in-conflicts-by-alias",
    ),
    pytest.param(
        """\
        version: 1
        companies:
          broadcom: {name: Broadcom}
          vmware: {name: VMware, parent: brodcom}
        """,
        (4, 34, "unknown company 'brodcom' (did you mean 'broadcom'?)"),
        id="unknown-company-as-parent",
    ),
    pytest.param(
        """\
        version: 1
        companies:
          a: {name: A}
        people:
          alice: {affiliations: [{company: zzzzzz}]}
        """,
        (5, 36, "unknown company 'zzzzzz'"),
        id="unknown-company-without-suggestion",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice:
            role: maintaner
        """,
        (4, 11, "unknown role 'maintaner' (did you mean 'maintainer'?)"),
        id="unknown-role-default-roles",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice: {role: boss}
        policy:
          roles: {leader: {tsc: true}, member: {}}
        """,
        (3, 17, "unknown role 'boss' (roles: leader, member)"),
        id="unknown-role-lists-roles",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice: {}
          bob:
            logins: [ALICE]
        """,
        (5, 14, "login 'ALICE' belongs to 'alice' (logins ignore case), first at line 3"),
        id="login-of-two-people",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice: {logins: [work]}
          bob: {logins: [Work]}
        """,
        (4, 18, "login 'Work' belongs to 'alice' (logins ignore case), first at line 3"),
        id="other-login-of-two-people",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice: {logins: [alice]}
        """,
        (3, 20, "login 'alice' is listed twice (logins ignore case), first at line 3"),
        id="login-twice-for-one-person",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice: {emails: [a@example.com]}
          bob:
            emails:
              - A@Example.com
        """,
        (6, 9, "email 'A@Example.com' belongs to 'alice' (emails ignore case), first at line 3"),
        id="email-of-two-people",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice: {emails: [a@example.com, a@example.com]}
        """,
        (3, 35, "email 'a@example.com' is listed twice (emails ignore case), first at line 3"),
        id="email-twice-for-one-person",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice: {id: 583231}
          bob:
            id: 583231
        """,
        (5, 9, "GitHub id 583231 belongs to 'alice', first at line 3"),
        id="github-id-of-two-people",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice: {id: "583231"}
        """,
        (3, 15, "people.alice.id should be a valid integer, got '583231'"),
        id="github-id-as-text",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice: {id: true}
        """,
        (3, 15, "people.alice.id should be a valid integer, got True"),
        id="github-id-as-boolean",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice: {id: -4}
        """,
        (3, 15, "people.alice.id should be greater than 0, got -4"),
        id="github-id-below-one",
    ),
    pytest.param(
        """\
        version: 1
        companies: {a: {name: A}, b: {name: B}}
        people:
          alice:
            affiliations:
              - {company: a, from: 2020-01-01, until: 2021-01-01}
              - {company: b, from: 2020-12-31}
        """,
        (7, 9, "affiliation with 'b' overlaps the one with 'a'"),
        id="overlapping-affiliations",
    ),
    pytest.param(
        """\
        version: 1
        companies: {a: {name: A}, b: {name: B}}
        people:
          alice:
            affiliations:
              - {company: b, from: 2019-01-01}
              - {company: a}
        """,
        (7, 9, "affiliation with 'a' overlaps the one with 'b'"),
        id="open-ranges-overlap",
    ),
    pytest.param(
        """\
        version: 1
        companies: {a: {name: A}}
        people:
          alice:
            affiliations:
              - {company: a, from: 2021-01-01, until: 2021-01-01}
        """,
        (6, 47, "empty date range: 'from' 2021-01-01 is not before 'until' 2021-01-01"),
        id="inverted-affiliation-equal-ends",
    ),
    pytest.param(
        """\
        version: 1
        companies: {a: {name: A}}
        people:
          alice:
            conflicts:
              - company: a
                from: 2022-01-01
                until: 2021-01-01
        """,
        (8, 16, "empty date range: 'from' 2022-01-01 is not before 'until' 2021-01-01"),
        id="inverted-conflict",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice:
            away: [{from: 2027-01-05, until: 2026-12-20}]
        """,
        (4, 38, "empty date range: 'from' 2027-01-05 is not before 'until' 2026-12-20"),
        id="inverted-away",
    ),
    pytest.param(
        """\
        version: 1
        companies:
          a: {name: A, parent: b}
          b: {name: B, parent: c}
          c: {name: C, parent: a}
          d: {name: D, parent: a}
        """,
        (3, 24, "parent chain loops: a -> b -> c -> a"),
        id="parent-loop",
    ),
    pytest.param(
        """\
        version: 1
        companies:
          a: {name: A, parent: a}
        """,
        (3, 24, "parent chain loops: a -> a"),
        id="parent-of-itself",
    ),
    pytest.param(
        """\
        version: 1
        companies: {a: {name: A}}
        people:
          alice:
            affiliations: [{company: a, from: 2021-02-30}]
        """,
        (5, 39, "people.alice.affiliations[0].from should be a date (YYYY-MM-DD): day value"),
        id="bad-date",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice:
            away: [{from: next week}]
        """,
        (4, 19, "people.alice.away[0].from should be a date (YYYY-MM-DD)"),
        id="not-a-date",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice:
            logins: cognifloyd-work
        """,
        (4, 13, "people.alice.logins should be a valid list, got 'cognifloyd-work'"),
        id="wrong-type-list",
    ),
    pytest.param(
        """\
        version: 1
        companies:
          a: [A]
        """,
        (3, 6, "companies.a should be a mapping (key: value), got a list"),
        id="wrong-type-mapping",
    ),
    pytest.param(
        """\
        version: 1
        policy:
          independent_approvals: many
        """,
        (3, 26, "policy.independent_approvals should be a valid integer"),
        id="wrong-type-integer",
    ),
    pytest.param(
        """\
        version: 1
        policy:
          require: sometimes
        """,
        (3, 12, "policy.require should be 'when_conflicted' or 'always', got 'sometimes'"),
        id="bad-choice",
    ),
    pytest.param(
        """\
        version: 1
        companies:
          a: {aliases: [A]}
        """,
        (3, 6, "missing required key 'name'"),
        id="missing-key",
    ),
    pytest.param(
        """\
        version: 1
        people:
          alice: {}
          alice: {role: leader}
        """,
        (4, 3, "duplicate key 'alice', first at line 3"),
        id="duplicate-key",
    ),
    pytest.param(
        """\
        version: 1
        companies:
          a: {name: A, name: B}
        """,
        (3, 16, "duplicate key 'name', first at line 3"),
        id="duplicate-key-in-flow",
    ),
    pytest.param(
        """\
        version: 1
        companies:
          a: {name: A
        people: {}
        """,
        (4, 7, "not valid YAML: did not find expected ',' or '}' (while parsing a flow mapping)"),
        id="not-yaml-flow",
    ),
    pytest.param(
        """\
        version: 1
        people: alice: x
        """,
        (2, 14, "not valid YAML: mapping values are not allowed in this context"),
        id="not-yaml-mapping-value",
    ),
    pytest.param(
        "version: 1\ncompanies:\n  a: {name: 'A}\n",
        (4, 1, "not valid YAML: found unexpected end of stream (while scanning a quoted scalar)"),
        id="not-yaml-unclosed-quote",
    ),
    pytest.param(
        "version: 1\npeople:\n  ébé: {name: \x07}\n",
        (3, 15, "not valid YAML: character #x0007: control characters are not allowed"),
        id="not-yaml-control-character-after-non-ascii",
    ),
    pytest.param("", (1, 1, "the map is empty: it starts with 'version: 1'"), id="empty"),
    pytest.param(
        "# only a comment\n", (1, 1, "the map is empty: it starts with 'version: 1'"), id="comment"
    ),
    pytest.param("---\n", (1, 1, "the map is empty: it starts with 'version: 1'"), id="bare-doc"),
    pytest.param(
        "\n\n- version: 1\n",
        (3, 1, "the map must be a mapping (version, companies, people, ...), got a list"),
        id="not-a-mapping",
    ),
    pytest.param(
        "just text\n",
        (1, 1, "the map must be a mapping (version, companies, people, ...), got 'just text'"),
        id="a-scalar",
    ),
    pytest.param(
        "version: 1\n---\nversion: 1\n",
        (2, 1, "a map is one YAML document, found two"),
        id="two-documents",
    ),
    pytest.param(
        "companies: {}\n",
        (1, 1, "missing required key 'version' (write 'version: 1' first)"),
        id="version-missing",
    ),
    pytest.param(
        "companies: {}\nversion: 2\n",
        (2, 10, "unsupported version 2: this coi-bot reads 'version: 1'"),
        id="version-2",
    ),
    pytest.param(
        "version: '1'\n",
        (1, 10, "unsupported version '1': this coi-bot reads 'version: 1'"),
        id="version-as-text",
    ),
    pytest.param(
        "version: 1\npeople:\n  ? [a, b]\n  : {}\n",
        (3, 5, "a key must be plain text, not a list or mapping"),
        id="complex-key",
    ),
    pytest.param(
        "version: 1\nbots: [!!binary aGVsbG8]\n",
        (2, 8, "unsupported tag 'tag:yaml.org,2002:binary'"),
        id="unsupported-scalar-tag",
    ),
    pytest.param(
        "version: 1\npolicy: !custom {}\n",
        (2, 9, "unsupported tag '!custom'"),
        id="unsupported-collection-tag",
    ),
    pytest.param(
        "version: 1\ncompanies: {a: {name: !!int two}}\n",
        (2, 23, "'two' is not a valid int"),
        id="bad-explicit-int",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ONE_MISTAKE)
def test_one_mistake_is_one_error_at_its_place(text: str, expected: tuple[int, int, str]) -> None:
    error = only_error(text)
    line, column, message = expected
    assert (error.path, error.line, error.column) == ("m.yml", line, column), str(error)
    assert error.message.startswith(message), str(error)


def test_every_problem_is_reported_at_once_in_order_of_position() -> None:
    result = load(
        """\
        version: 2
        companies:
          extreme: {name: Extreme, nmae: x}
        people:
          alice:
            role: maintaner
            affiliations:
              - {company: extrme, until: 2021-06-01}
              - {company: extreme, from: 2021-13-01}
          alice: {}
        """
    )
    assert [(e.line, e.column) for e in result.errors] == [
        (1, 10),
        (3, 28),
        (6, 11),
        (8, 19),
        (9, 34),
        (10, 3),
    ]
    assert result.map is None
    assert result.document is None


def test_a_document_that_only_fails_the_cross_checks_is_kept() -> None:
    result = load("version: 1\npeople: {alice: {role: nobody}}\n")
    assert result.map is None
    assert result.document is not None
    assert "alice" in result.document.people


@pytest.mark.parametrize(
    "spelling",
    ["2021-06-01", "'2021-06-01'", '"2021-06-01"', "!!timestamp 2021-06-01", "!!str 2021-06-01"],
)
def test_dates_may_be_yaml_timestamps_or_strings(spelling: str) -> None:
    text = f"version: 1\npeople:\n  a: {{away: [{{from: {spelling}}}]}}\n"
    result = load_map_text(text)
    assert result.errors == ()
    assert result.document is not None
    assert result.document.people["a"].away[0].from_ == date(2021, 6, 1)


def test_cross_checks_read_dates_given_as_date_objects() -> None:
    problems = check_document(
        {
            "companies": {"a": {"name": "A"}},
            "people": {
                "p": {
                    "affiliations": [
                        {"company": "a", "from": date(2021, 1, 1)},
                        {"company": "a", "from": "2020-01-01", "until": date(2021, 1, 2)},
                    ]
                }
            },
        }
    )
    assert [(p.loc, p.first) for p in problems] == [
        (("people", "p", "affiliations", 1), ("people", "p", "affiliations", 0))
    ]


def test_cross_checks_skip_what_pydantic_reports() -> None:
    document = {
        "companies": {"a": "not a mapping", "b": {"name": "B", "aliases": "x", "parent": 3}},
        "people": {
            "p": {
                "logins": [7],
                "emails": [None],
                "role": "x",
                "affiliations": ["x", {"company": 5, "from": "soon", "until": 2021}],
            },
            "q": "not a mapping",
        },
        "policy": {"roles": ["leader"]},
    }
    assert check_document(document) == []
    assert check_document({"people": [], "companies": None}) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x", "x"),
        ("'07'", "07"),
        ("07", 7),
        ("-3", -3),
        ("0x1f", 31),
        ("0o17", 15),
        ("0xzz", "0xzz"),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        (".inf", float("inf")),
        ("-.Inf", float("-inf")),
        ("~", None),
        ("null", None),
        ("True", True),
        ("false", False),
        ("no", "no"),
        ("nan", "nan"),
        ("2021-06-01", "2021-06-01"),
        ("!!float 2", 2.0),
        ("!!bool true", True),
        ("!!null x", None),
        ("! 12", "12"),
        ("&a anchored", "anchored"),
    ],
)
def test_scalars_follow_the_yaml_1_2_core_schema(text: str, value: object) -> None:
    composed = _Composer(f"items: [{text}]\n").compose()
    assert composed.root == {"items": [value]}
    assert composed.errors == []


def test_nan_is_a_float() -> None:
    assert math.isnan(_Composer("a: .NaN").compose().root["a"])


# --- hostile input ----------------------------------------------------------------------------

BILLION_LAUGHS = "\n".join(
    [
        "version: 1",
        "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]",
        *(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]"
            for i in range(8)
        ),
    ]
)


def test_aliases_that_expand_are_refused_without_expanding() -> None:
    error = only_error(BILLION_LAUGHS)
    # The bound is crossed within the sixth level, at its fourth alias: nothing past it is read.
    assert (error.line, error.column) == (7, 36)
    assert error.message == "aliases expand the map beyond 1,000,000 values: refusing it"


def test_aliases_that_stay_small_are_allowed_and_shared() -> None:
    result = load(
        """\
        version: 1
        companies: {a: {name: A}}
        people:
          alice: {affiliations: &usual [{company: a}]}
          bob: {affiliations: *usual}
        """
    )
    assert result.errors == ()
    assert result.map is not None
    assert result.map.companies_of("bob", date(2020, 1, 1)) == {"a"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x [1, *x]\n", (1, 11, "alias '*x' refers to a node that contains it")),
        ("a: *x\n", (1, 4, "alias '*x' has no anchor '&x' before it")),
        (
            "version: 1\npeople:\n  &k x: {}\n  *k : {}\n",
            (4, 3, "a key must be plain text, not a list or mapping"),
        ),
    ],
)
def test_bad_aliases_are_errors(text: str, expected: tuple[int, int, str]) -> None:
    error = only_error(text)
    assert (error.line, error.column, error.message) == expected


@pytest.mark.parametrize(
    ("start", "opener", "closer"),
    [("x: ", "[", "]"), ("x: ", "{a: ", "}"), ("x:\n", "- ", "")],
)
def test_deep_nesting_is_refused_before_it_is_built(start: str, opener: str, closer: str) -> None:
    depth = 100_000
    text = "version: 1\n" + start + opener * depth + "1" + closer * depth + "\n"
    error = only_error(text)
    refusals = {f"nesting deeper than {MAX_DEPTH} levels: refusing the map"}
    # '[' may open a flow key, so libyaml's scanner reads ahead and hits its own cap first.
    refusals.add("not valid YAML: exceeded maximum nesting depth (while increasing flow level)")
    assert error.message in refusals
    assert error.line == text.count("\n", 0, text.index(opener)) + 1


def test_deep_block_nesting_is_refused() -> None:
    text = "".join(f"{'  ' * level}k{level}:\n" for level in range(40))
    error = only_error(text)
    # The root is the first level: the key on line 16 opens the seventeenth.
    assert (error.line, error.column) == (MAX_DEPTH + 1, 2 * MAX_DEPTH + 1)


def test_nesting_at_the_bound_is_read() -> None:
    text = "version: 1\nx: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert only_error(text).message == "unknown key 'x'"


def test_more_values_than_the_bound_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_NODES", 1_000)
    error = only_error("version: 1\nx: [" + "[], " * 1_000 + "]\n")
    # Keys count too: root, version, 1, x and the outer list are five; the 996th `[]` is one over.
    assert (error.line, error.column) == (2, 4 + 995 * 4 + 1)
    assert error.message == "more than 1,000 values: refusing the map"


@pytest.mark.parametrize("size", [MAX_MAP_BYTES + 1, 10 * 1000 * 1000])
def test_text_over_the_size_bound_is_refused(size: int) -> None:
    text = "#" * size
    error = only_error(text)
    assert (error.line, error.column) == (1, 1)
    assert "larger than 4 MiB" in error.message


def test_the_size_bound_counts_bytes_not_characters() -> None:
    text = "# " + "é" * (MAX_MAP_BYTES // 2)
    assert len(text) < MAX_MAP_BYTES
    assert "larger than 4 MiB" in only_error(text).message


# --- files ------------------------------------------------------------------------------------


def test_a_file_loads_with_its_path_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text(VALID, encoding="utf-8")
    assert load_map_file(good).errors == ()
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\nbots: x\n", encoding="utf-8")
    (error,) = load_map_file(str(bad)).errors
    assert str(error) == f"{bad}:2:7: bots should be a valid list, got 'x'"


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert load_map_file(path).errors == ()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"version: 1\nbots: [\xff]\n", (2, 8, "not UTF-8 text: byte 0xff")),
        (b"\xc3\xa9: 1\n\xc3", (2, 1, "not UTF-8 text: byte 0xc3")),
        (b"#" * (MAX_MAP_BYTES + 1), (1, 1, "the map is larger than 4 MiB: refusing to read it")),
    ],
)
def test_unreadable_content_is_one_error(
    tmp_path: Path, content: bytes, expected: tuple[int, int, str]
) -> None:
    path = tmp_path / "m.yml"
    path.write_bytes(content)
    (error,) = load_map_file(path).errors
    assert (error.path, error.line, error.column, error.message) == (str(path), *expected)


def test_a_missing_file_is_an_error_not_an_exception(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yml"
    (error,) = load_map_file(path).errors
    assert (error.line, error.column) == (1, 1)
    assert error.message == "cannot read the map: No such file or directory"


def test_a_directory_is_an_error_not_an_exception(tmp_path: Path) -> None:
    (error,) = load_map_file(tmp_path).errors
    assert error.message == "cannot read the map: Is a directory"


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab: -[]{}&*!#'\"\n\t,?|>%@`~01"), max_size=80))
def test_any_text_gives_a_result_never_an_exception(text: str) -> None:
    result = load_map_text(text)
    assert (result.map is None) == bool(result.errors)
    for error in result.errors:
        assert error.line >= 1
        assert error.column >= 1


_IDS = st.text(alphabet="abcdefghij", min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    companies=st.lists(_IDS, min_size=1, max_size=5, unique=True),
    logins=st.lists(_IDS, min_size=1, max_size=8, unique_by=str.lower),
    data=st.data(),
)
def test_generated_valid_maps_load_and_answer_queries(
    companies: list[str], logins: list[str], data: st.DataObject
) -> None:
    lines = ["version: 1", "companies:"]
    lines += [f"  {c}: {{name: {c.upper()}}}" for c in companies]
    lines.append("people:")
    expected: dict[str, str] = {}
    for login in logins:
        company = data.draw(st.sampled_from(companies))
        expected[login] = company
        lines.append(f"  {login}: {{affiliations: [{{company: {company}, from: 2020-01-01}}]}}")
    result = load_map_text("\n".join(lines) + "\n")
    assert result.errors == ()
    assert result.map is not None
    for login, company in expected.items():
        assert result.map.companies_of(login.upper(), date(2020, 1, 1)) == {company}
        assert result.map.companies_of(login, date(2019, 12, 31)) == frozenset()


# --- the parts behind the messages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "version: 1\ncompanies: {a: {name: ''}}\n",
            "2:23: companies.a.name: String should have at least 1 character",
        ),
        (
            "version: 1\npeople:\n  alice:\n",
            "3:9: people.alice should be a mapping (key: value), got nothing",
        ),
        ("version: 1\nbots: [{a: 1}]\n", "2:8: bots[0] should be a valid string, got a mapping"),
        (
            "version: 1\npolicy: {require: " + "x" * 100 + "}\n",
            "2:19: policy.require should be 'when_conflicted' or 'always', got 'xxxxxxxxx",
        ),
    ],
)
def test_pydantic_messages_are_put_in_the_maps_words(text: str, expected: str) -> None:
    error = only_error(text)
    assert str(error).startswith(f"m.yml:{expected}")
    assert "x" * 60 not in error.message  # long values are cut


@pytest.mark.parametrize(
    ("loc", "model"),
    [
        ((), "MapDocument"),
        (("people", "x", "affiliations", 0), "Affiliation"),
        (("policy", "roles", "leader"), "Role"),
        (("policy", "major"), "MajorRules"),
        (("version",), None),  # a Literal, not a model
        (("nope",), None),
        (("version", "deeper"), None),
    ],
)
def test_the_model_behind_a_location(loc: tuple[str | int, ...], model: str | None) -> None:
    found = loader._model_at(loc)
    assert (found.__name__ if found is not None else None) == model


def test_optional_annotations_unwrap_to_their_type() -> None:
    from bot.affiliations.model import Company

    assert loader._without_none(Company | None) is Company
    assert loader._without_none(int | str) == int | str


def test_loading_leaves_the_cycle_collector_as_it_found_it() -> None:
    assert gc.isenabled()
    load_map_text(VALID)
    assert gc.isenabled()
    gc.disable()
    try:
        load_map_text(VALID)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_file_that_grows_past_the_bound_while_read_is_refused() -> None:
    # /dev/zero reports a size of 0 and then never ends: the read itself must stop.
    (error,) = load_map_file("/dev/zero").errors
    assert error.message == "the map is larger than 4 MiB: refusing to read it"


@pytest.mark.skipif(
    loader._event_classes()["ScalarEvent"] is not ScalarEvent,
    reason="yaml.events was imported twice",
)
@pytest.mark.parametrize(("text", "expected"), ONE_MISTAKE)
def test_the_pure_python_parser_gives_the_same_errors(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: tuple[int, int, str]
) -> None:
    with_c = load(text).errors
    monkeypatch.setattr(loader, "CParser", None)
    pure = load(text).errors
    # Same places; libyaml and PyYAML's scanner may word their syntax errors differently.
    assert [(e.line, e.column) for e in pure] == [(e.line, e.column) for e in with_c]
    assert [e.message.startswith("not valid YAML") for e in pure] == [
        e.message.startswith("not valid YAML") for e in with_c
    ]
    assert {e.message for e in pure if "YAML" not in e.message} == {
        e.message for e in with_c if "YAML" not in e.message
    }
