"""Read an affiliation map from YAML and report every problem as `FILE:LINE:COL: message`.

libyaml's event stream (through PyYAML's C binding, whose events cost a quarter less to build
than ruamel's) is composed into plain values here rather than by a YAML library's composer: it
is five times faster, keeps each value's position, refuses deep nesting and expanding aliases
before building anything, and reports duplicate keys.
pydantic then validates the values and `consistency` checks the cross-references; every error
path is mapped back to the line and column of the YAML node it concerns.
"""

from __future__ import annotations

import functools
import gc
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml import SafeLoader
from yaml import parse as parse_events
from yaml.error import MarkedYAMLError, YAMLError
from yaml.events import Event
from yaml.reader import ReaderError

from bot.affiliations.consistency import Loc, Problem, check_document, closest, suggestion
from bot.affiliations.index import AffiliationMap
from bot.affiliations.lint import MapWarning, map_warnings
from bot.affiliations.model import MapDocument

CParser: Any
try:
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - without the C extension the pure parser still works
    CParser = None

# A TSC's map is kilobytes; 4 MiB holds 10,000 people and stays far from exhausting memory.
MAX_MAP_BYTES = 4 * 1024 * 1024
# The deepest legitimate node is people.LOGIN.affiliations[i].from: five levels.
MAX_DEPTH = 16
# Values after alias expansion; a 4 MiB map of 10,000 people holds about 350,000.
MAX_NODES = 1_000_000
# Errors listed; a hostile map can hold 100,000: the rest are counted in `errors_omitted`.
MAX_ERRORS = 200


@dataclass(frozen=True, slots=True)
class MapError:
    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class LoadResult:
    map: AffiliationMap | None
    errors: tuple[MapError, ...]
    document: MapDocument | None
    # Filled only when asked for (`warnings_on=DAY`), and only for a map without errors.
    warnings: tuple[MapWarning, ...] = ()
    errors_omitted: int = 0  # errors found beyond the MAX_ERRORS listed in `errors`

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.errors_omitted


