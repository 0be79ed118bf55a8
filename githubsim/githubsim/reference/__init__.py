"""GitHub's published reference data, vendored: the REST subset, webhook schemas and examples,
the GraphQL schema and the documented limits (provenance and licences in SOURCES.md here)."""

from __future__ import annotations

from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent
OPENAPI_SUBSET = REFERENCE_DIR / "openapi-subset.json"
WEBHOOK_SCHEMAS = REFERENCE_DIR / "schemas"
PAYLOAD_EXAMPLES = REFERENCE_DIR / "payloads"
GRAPHQL_SCHEMA = REFERENCE_DIR / "graphql" / "schema.graphql"
