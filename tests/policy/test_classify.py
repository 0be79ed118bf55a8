from __future__ import annotations

from dataclasses import replace

import pytest

from bot.affiliations.model import Policy
from bot.policy.classify import Override, classify, glob_regex, list_files, matching_files
from bot.policy.facts import ChangedFile

from .builders import facts, make_map

POLICY = make_map().policy


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("core/**", "core/a.py", True),
        ("core/**", "core/deep/er/a.py", True),
        ("core/**", "corex/a.py", False),
        ("core/*", "core/deep/a.py", False),
        ("core/*.py", "core/a.py", True),
        ("**/*.md", "README.md", True),
        ("**/*.md", "docs/x/README.md", True),
        ("GOVERNANCE.md", "GOVERNANCE.md", True),
        ("GOVERNANCE.md", "docs/GOVERNANCE.md", False),
        ("/GOVERNANCE.md", "GOVERNANCE.md", True),
        ("docs/", "docs/a/b.txt", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("a.c", "abc", False),
    ],
)
def test_glob(pattern: str, path: str, matches: bool) -> None:
    assert (glob_regex(pattern).fullmatch(path) is not None) is matches


def test_empty_glob_is_refused() -> None:
    with pytest.raises(ValueError, match="empty glob"):
        glob_regex("  ")


def test_rename_out_of_a_path_matches_on_the_old_name() -> None:
    moved = ChangedFile("attic/engine.py", previous_path="core/engine.py")
    both = "core/engine.py → attic/engine.py"
    assert matching_files([moved], ["core/**"]) == {"core/**": (both,)}
    assert matching_files([moved], ["attic/**"]) == {"attic/**": (both,)}
    assert matching_files([moved], ["core/**", "attic/*"]) == {
        "core/**": (both,),
        "attic/*": (both,),
    }
    assert matching_files([moved], []) == {}
    plain = ChangedFile("core/a.py")
    assert matching_files([plain], ["core/**"]) == {"core/**": ("core/a.py",)}


@pytest.mark.parametrize(
    ("files", "labels", "override", "major", "reason_part"),
    [
        (("core/a.py",), (), None, True, "path rule `core/**` matches 1 file"),
        (("docs/a.md",), (), None, False, "no major-change rule matched"),
        (("docs/a.md",), ("Major",), None, True, "label `Major`"),
        (("core/a.py",), ("trivial",), None, False, "label `trivial` marks the change minor"),
        (
            ("core/a.py",),
            ("trivial",),
            Override("major", "carol", "API", "c1"),
            True,
            "`/coi major` by @carol: API",
        ),
        (
            ("core/a.py",),
            (),
            Override("minor", "carol", None, "c1"),
            False,
            "`/coi minor` by @carol",
        ),
        (tuple(f"docs/{i}.md" for i in range(30)), (), None, True, "30 changed files"),
    ],
)
def test_classify_table(
    files: tuple[str, ...],
    labels: tuple[str, ...],
    override: Override | None,
    major: bool,
    reason_part: str,
) -> None:
    result = classify(facts(files=files, labels=labels), POLICY, override=override)
    assert result.major is major
    assert any(reason_part in r for r in result.reasons), result.reasons
    assert result.changed_files == len(files)


def test_changed_lines_threshold_is_inclusive() -> None:
    pr = facts(files=("docs/a.md",))
    big = replace(pr, files=(ChangedFile("docs/a.md", additions=499, deletions=1),))
    small = replace(pr, files=(ChangedFile("docs/a.md", additions=498, deletions=1),))
    assert classify(big, POLICY, override=None).major
    assert "500 changed lines" in classify(big, POLICY, override=None).reasons[0]
    assert not classify(small, POLICY, override=None).major


def test_disabled_size_rules_and_truncated_file_lists() -> None:
    policy = Policy.model_validate({"major": {"changed_lines": None, "changed_files": None}})
    many = facts(files=tuple(f"docs/{i}.md" for i in range(40)))
    assert not classify(many, policy, override=None).major
    truncated = replace(many, files_truncated=True)
    assert classify(truncated, policy, override=None).major


def test_every_matching_rule_is_a_reason_and_files_are_listed_briefly() -> None:
    policy = Policy.model_validate({"major": {"paths": ["core/**", "**/*.py"]}})
    pr = facts(files=tuple(f"core/m{i}.py" for i in range(7)), labels=("major",))
    result = classify(pr, policy, override=None)
    assert len(result.reasons) == 3
    assert "and 2 more" in result.reasons[0]
    assert result.matched_files == tuple(sorted(f"core/m{i}.py" for i in range(7)))
    assert list_files(["a"]) == "`a`"
