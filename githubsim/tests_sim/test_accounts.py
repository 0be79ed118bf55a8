"""Renamed and re-registered accounts: the same id under a new login, a new id under an old one."""

from __future__ import annotations

from typing import Any

import pytest

from bot.github.queries import SNAPSHOT, review_load_query
from githubsim import GitHubSimulator
from tests_sim.conftest import APP_ID, MAP_PATH, Api, Seed


def _variables(number: int) -> dict[str, Any]:
    return {"owner": "acme", "name": "widgets", "number": number, "mapPath": MAP_PATH}


async def _acts_of_bob(sim: GitHubSimulator) -> int:
    number = await sim.open_pull_request(
        "acme/widgets", author="alice", title="t", files={"src/a.py": "a\n"}
    )
    await sim.push_commits("acme/widgets", number, author="bob", files={"src/a.py": "b\n"})
    await sim.submit_review("acme/widgets", number, reviewer="bob")
    await sim.post_comment("acme/widgets", number, author="bob", body="/coi recheck")
    return number


async def test_a_renamed_account_keeps_its_id_and_shows_every_act_under_its_new_login(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await _acts_of_bob(sim)
    bob_id = sim.users["bob"].id
    sim.rename_user("bob", "robert")
    await api.login(seed.installation_id)
    result = await api.graphql(SNAPSHOT, appId=APP_ID, **_variables(number))
    assert "errors" not in result
    pull = result["data"]["repository"]["pullRequest"]
    [review] = pull["reviews"]["nodes"]
    assert (review["author"]["login"], review["author"]["databaseId"]) == ("robert", bob_id)
    assert review["authorCanPushToRepository"] is True  # access goes with the account
    [comment] = [c for c in pull["comments"]["nodes"] if c["author"]["__typename"] == "User"]
    assert (comment["author"]["login"], comment["author"]["databaseId"]) == ("robert", bob_id)
    pushed = pull["commits"]["nodes"][-1]["commit"]["author"]["user"]
    assert (pushed["login"], pushed["databaseId"]) == ("robert", bob_id)
    assert "bob" not in sim.users


async def test_an_old_login_registered_again_is_another_account_with_another_id(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await _acts_of_bob(sim)
    bob_id = sim.users["bob"].id
    sim.rename_user("bob", "robert")
    newcomer = sim.add_user("bob")
    assert newcomer.id != bob_id
    await sim.submit_review("acme/widgets", number, reviewer="bob")
    await api.login(seed.installation_id)
    result = await api.graphql(SNAPSHOT, appId=APP_ID, **_variables(number))
    reviews = result["data"]["repository"]["pullRequest"]["reviews"]["nodes"]
    assert [(r["author"]["login"], r["author"]["databaseId"]) for r in reviews] == [
        ("robert", bob_id),
        ("bob", newcomer.id),
    ]
    # The newcomer holds none of the old account's access.
    assert reviews[1]["authorCanPushToRepository"] is False
    load = await api.graphql(
        review_load_query(["bob", "robert"], accounts=["bob", "robert"]),
        owner="acme",
        name="widgets",
        number=number,
    )
    assert (load["data"]["a0"], load["data"]["a1"]) == (
        {"databaseId": newcomer.id},
        {"databaseId": bob_id},
    )


async def test_a_freed_login_is_not_found_until_registered_again(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    number = await _acts_of_bob(sim)
    sim.rename_user("bob", "robert")
    await api.login(seed.installation_id)
    result = await api.graphql(
        review_load_query(["bob"], accounts=["bob"]), owner="acme", name="widgets", number=number
    )
    assert result["data"]["a0"] is None
    assert [(e["type"], e["path"]) for e in result["errors"]] == [("NOT_FOUND", ["a0"])]


def test_a_rename_refuses_a_taken_login_and_non_users(sim: GitHubSimulator, seed: Seed) -> None:
    with pytest.raises(ValueError, match="taken"):
        sim.rename_user("bob", "Alice")
    with pytest.raises(ValueError, match="not a user account"):
        sim.rename_user("acme", "acme2")
    with pytest.raises(KeyError, match="unknown user"):
        sim.rename_user("nobody", "somebody")


def test_a_no_reply_address_of_the_old_login_still_names_the_renamed_account(
    sim: GitHubSimulator, seed: Seed
) -> None:
    bob_id = sim.users["bob"].id
    sim.rename_user("bob", "robert")
    assert sim.login_for_email(f"{bob_id}+bob@users.noreply.github.com") == "robert"
    assert sim.login_for_email("12+bob@users.noreply.github.com") is None
    assert sim.login_for_email("x+bob@users.noreply.github.com") is None
