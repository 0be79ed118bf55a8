"""What GitHub charges for a GraphQL document: points by its documented formula, and nodes.

docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api
("Predicting the point value of a query" and "Node limit"):

- every connection (a field with a `first` or `last` argument) needs one request per node of
  the connections around it, assuming each of them returns its full `first`/`last`;
- points = those requests summed, divided by 100, rounded to the nearest whole number, at
  least 1;
- nodes = every connection's `first`/`last` times the connections around it, summed; a call
  over 500,000 nodes is refused.

Fragments (inline or named) are counted where they are spread, as GitHub cannot know which type
an abstract field resolves to before it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    parse,
)

MAX_NODES = 500_000
_PAGE_ARGUMENTS = ("first", "last")


class CostError(ValueError):
    """The document cannot be priced: a `first`/`last` GitHub would refuse, or no operation."""


@dataclass(frozen=True, slots=True)
class QueryCost:
    requests: int  # requests needed to fill every connection, as GitHub counts them
    nodes: int  # nodes the call may return at most (GitHub refuses over MAX_NODES)

    @property
    def points(self) -> int:
        """GitHub's charge: requests / 100 rounded to the nearest whole number, at least 1."""
        return max(1, (self.requests + 50) // 100)


def query_cost(
    document: DocumentNode | str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> QueryCost:
    """The cost of running `operation_name` (or the only operation) of `document`."""
    parsed = parse(document) if isinstance(document, str) else document
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if operation_name is not None:
        operations = [op for op in operations if op.name and op.name.value == operation_name]
    if len(operations) != 1:
        raise CostError(f"expected one operation to price, found {len(operations)}")
    counter = _Counter(variables or {}, fragments)
    counter.walk(operations[0].selection_set, multiplier=1, seen=frozenset())
    return QueryCost(requests=counter.requests, nodes=counter.nodes)


class _Counter:
    def __init__(
        self, variables: dict[str, Any], fragments: dict[str, FragmentDefinitionNode]
    ) -> None:
        self.variables = variables
        self.fragments = fragments
        self.requests = 0
        self.nodes = 0

    def walk(
        self, selections: SelectionSetNode | None, *, multiplier: int, seen: frozenset[str]
    ) -> None:
        for selection in selections.selections if selections else ():
            if isinstance(selection, FieldNode):
                size = self._page_size(selection)
                if size is None:
                    self.walk(selection.selection_set, multiplier=multiplier, seen=seen)
                    continue
                self.requests += multiplier
                self.nodes += multiplier * size
                self.walk(selection.selection_set, multiplier=multiplier * size, seen=seen)
            elif isinstance(selection, InlineFragmentNode):
                self.walk(selection.selection_set, multiplier=multiplier, seen=seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    raise CostError(f"fragment {name!r} is undefined or spreads itself")
                self.walk(fragment.selection_set, multiplier=multiplier, seen=seen | {name})

    def _page_size(self, field: FieldNode) -> int | None:
        """The larger of the field's `first` and `last`; None when it has neither."""
        sizes: list[int] = []
        for argument in field.arguments or ():
            if argument.name.value not in _PAGE_ARGUMENTS:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                sizes.append(int(value.value))
            elif isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if given is not None and not isinstance(given, int):
                    raise CostError(f"${value.name.value} must be an integer, not {given!r}")
                if given is not None:
                    sizes.append(given)
            else:
                raise CostError(f"`{argument.name.value}` of `{field.name.value}` is no integer")
        return max(sizes) if sizes else None
