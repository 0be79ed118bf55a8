"""The JSON Schema: generated from the model, committed up to date, and agreeing with the loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bot.affiliations.loader import _Composer, load_map_text
from bot.affiliations.schema import json_schema
from tests.affiliations.test_loader import VALID

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "config" / "affiliations.schema.json"
BUNDLED_MAP = ROOT / "config" / "affiliations.yml"


def values(text: str) -> Any:
    """The map as the loader reads it: dates stay `YYYY-MM-DD` text, as JSON Schema expects."""
    return _Composer(text).compose().root


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_committed_schema_is_up_to_date() -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == json_schema(), (
        "config/affiliations.schema.json is stale: regenerate it with "
        "`uv run coi-bot schema > config/affiliations.schema.json`"
    )


def test_the_schema_names_itself_and_uses_the_keys_people_type() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("urn:coi-bot:")
    assert schema["title"] == "coi-bot affiliation map"
    assert schema["required"] == ["version"]
    affiliation = schema["$defs"]["Affiliation"]["properties"]
    assert set(affiliation) == {"from", "until", "company"}


@pytest.mark.parametrize("text", [VALID, BUNDLED_MAP.read_text(encoding="utf-8")])
def test_maps_the_loader_accepts_pass_the_schema(
    validator: Draft202012Validator, text: str
) -> None:
    assert load_map_text(text).errors == ()
    assert list(validator.iter_errors(values(text))) == []


@pytest.mark.parametrize(
    ("text", "schema_path"),
    [
        ("version: 2\n", "const"),
        ("companies: {}\n", "required"),
        ("version: 1\ncompanies: {a: {nmae: A}}\n", "additionalProperties"),
        ("version: 1\npeople: {a: {away: [{from: 2021-02-30}]}}\n", "format"),
        ("version: 1\npolicy: {require: sometimes}\n", "enum"),
        ("version: 1\npolicy: {protected_companies: 0}\n", "exclusiveMinimum"),
        ("version: 1\ncompanies: {a: {name: A, domains: [a@acme.com]}}\n", "pattern"),
        ("version: 1\ncompanies: {a: {name: A, github_orgs: ['@acme']}}\n", "pattern"),
        ("version: 1\npolicy: {evidence: loud}\n", "enum"),
    ],
)
def test_maps_the_loader_refuses_fail_the_schema_too(
    validator: Draft202012Validator, text: str, schema_path: str
) -> None:
    assert load_map_text(text).errors != ()
    errors = list(validator.iter_errors(values(text)))
    assert errors
    assert any(
        schema_path in error.schema_path or any(schema_path in c.schema_path for c in error.context)
        for error in errors
    ), [e.message for e in errors]
