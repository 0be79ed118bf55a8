"""The map's JSON Schema, generated from the pydantic model so that the two never disagree.

Editors that read `# yaml-language-server: $schema=...` (or a SchemaStore entry) use it to
complete and check `affiliations.yml` as people type; `coi-bot schema` prints it.
"""

from __future__ import annotations

from typing import Any

from bot.affiliations.model import MapDocument

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# A URN, not a URL: the schema is served by `coi-bot schema`, not from a web site of ours.
SCHEMA_ID = "urn:coi-bot:affiliation-map:1"


def json_schema() -> dict[str, Any]:
    """The schema of `affiliations.yml`, with the keys people type (`from`, not `from_`)."""
    generated = MapDocument.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "coi-bot affiliation map",
        **{key: value for key, value in generated.items() if key != "title"},
    }
