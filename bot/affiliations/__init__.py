"""The affiliation map: its model, YAML loading with line-numbered errors, schema and queries."""

from bot.affiliations.evidence import (
    Contradiction,
    Evidence,
    contradictions,
    evidence_companies,
    match_company,
)
from bot.affiliations.index import AffiliationMap, StandingConflict
from bot.affiliations.lint import MapWarning, map_warnings
from bot.affiliations.loader import (
    MAX_MAP_BYTES,
    LoadResult,
    MapError,
    load_map_file,
    load_map_text,
)
from bot.affiliations.model import MapDocument
from bot.affiliations.schema import json_schema

__all__ = [
    "MAX_MAP_BYTES",
    "AffiliationMap",
    "Contradiction",
    "Evidence",
    "LoadResult",
    "MapDocument",
    "MapError",
    "MapWarning",
    "StandingConflict",
    "contradictions",
    "evidence_companies",
    "json_schema",
    "load_map_file",
    "load_map_text",
    "map_warnings",
    "match_company",
]