def load_map_file(path: str | os.PathLike[str], *, warnings_on: date | None = None) -> LoadResult:
    """Load one file: a missing, unreadable, oversized or non-UTF-8 file is a MapError.

    With `warnings_on`, `warnings` lists what `lint.map_warnings` finds on that day."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as stream:
            if os.fstat(stream.fileno()).st_size > MAX_MAP_BYTES:
                return _failed(name, 1, 1, _too_large())
            # Read one byte beyond the limit: a file growing after fstat is still refused.
            data = stream.read(MAX_MAP_BYTES + 1)
    except OSError as error:
        return _failed(name, 1, 1, f"cannot read the map: {error.strerror or error}")
    if len(data) > MAX_MAP_BYTES:
        return _failed(name, 1, 1, _too_large())
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = data[: error.start].decode("utf-8")
        line, column = _position(before, len(before))
        return _failed(name, line, column, f"not UTF-8 text: byte 0x{data[error.start]:02x}")
    return load_map_text(text, path=name, warnings_on=warnings_on)


def load_map_text(
    text: str, *, path: str = "affiliations.yml", warnings_on: date | None = None
) -> LoadResult:
    """Parse, validate and index a map; `errors` lists every problem found, sorted by position.

    With `warnings_on`, `warnings` lists what `lint.map_warnings` finds on that day. The load
    is synchronous and pauses the cyclic garbage collector until it returns (see below)."""
    with _without_cycle_collection():
        return _load(text, path, warnings_on)


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    # A map is a tree (aliases share, never loop): collecting cycles while building its 350,000
    # values finds nothing and costs half the load time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _load(text: str, path: str, warnings_on: date | None) -> LoadResult:
    if len(text) > MAX_MAP_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_MAP_BYTES:
        return _failed(path, 1, 1, _too_large())
    try:
        composed = _Composer(text).compose()
    except _Fatal as fatal:
        return _failed(path, fatal.line, fatal.column, fatal.message)
    errors = [MapError(path, line, column, message) for line, column, message in composed.errors]
    root = composed.root
    if root is None or root == "":
        errors.append(MapError(path, 1, 1, "the map is empty: it starts with 'version: 1'"))
        return _result(errors, None)
    if not isinstance(root, dict):
        line, column = composed.root_position
        message = f"the map must be a mapping (version, companies, people, ...), got {_show(root)}"
        errors.append(MapError(path, line, column, message))
        return _result(errors, None)
    document: MapDocument | None = None
    try:
        document = MapDocument.model_validate(root)
    except ValidationError as invalid:
        errors.extend(_validation_errors(path, composed, invalid))
    errors.extend(_problem_error(path, composed, problem) for problem in check_document(root))
    result = _result(errors, document)
    if result.map is None or warnings_on is None:
        return result
    found = map_warnings(
        result.map,
        today=warnings_on,
        path=path,
        locate=lambda loc, at_key: composed.locate(loc, at_key=at_key),
    )
    return LoadResult(map=result.map, errors=(), document=document, warnings=found)


def _result(errors: list[MapError], document: MapDocument | None) -> LoadResult:
    if errors:
        unique = sorted(set(errors), key=lambda e: (e.line, e.column, e.message))
        return LoadResult(
            map=None,
            errors=tuple(unique[:MAX_ERRORS]),
            document=document,
            errors_omitted=max(0, len(unique) - MAX_ERRORS),
        )
    assert document is not None
    return LoadResult(map=AffiliationMap(document), errors=(), document=document)


def _failed(path: str, line: int, column: int, message: str) -> LoadResult:
    return LoadResult(map=None, errors=(MapError(path, line, column, message),), document=None)


def _too_large() -> str:
    return f"the map is larger than {MAX_MAP_BYTES // (1024 * 1024)} MiB: refusing to read it"


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _problem_error(path: str, composed: _Composed, problem: Problem) -> MapError:
    line, column = composed.locate(problem.loc, at_key=problem.at_key)
    message = problem.message
    if problem.first is not None:
        first_line, _ = composed.locate(problem.first, at_key=problem.first_at_key)
        message = f"{message}, first at line {first_line}"
    return MapError(path, line, column, message)


# --- composing YAML events into values with positions ---------------------------------------


class _Fatal(Exception):
    """A problem after which nothing else in the file can be trusted or is worth reading."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


