"""Validators built from the reference data (`githubsim.reference`): REST requests against
GitHub's OpenAPI description, GraphQL documents against GitHub's full schema, webhook payloads
against octokit's JSON Schemas.

The simulator takes the first two as hooks; end-to-end tests of the bot reuse them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema, build_schema, parse, validate
from graphql.error import GraphQLSyntaxError
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from githubsim.rest import RestRequest

_SPEC_URI = "urn:github:openapi"


def _pointer(*parts: str) -> str:
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


class OpenApiRequestValidator:
    """Checks a request's path parameters, query parameters and JSON body against its operation."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT7)
        )
        self.operations: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    self.operations[operation["operationId"]] = (path, method, operation)

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _validator(self, *pointer: str) -> Draft7Validator:
        return Draft7Validator(
            {"$ref": f"{_SPEC_URI}#{_pointer(*pointer)}"}, registry=self.registry
        )

    def __call__(self, request: RestRequest) -> Sequence[str]:
        found = self.operations.get(request.operation_id)
        if found is None:
            return [f"operation {request.operation_id} is not in openapi-subset.json"]
        path, method, operation = found
        problems: list[str] = []
        parameters = [self._resolve(p) for p in operation.get("parameters", [])]
        known_query = set()
        for parameter in parameters:
            name, where = parameter["name"], parameter["in"]
            source = (
                request.path_params
                if where == "path"
                else request.query
                if where == "query"
                else None
            )
            if source is None:
                continue
            if where == "query":
                known_query.add(name)
            if name not in source:
                if parameter.get("required"):
                    problems.append(f"missing {where} parameter {name!r}")
                continue
            value = _coerce(source[name], parameter.get("schema", {}))
            for error in Draft7Validator(parameter.get("schema", {})).iter_errors(value):
                problems.append(f"{where} parameter {name!r}: {error.message}")
        problems += [
            f"unknown query parameter {name!r}" for name in request.query if name not in known_query
        ]
        body_spec = operation.get("requestBody")
        if body_spec is None:
            if request.body is not None:
                problems.append("a body was sent to an operation that takes none")
            return problems
        if request.body is None:
            if body_spec.get("required"):
                problems.append("missing required JSON body")
            return problems
        validator = self._validator(
            "paths", path, method, "requestBody", "content", "application/json", "schema"
        )
        for error in validator.iter_errors(request.body):
            where = "/".join(str(p) for p in error.absolute_path) or "(body)"
            problems.append(f"body {where}: {error.message}")
        return problems


def _coerce(raw: str, schema: dict[str, Any]) -> Any:
    """Query and path values arrive as text; compare them with their declared type."""
    kind = schema.get("type")
    if kind == "integer" and raw.lstrip("-").isdigit():
        return int(raw)
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


@functools.cache
def reference_graphql_schema(sdl_path: Path) -> GraphQLSchema:
    return build_schema(sdl_path.read_text(encoding="utf-8"), assume_valid_sdl=True)


def graphql_validator(sdl_path: Path) -> Callable[[str], Sequence[str]]:
    """Validation of a GraphQL document against the FULL reference schema."""
    schema = reference_graphql_schema(sdl_path)

    @functools.cache
    def check(query: str) -> tuple[str, ...]:
        try:
            document = parse(query)
        except GraphQLSyntaxError as error:
            return (error.message,)
        return tuple(error.message for error in validate(schema, document))

    return check


class WebhookPayloadValidator:
    """Validates a payload against `schemas/<event>/<action>.schema.json` (refs resolved)."""

    def __init__(self, schemas_dir: Path) -> None:
        self.schemas_dir = schemas_dir
        resources = []
        for file in schemas_dir.rglob("*.schema.json"):
            contents = json.loads(file.read_text(encoding="utf-8"))
            key = file.relative_to(schemas_dir).as_posix()
            resources.append((key, Resource.from_contents(contents, default_specification=DRAFT7)))
        self.registry: Registry[Any] = Registry().with_resources(resources)

    def errors(self, event: str, payload: dict[str, Any]) -> list[str]:
        action = payload.get("action")
        name = f"{action}.schema.json" if action else "event.schema.json"
        schema_file = self.schemas_dir / event / name
        if not schema_file.is_file():
            return [f"no schema for {event}/{name}"]
        schema = json.loads(schema_file.read_text(encoding="utf-8"))
        validator = Draft7Validator(
            schema, registry=self.registry, format_checker=Draft7Validator.FORMAT_CHECKER
        )
        return [
            f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
            for error in validator.iter_errors(payload)
        ]
