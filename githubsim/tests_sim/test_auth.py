"""App JWTs and installation tokens, as GitHub checks them."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from githubsim import GitHubSimulator
from tests_sim.conftest import APP_ID, Api, Clock, Seed


async def test_minting_a_token_answers_201_with_a_one_hour_expiry(
    sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock
) -> None:
    status, body, _ = await api.call(
        "POST",
        f"/app/installations/{seed.installation_id}/access_tokens",
        auth=f"Bearer {api.jwt()}",
    )
    assert status == 201
    assert body["token"].startswith("ghs_")
    expires_at = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires_at - clock() == timedelta(hours=1)
    assert body["repository_selection"] == "all"
    assert sim.tokens_minted == 1
    await api.login(seed.installation_id)
    assert sim.tokens_minted == 2


async def test_a_token_scoped_to_repositories_sees_only_those(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    sim.add_repo("acme", "other")
    status, body, _ = await api.call(
        "POST",
        f"/app/installations/{seed.installation_id}/access_tokens",
        auth=f"Bearer {api.jwt()}",
        json={"repositories": ["other"]},
    )
    assert status == 201
    assert body["repository_selection"] == "selected"
    api.token = body["token"]
    assert (await api.call("GET", "/repos/acme/other"))[0] == 200
    assert (await api.call("GET", "/repos/acme/widgets"))[0] == 404
    status, listing, _ = await api.call("GET", "/installation/repositories")
    assert [r["full_name"] for r in listing["repositories"]] == ["acme/other"]


def _foreign_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong issuer", "'Issuer' claim"),
        ("expired", "'Expiration time' claim ('exp') must be"),
        ("exp too far", "'Expiration time' claim ('exp') is too far in the future"),
        ("iat in the future", "'Issued at' claim"),
        ("signed by another key", "A JSON web token could not be decoded"),
        ("HS256", "A JSON web token could not be decoded"),
        ("no exp", "A JSON web token could not be decoded"),
        ("not a JWT", "A JSON web token could not be decoded"),
        ("no Authorization", "Requires authentication"),
    ],
)
async def test_app_routes_refuse_bad_jwts_with_401(
    sim: GitHubSimulator, api: Api, seed: Seed, clock: Clock, case: str, message: str
) -> None:
    now = int(clock().timestamp())
    auth = {
        "wrong issuer": f"Bearer {api.jwt(iss='999')}",
        "expired": f"Bearer {api.jwt(iat=now - 700, exp=now - 10)}",
        "exp too far": f"Bearer {api.jwt(exp=now + 3600)}",
        "iat in the future": f"Bearer {api.jwt(iat=now + 600)}",
        "signed by another key": "Bearer "
        + jwt.encode({"iat": now, "exp": now + 500, "iss": str(APP_ID)}, _foreign_key(), "RS256"),
        "HS256": "Bearer "
        + jwt.encode({"iat": now, "exp": now + 500, "iss": str(APP_ID)}, "k" * 32, "HS256"),
        "no exp": "Bearer " + jwt.encode({"iat": now, "iss": str(APP_ID)}, api.key, "RS256"),
        "not a JWT": "Bearer ghs_notajwt",
        "no Authorization": "",
    }[case]
    status, body, _ = await api.call(
        "POST", f"/app/installations/{seed.installation_id}/access_tokens", auth=auth
    )
    assert status == 401
    assert message in body["message"]
    assert sim.tokens_minted == 0


async def test_unknown_installation_is_404(api: Api, seed: Seed) -> None:
    status, _, _ = await api.call(
        "POST", "/app/installations/12345/access_tokens", auth=f"Bearer {api.jwt()}"
    )
    assert status == 404


async def test_expired_and_unknown_tokens_are_401(api: Api, seed: Seed, clock: Clock) -> None:
    await api.login(seed.installation_id)
    assert (await api.call("GET", "/repos/acme/widgets"))[0] == 200
    clock.advance(minutes=59)
    assert (await api.call("GET", "/repos/acme/widgets"))[0] == 200
    clock.advance(minutes=1)
    status, body, _ = await api.call("GET", "/repos/acme/widgets")
    assert (status, body["message"]) == (401, "Bad credentials")
    assert (await api.call("GET", "/repos/acme/widgets", auth="token ghs_unknown"))[0] == 401
    assert (await api.call("GET", "/repos/acme/widgets", auth=""))[0] == 401


async def test_a_jwt_cannot_read_repositories(api: Api, seed: Seed) -> None:
    status, body, _ = await api.call("GET", "/repos/acme/widgets", auth=f"Bearer {api.jwt()}")
    assert status == 403
    assert body["message"] == "Resource not accessible by integration"


async def test_an_installation_token_cannot_call_app_routes(api: Api, seed: Seed) -> None:
    await api.login(seed.installation_id)
    status, _, _ = await api.call("GET", "/app")
    assert status == 401


async def test_repositories_of_other_accounts_are_404(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    sim.add_repo("elsewhere", "thing")
    await api.login(seed.installation_id)
    assert (await api.call("GET", "/repos/elsewhere/thing"))[0] == 404
    assert (await api.call("GET", "/repos/acme/nothing"))[0] == 404


async def test_get_app_and_list_installations(sim: GitHubSimulator, api: Api, seed: Seed) -> None:
    status, app, _ = await api.call("GET", "/app", auth=f"Bearer {api.jwt()}")
    assert status == 200
    assert (app["id"], app["slug"]) == (APP_ID, "coi-bot")
    status, installations, _ = await api.call(
        "GET", "/app/installations", auth=f"Bearer {api.jwt()}"
    )
    assert [i["id"] for i in installations] == [seed.installation_id]
    assert installations[0]["account"]["login"] == "acme"
    assert installations[0]["account"]["type"] == "Organization"


async def test_the_client_id_signs_a_jwt_as_well_as_the_numeric_id(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    status, app, _ = await api.call("GET", "/app", auth=f"Bearer {api.jwt(iss=sim.client_id)}")
    assert status == 200
    assert (app["id"], app["client_id"]) == (APP_ID, sim.client_id)


async def test_an_installation_on_selected_repositories_hides_the_others(
    sim: GitHubSimulator, api: Api, seed: Seed
) -> None:
    # The App installed on "Only select repositories": the owner's `.github` is not among them.
    sim.add_repo("acme", ".github", files={"README.md": "org defaults\n"})
    await sim.select_repositories("acme", ["widgets"])
    status, installations, _ = await api.call(
        "GET", "/app/installations", auth=f"Bearer {api.jwt()}"
    )
    assert (status, installations[0]["repository_selection"]) == (200, "selected")
    await api.login(seed.installation_id)
    assert (await api.call("GET", "/repos/acme/widgets"))[0] == 200
    assert (await api.call("GET", "/repos/acme/.github"))[0] == 404
    assert (await api.call("GET", "/repos/acme/.github/contents/README.md"))[0] == 404
    _, listing, _ = await api.call("GET", "/installation/repositories")
    assert [r["full_name"] for r in listing["repositories"]] == ["acme/widgets"]
    answer = await api.graphql('query { repository(owner: "acme", name: ".github") { id } }')
    assert answer["data"]["repository"] is None
    assert answer["errors"][0]["type"] == "NOT_FOUND"