_STR = "tag:yaml.org,2002:str"
_COLLECTION_TAGS = frozenset({None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = {".inf": float("inf"), "-.inf": float("-inf"), "+.inf": float("inf")}
# Only these first characters can start a non-string plain scalar in the YAML 1.2 core schema.
_NON_STRING_START = frozenset("0123456789+-.~nNtTfF")


def _plain(text: str) -> Any:
    """A plain scalar's value under the YAML 1.2 core schema; dates stay text for pydantic."""
    if not text:
        return None
    if text[0] not in _NON_STRING_START:
        return text
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT.fullmatch(text):
        return int(text)
    if text.startswith(("0x", "0o")) and len(text) > 2:
        try:
            return int(text[2:], 16 if text[1] == "x" else 8)
        except ValueError:
            return text
    if _FLOAT.fullmatch(text):
        return float(text)
    lowered = text.lower()
    if lowered in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[lowered]
    if lowered == ".nan":
        return float("nan")
    return text


# A position as (0-based line, 0-based column): plain int tuples, which the cyclic collector
# stops tracking, where libyaml's Mark objects would be scanned at every collection.
_Mark = tuple[int, int]


class _YamlMark(Protocol):
    line: int
    column: int


def _pos(mark: _YamlMark) -> _Mark:
    return (mark.line, mark.column)


class _Frame:
    __slots__ = ("anchor", "container", "is_mapping", "key", "key_mark", "mark", "marks")

    def __init__(self, container: Any, marks: Any, mark: _Mark, anchor: str | None) -> None:
        self.container = container
        self.is_mapping = type(container) is dict
        self.marks = marks
        self.mark = mark
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_mark: _Mark = mark


@dataclass(slots=True)
class _Anchored:
    value: Any
    nodes: int


def _at(mark: _Mark) -> tuple[int, int]:
    return mark[0] + 1, mark[1] + 1


class _Composed:
    def __init__(self) -> None:
        self.root: Any = None
        self.root_position = (1, 1)
        self.errors: list[tuple[int, int, str]] = []
        # libyaml marks by container identity: (key mark, value mark) per key; a mark per item.
        self.mapping_marks: dict[int, dict[str, tuple[_Mark, _Mark]]] = {}
        self.sequence_marks: dict[int, list[_Mark]] = {}

    def locate(self, loc: Iterable[Any], *, at_key: bool = False) -> tuple[int, int]:
        """The position of the deepest node on `loc` that exists (the key of the last, if asked)."""
        parts = list(loc)
        position = self.root_position
        node = self.root
        for index, part in enumerate(parts):
            if isinstance(node, dict) and isinstance(part, str) and part in node:
                key_mark, value_mark = self.mapping_marks[id(node)][part]
                if at_key and index == len(parts) - 1:
                    return _at(key_mark)
                position = _at(value_mark)
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                position = _at(self.sequence_marks[id(node)][part])
                node = node[part]
            else:
                break
        return position


def _events(text: str) -> tuple[Iterator[Event], Callable[[], None]]:
    """The document's events and a function that frees the parser."""
    if CParser is not None:
        parser = CParser(text)
        # get_event returns None after the stream's end; no generator layer: 350,000 calls.
        return iter(parser.get_event, None), parser.dispose
    return iter(parse_events(text, Loader=SafeLoader)), lambda: None


@functools.cache
def _event_classes() -> dict[str, type[Event]]:
    """The classes the parser really emits, by name.

    The C extension keeps the `yaml.events` it saw first: if that module is ever imported again
    (coverage.py can do so when measuring a submodule), `yaml.events.ScalarEvent` is another
    class than the one in the stream. Asked at the first load, not at import.
    """
    events, dispose = _events("a: &x [b]\nc: *x\n")
    try:
        return {type(event).__name__: type(event) for event in events}
    finally:
        dispose()


class _Composer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.result = _Composed()
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchored] = {}
        # Anchors whose node is still open, with the node count when they opened.
        self.open_anchors: dict[str, int] = {}
        self.nodes = 0
        self.documents = 0

    def compose(self) -> _Composed:
        events, dispose = _events(self.text)
        try:
            self._consume(events)
        except MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line, column = _at(_pos(mark)) if mark is not None else (1, 1)
            context = f" ({error.context})" if error.context else ""
            raise _Fatal(line, column, f"not valid YAML: {error.problem}{context}") from None
        except ReaderError as error:
            # libyaml counts bytes of UTF-8 where the pure reader counts characters.
            offset = error.position
            if CParser is not None:
                offset = len(self.text.encode("utf-8")[:offset].decode("utf-8", "ignore"))
            line, column = _position(self.text, offset)
            problem = f"character #x{error.character:04x}: {error.reason}"
            raise _Fatal(line, column, f"not valid YAML: {problem}") from None
        except YAMLError as error:  # pragma: no cover - libyaml marks all its errors
            raise _Fatal(1, 1, f"not valid YAML: {error}") from None
        finally:
            dispose()
        return self.result

    def _consume(self, events: Iterable[Any]) -> None:
        # The hot loop runs once per event (350,000 for 10,000 people): the common case, a plain
        # scalar as a key or a value in a mapping, is handled inline with the open mapping local.
        stack = self.stack
        non_string_start = _NON_STRING_START
        classes = _event_classes()
        scalar_event, alias_event = classes["ScalarEvent"], classes["AliasEvent"]
        mapping_start_event = classes["MappingStartEvent"]
        mapping_end_event = classes["MappingEndEvent"]
        sequence_start_event = classes["SequenceStartEvent"]
        sequence_end_event = classes["SequenceEndEvent"]
        document_start_event = classes["DocumentStartEvent"]
        top: Any = None
        mapping: dict[str, Any] | None = None  # top's container when it is a mapping
        for event in events:
            kind = type(event)
            if kind is scalar_event:
                self.nodes += 1
                if mapping is not None and event.anchor is None:
                    key = top.key
                    if key is _NO_KEY:
                        # Keys stay text: a login such as `1234` or `true` is still a login.
                        top.key = event.value
                        top.key_mark = _pos(event.start_mark)
                        continue
                    if key is not _BAD_KEY and key not in mapping:
                        text = event.value
                        if event.tag is None and event.implicit[0]:
                            value = (
                                text if text and text[0] not in non_string_start else _plain(text)
                            )
                        else:
                            value = self._scalar(event)
                        mapping[key] = value
                        top.marks[key] = (top.key_mark, _pos(event.start_mark))
                        top.key = _NO_KEY
                        continue
                self._add_scalar(event)
                continue
            if kind is mapping_start_event or kind is sequence_start_event:
                self._open(event, is_mapping=kind is mapping_start_event)
            elif kind is mapping_end_event or kind is sequence_end_event:
                frame = stack.pop()
                if frame.anchor is not None:
                    opened = self.open_anchors.pop(frame.anchor)
                    self.anchors[frame.anchor] = _Anchored(frame.container, self.nodes - opened)
                self._add(frame.container, frame.mark)
            elif kind is alias_event:
                self._alias(event)
                continue
            elif kind is document_start_event:
                self.documents += 1
                if self.documents > 1:
                    raise _Fatal(
                        *_at(_pos(event.start_mark)), "a map is one YAML document, found two"
                    )
                continue
            else:
                continue
            top = stack[-1] if stack else None
            mapping = top.container if top is not None and top.is_mapping else None

    def _add_scalar(self, event: Any) -> None:
        top = self.stack[-1] if self.stack else None
        value: Any
        if top is not None and top.is_mapping and top.key is _NO_KEY:
            value = top.key = event.value
            top.key_mark = _pos(event.start_mark)
        else:
            value = self._scalar(event)
            self._add(value, _pos(event.start_mark))
        if event.anchor is not None:
            self.anchors[event.anchor] = _Anchored(value, 1)

    def _open(self, event: Any, *, is_mapping: bool) -> None:
        mark = _pos(event.start_mark)
        self.nodes += 1
        if len(self.stack) >= MAX_DEPTH:
            raise _Fatal(*_at(mark), f"nesting deeper than {MAX_DEPTH} levels: refusing the map")
        if self.nodes > MAX_NODES:
            raise _Fatal(*_at(mark), f"more than {MAX_NODES:,} values: refusing the map")
        if event.tag not in _COLLECTION_TAGS:
            self.result.errors.append((*_at(mark), f"unsupported tag {event.tag!r}"))
        container: Any
        marks: Any
        if is_mapping:
            container, marks = {}, {}
            self.result.mapping_marks[id(container)] = marks
        else:
            container, marks = [], []
            self.result.sequence_marks[id(container)] = marks
        if event.anchor is not None:
            self.open_anchors[event.anchor] = self.nodes - 1
        self.stack.append(_Frame(container, marks, mark, event.anchor))

    def _alias(self, event: Any) -> None:
        mark = _pos(event.start_mark)
        name = event.anchor
        if name in self.open_anchors:
            raise _Fatal(*_at(mark), f"alias '*{name}' refers to a node that contains it")
        anchored = self.anchors.get(name)
        if anchored is None:
            raise _Fatal(*_at(mark), f"alias '*{name}' has no anchor '&{name}' before it")
        self.nodes += anchored.nodes
        if self.nodes > MAX_NODES:
            message = f"aliases expand the map beyond {MAX_NODES:,} values: refusing it"
            raise _Fatal(*_at(mark), message)
        top = self.stack[-1] if self.stack else None
        if top is not None and top.is_mapping and top.key is _NO_KEY:
            self._bad_key(top, mark)
            return
        self._add(anchored.value, mark)

    def _scalar(self, event: Any) -> Any:
        value: str = event.value
        tag = event.tag
        if tag is None and event.implicit[0]:
            return _plain(value)
        if tag in (None, "!", _STR):
            return value
        converter = _EXPLICIT.get(tag)
        if converter is not None:
            try:
                return converter(value)
            except ValueError:
                message = f"{value!r} is not a valid {tag.rsplit(':', 1)[-1]}"
        else:
            message = f"unsupported tag {tag!r}"
        self.result.errors.append((*_at(_pos(event.start_mark)), message))
        return value

    def _add(self, value: Any, mark: _Mark) -> None:
        if not self.stack:
            self.result.root = value
            self.result.root_position = _at(mark)
            return
        top = self.stack[-1]
        if not top.is_mapping:
            top.container.append(value)
            top.marks.append(mark)
            return
        key = top.key
        if key is _NO_KEY:
            self._bad_key(top, mark)
            return
        top.key = _NO_KEY
        if key is _BAD_KEY:
            return
        if key in top.container:
            first_line = top.marks[key][0][0] + 1
            message = f"duplicate key {key!r}, first at line {first_line}"
            self.result.errors.append((*_at(top.key_mark), message))
            return
        top.container[key] = value
        top.marks[key] = (top.key_mark, mark)

    def _bad_key(self, top: _Frame, mark: _Mark) -> None:
        self.result.errors.append((*_at(mark), "a key must be plain text, not a list or mapping"))
        top.key = _BAD_KEY
        top.key_mark = mark


_NO_KEY = object()
_BAD_KEY = object()
_EXPLICIT: dict[str, Callable[[str], Any]] = {
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": lambda text: _BOOLS[text] if text in _BOOLS else int("not a bool"),
    "tag:yaml.org,2002:null": lambda text: None,
    "tag:yaml.org,2002:timestamp": str,
}


# --- pydantic errors in the map's words -------------------------------------------------------


def _validation_errors(
    path: str, composed: _Composed, invalid: ValidationError
) -> Iterator[MapError]:
    details = invalid.errors(include_url=False)
    # `nmae: x` is one mistake: say "unknown key 'nmae' (did you mean 'name'?)", not also
    # "missing required key 'name'".
    misspelt: set[tuple[Any, ...]] = set()
    for detail in details:
        if detail["type"] == "extra_forbidden":
            parent, key = detail["loc"][:-1], str(detail["loc"][-1])
            misspelt.update((*parent, guess) for guess in closest(key, _allowed_keys(parent)))
    for detail in details:
        loc = detail["loc"]
        if detail["type"] == "missing" and loc in misspelt:
            continue
        line, column = composed.locate(loc, at_key=detail["type"] == "extra_forbidden")
        yield MapError(path, line, column, _describe(detail))


def _describe(detail: ErrorDetails) -> str:
    loc = detail["loc"]
    kind = detail["type"]
    field = str(loc[-1]) if loc else "map"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        return f"unknown key {field!r}{suggestion(field, allowed)}"
    if kind == "missing":
        if loc == ("version",):
            return "missing required key 'version' (write 'version: 1' first)"
        return f"missing required key {field!r}"
    if loc == ("version",):
        return f"unsupported version {_show(detail['input'])}: this coi-bot reads 'version: 1'"
    label = _label(loc)
    message = detail["msg"]
    for pattern, replacement in _REWORDINGS:
        message = pattern.sub(replacement, message)
    if message.startswith("Input should be"):
        return f"{label} should be{message[len('Input should be') :]}, got {_show(detail['input'])}"
    return f"{label}: {message}"


_REWORDINGS = (
    (re.compile(r"^Value error, "), ""),
    (re.compile(r"a valid dictionary(?: or instance of \w+)?"), "a mapping (key: value)"),
    (re.compile(r"a valid date or datetime, "), "a date (YYYY-MM-DD): "),
    (re.compile(r"a valid date or datetime"), "a date (YYYY-MM-DD)"),
)


def _label(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the map"


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: Loc) -> list[str]:
    model = _model_at(loc)
    if model is None:  # pragma: no cover - pydantic reports extra keys only inside models
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc`, walking the annotations."""
    current: Any = MapDocument
    for part in loc:
        current = _without_none(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {info.alias or name: info for name, info in current.model_fields.items()}
            if part not in fields:
                return None
            current = fields[str(part)].annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return None
    current = _without_none(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _without_none(annotation: Any) -> Any:
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is not None and len(args) == 1 and type(None) in get_args(annotation):
        return args[0]
    return annotation
