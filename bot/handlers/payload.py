"""What the handlers read of a delivery, parsed without the rest of the payload.

A GitHub payload is 10-30 KB, and handlers read a dozen of its fields. Parsing all of it into
Python objects was a third of the webhook path's CPU; `parse` builds only the keys listed here
(pydantic skips the others inside its parser), so routing costs a fraction of that.

`parse(body)` is a projection: the dict a full parse would give, minus the keys no handler
reads. Leaves are `Any` and every nested shape falls back to `Any` when the payload does not
have that shape, so a handler sees exactly what it would have seen, odd values included, and
keeps its own checks. A handler that starts to read a new key must list it here; the test that
routes every recorded payload both ways fails until it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, NotRequired, TypeVar, Union

from pydantic import Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

T = TypeVar("T")

# The shape when the value has it, the value as it is otherwise.
Projected = Annotated[Union[T, Any], Field(union_mode="left_to_right")]  # noqa: UP007


class _Number(TypedDict):
    number: NotRequired[Any]


class _Login(TypedDict):
    login: NotRequired[Any]


class _Id(TypedDict):
    id: NotRequired[Any]


class _FullName(TypedDict):
    full_name: NotRequired[Any]


class _Repository(TypedDict):
    owner: NotRequired[Projected[_Login]]
    name: NotRequired[Any]
    full_name: NotRequired[Any]
    default_branch: NotRequired[Any]


class _Issue(TypedDict):
    number: NotRequired[Any]
    pull_request: NotRequired[Any]  # only its truthiness counts, and it is small


class _User(TypedDict):
    type: NotRequired[Any]


class _Comment(TypedDict):
    id: NotRequired[Any]
    node_id: NotRequired[Any]
    body: NotRequired[Any]
    user: NotRequired[Projected[_User]]


# `from` is a Python keyword: only the functional form can name it.
_BodyChange = TypedDict("_BodyChange", {"from": NotRequired[Any]})


class _Changes(TypedDict):
    body: NotRequired[Projected[_BodyChange]]


class _Check(TypedDict):
    pull_requests: NotRequired[Projected[list[Projected[_Number]]]]


class _Identifier(TypedDict):
    identifier: NotRequired[Any]


class _Commit(TypedDict):
    id: NotRequired[Any]
    added: NotRequired[Any]
    modified: NotRequired[Any]
    removed: NotRequired[Any]


class _PullRequest(TypedDict):
    number: NotRequired[Any]
    merged: NotRequired[Any]
    merged_by: NotRequired[Projected[_Login]]


class _MergeGroup(TypedDict):
    head_sha: NotRequired[Any]
    head_ref: NotRequired[Any]
    base_ref: NotRequired[Any]


class Delivery(TypedDict):
    """Every key some handler (or the router's log context) reads, for all handled events."""

    action: NotRequired[Any]
    installation: NotRequired[Projected[_Id]]
    repository: NotRequired[Projected[_Repository]]
    sender: NotRequired[Projected[_Login]]
    pull_request: NotRequired[Projected[_PullRequest]]
    issue: NotRequired[Projected[_Issue]]
    comment: NotRequired[Projected[_Comment]]
    changes: NotRequired[Projected[_Changes]]
    check_suite: NotRequired[Projected[_Check]]
    check_run: NotRequired[Projected[_Check]]
    requested_action: NotRequired[Projected[_Identifier]]
    repositories: NotRequired[Projected[list[Projected[_FullName]]]]
    repositories_added: NotRequired[Projected[list[Projected[_FullName]]]]
    repositories_removed: NotRequired[Projected[list[Projected[_FullName]]]]
    ref: NotRequired[Any]
    commits: NotRequired[Projected[list[Projected[_Commit]]]]
    head_commit: NotRequired[Projected[_Commit]]
    merge_group: NotRequired[Projected[_MergeGroup]]
    before: NotRequired[Any]
    after: NotRequired[Any]
    forced: NotRequired[Any]
    pusher: NotRequired[Any]


_DELIVERY = TypeAdapter(Delivery)


class Malformed(ValueError):
    """The body is not a JSON object."""


def parse(body: bytes) -> Mapping[str, Any]:
    """The projection of a delivery's body; Malformed when it is not a JSON object."""
    try:
        # A TypedDict validates into a plain dict: handlers get what a full parse would give.
        data: Mapping[str, Any] = _DELIVERY.validate_json(body)
    except ValidationError as error:
        # Every shape falls back to Any: only the JSON itself or its top level can fail.
        first = error.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise Malformed(f"not JSON: {first['msg']}") from None
        raise Malformed("the body is not a JSON object") from None
    return data
