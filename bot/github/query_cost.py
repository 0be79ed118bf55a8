"""The points GitHub charges for one of the bot's GraphQL documents, by its documented formula.

docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api
("Predicting the point value of a query"): every connection (a field with `first` or `last`)
needs one request per node of the connections around it, assuming each returns its full
`first`/`last`; the requests summed, divided by 100 and rounded to the nearest whole number, are
the points, at least 1. Fragments count where they are spread.

The bot's documents are its own constants, so a small reader of GraphQL's syntax suffices (the
server has no GraphQL library); `tests/github/test_query_cost.py` checks it against GitHub's
worked example and against the simulator's pricing of every document.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r'(?P<skip>[\s,]+|#[^\n]*)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<spread>\.\.\.)'
    r"|(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<number>-?\d+(?:\.\d+)?)|(?P<punct>[{}()\[\]:$!=@])"
)
_PAGE_ARGUMENTS = ("first", "last")


class QueryCostError(ValueError):
    """The document is not one the reader can price (a bug in the document, never input)."""


@dataclass(frozen=True, slots=True)
class QueryCost:
    requests: int  # requests needed to fill every connection, as GitHub counts them

    @property
    def points(self) -> int:
        return max(1, (self.requests + 50) // 100)


@functools.lru_cache(maxsize=256)
def query_cost(document: str) -> QueryCost:
    """The cost of the one operation in `document` (`first`/`last` given as literals)."""
    reader = _Reader(_tokens(document))
    requests = 0
    while not reader.done():
        if reader.peek() == "{":
            requests += reader.selection_set(1)
            continue
        keyword = reader.take()
        if keyword == "fragment":
            raise QueryCostError("named fragments are not priced: inline them")
        if keyword not in ("query", "mutation", "subscription"):
            raise QueryCostError(f"unexpected {keyword!r} at the top of the document")
        while reader.peek() != "{":
            if reader.peek() == "(":
                reader.skip_group("(", ")")
            else:
                reader.take()
        requests += reader.selection_set(1)
    return QueryCost(requests=requests)


def _tokens(document: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(document):
        match = _TOKEN.match(document, position)
        if match is None:
            raise QueryCostError(f"unreadable GraphQL at offset {position}")
        position = match.end()
        if match.lastgroup != "skip":
            tokens.append(match.group())
    return tokens


class _Reader:
    def __init__(self, tokens: list[str]) -> None:
        self._tokens = tokens
        self._at = 0

    def done(self) -> bool:
        return self._at >= len(self._tokens)

    def peek(self) -> str | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise QueryCostError("the document ends early")
        self._at += 1
        return token

    def skip_group(self, opening: str, closing: str) -> None:
        depth = 0
        while True:
            token = self.take()
            depth += (token == opening) - (token == closing)
            if depth == 0:
                return

    def selection_set(self, multiplier: int) -> int:
        """Requests of the `{ ... }` starting here, under `multiplier` parent nodes."""
        if self.take() != "{":
            raise QueryCostError("expected a selection set")
        requests = 0
        while self.peek() != "}":
            if self.peek() == "...":
                self.take()
                if self.peek() == "on":
                    self.take()
                    self.take()  # the type condition
                elif self.peek() != "{":
                    raise QueryCostError("named fragments are not priced: inline them")
                requests += self.selection_set(multiplier)
                continue
            name = self.take()
            if self.peek() == ":":  # `alias: field`
                self.take()
                name = self.take()
            size = self._page_size(name) if self.peek() == "(" else None
            if self.peek() == "{":
                inner = multiplier * size if size is not None else multiplier
                requests += self.selection_set(inner)
            if size is not None:
                requests += multiplier
        self.take()
        return requests

    def _page_size(self, field: str) -> int | None:
        """Reads the field's arguments; the larger of its literal `first`/`last`, if any."""
        self.take()
        sizes: list[int] = []
        while self.peek() != ")":
            argument = self.take()
            if self.take() != ":":
                raise QueryCostError(f"expected `:` after `{argument}` of `{field}`")
            value = self.peek()
            if value in ("{", "["):
                self.skip_group(value, "}" if value == "{" else "]")
                continue
            self.take()
            if value == "$":
                value = "$" + self.take()
            if argument in _PAGE_ARGUMENTS:
                if not (value or "").isdigit():
                    raise QueryCostError(f"`{argument}` of `{field}` must be a literal integer")
                sizes.append(int(value or 0))
        self.take()
        return max(sizes) if sizes else None
