"""Maps crafted to hurt: each is refused with one clear error, and peak memory stays bounded.

Memory is measured with tracemalloc around the load alone (the input text is built before), so
the figure is what the loader itself allocated at its peak.
"""

from __future__ import annotations

import re
import string
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.affiliations.loader import (
    MAX_DEPTH,
    MAX_MAP_BYTES,
    LoadResult,
    load_map_file,
    load_map_text,
)

MIB = 1024 * 1024


def _laughs(levels: int, fan_out: int) -> str:
    lines = ["version: 1", "l0: &l0 [" + ", ".join(["lol"] * fan_out) + "]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * fan_out)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def _deep_flow(depth: int) -> str:
    return "version: 1\nx: " + "[" * depth + "1" + "]" * depth + "\n"


def _deep_block(depth: int) -> str:
    lines = ["version: 1", "x:"]
    lines += [" " * (2 * level) + f"k{level}:" for level in range(1, depth)]
    lines.append(" " * (2 * depth) + "leaf: 1")
    return "\n".join(lines) + "\n"


def _ten_mib_of_people() -> str:
    person = "  p{0:07d}: {{role: maintainer, affiliations: [{{company: acme}}]}}\n"
    lines = ["version: 1\ncompanies: {acme: {name: Acme}}\npeople:\n"]
    size = len(lines[0])
    index = 0
    while size < 10 * MIB:
        line = person.format(index)
        lines.append(line)
        size += len(line)
        index += 1
    return "".join(lines)


def _ten_mib_scalar() -> str:
    return "version: 1\nnote: " + "x" * (10 * MIB) + "\n"


def _measured(load: Callable[[], LoadResult]) -> tuple[LoadResult, int]:
    tracemalloc.start()
    try:
        result = load()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


# (name, text, a pattern the error's message starts with, peak memory allowed)
HOSTILE: list[tuple[str, Callable[[], str], str, int]] = [
    ("billion laughs", lambda: _laughs(9, 10), "aliases expand the map beyond", 64 * MIB),
    ("wide laughs", lambda: _laughs(3, 1000), "aliases expand the map beyond", 64 * MIB),
    # libyaml's scanner may refuse first: it caps flow nesting at 1,000 levels itself.
    (
        "deep flow nesting",
        lambda: _deep_flow(500_000),
        r"nesting deeper than|not valid YAML: exceeded maximum nesting depth",
        16 * MIB,
    ),
    ("deep block nesting", lambda: _deep_block(1_000), "nesting deeper than", 16 * MIB),
    ("ten MiB of people", _ten_mib_of_people, "the map is larger than", 32 * MIB),
    ("ten MiB scalar", _ten_mib_scalar, "the map is larger than", 32 * MIB),
]


@pytest.mark.parametrize(
    ("build", "message", "budget"),
    [pytest.param(build, message, budget, id=name) for name, build, message, budget in HOSTILE],
)
def test_a_hostile_map_is_refused_clearly_within_a_memory_budget(
    build: Callable[[], str], message: str, budget: int
) -> None:
    text = build()
    result, peak = _measured(lambda: load_map_text(text, path="evil.yml"))
    assert result.map is None
    assert len(result.errors) == 1
    error = result.errors[0]
    assert re.match(message, error.message), error.message
    assert str(error).startswith("evil.yml:")
    assert peak < budget, f"peak {peak / MIB:.1f} MiB for a map that should be refused early"


@pytest.mark.parametrize("build", [_ten_mib_of_people, _ten_mib_scalar], ids=["people", "scalar"])
def test_a_ten_mib_file_is_refused_without_reading_it_all(
    build: Callable[[], str], tmp_path: Path
) -> None:
    path = tmp_path / "big.yml"
    path.write_text(build())
    result, peak = _measured(lambda: load_map_file(path))
    assert [e.message for e in result.errors] == [
        f"the map is larger than {MAX_MAP_BYTES // MIB} MiB: refusing to read it"
    ]
    assert peak < MIB  # refused from the file's size, before reading


def test_the_error_names_the_line_of_the_alias_that_crosses_the_bound() -> None:
    result = load_map_text(_laughs(9, 10), path="evil.yml")
    (error,) = result.errors
    assert error.line <= 8  # refused inside the levels, long before the last one


def test_depth_just_within_the_bound_is_accepted_as_yaml() -> None:
    # One level under the guard: no nesting error (the schema complains about 'x' instead).
    result = load_map_text(_deep_flow(MAX_DEPTH - 2), path="ok.yml")
    assert not any("nesting" in e.message for e in result.errors)


YAML_ALPHABET = string.ascii_letters + string.digits + " :-[]{}&*!|>'\"#,?\n\t%@`"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=YAML_ALPHABET, max_size=300))
def test_any_text_gives_a_result_never_an_exception(text: str) -> None:
    result = load_map_text(text, path="fuzz.yml")
    assert (result.map is None) == bool(result.errors)
    for error in result.errors:
        assert error.line >= 1
        assert error.message
