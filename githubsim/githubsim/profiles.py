"""GraphQL's root `user(login:)`: one account's profile by login, as `coi-bot audit` reads many
at once (one alias per login). An unknown login or an organization is NOT_FOUND, as on GitHub:
the answer keeps `data`, with that alias null, beside the error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from githubsim.host import GraphQLHost

Node = dict[str, Any]


def user_field(
    sim: GraphQLHost,
    actor: Callable[[str], Node | None],
    not_found: Callable[[str], Exception],
) -> Callable[[str], Node]:
    def user(login: str) -> Node:
        found = next((known for known in sim.users if known.lower() == login.lower()), None)
        node = actor(found) if found and sim.account_type(found) == "User" else None
        if node is None:
            raise not_found(f"Could not resolve to a User with the login of '{login}'.")
        return node

    return user
