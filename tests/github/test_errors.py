"""GitHub's refusals and network failures as the one line `check` and `report` print."""

from __future__ import annotations

import socket
import ssl
from http import HTTPStatus

import aiohttp
import gidgethub
import pytest
from aiohttp.client_reqrep import ConnectionKey

from bot.github.client import GitHubUnreachable
from bot.github.errors import describe_failure, describe_github_error

API = "https://ghe.example/api/v3"


def connection_key(host: str, port: int) -> ConnectionKey:
    return ConnectionKey(host, port, True, True, None, None, None, None)


def unreachable(cause: BaseException) -> GitHubUnreachable:
    """As the client raises it: an internal operation name, the network error as its cause."""
    try:
        raise GitHubUnreachable("POST /graphql Snapshot: after 4 attempts") from cause
    except GitHubUnreachable as error:
        return error


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (
            aiohttp.ClientConnectorError(
                connection_key("127.0.0.1", 9), ConnectionRefusedError(111, "refused")
            ),
            "cannot reach 127.0.0.1:9: connection refused",
        ),
        (
            aiohttp.ClientConnectorDNSError(
                connection_key("nowhere.example", 443), socket.gaierror(-2, "Name not known")
            ),
            "cannot reach nowhere.example: the name does not resolve (DNS)",
        ),
        (
            aiohttp.ClientConnectorError(
                connection_key("ghe.example", 443), OSError(113, "No route to host")
            ),
            "cannot reach ghe.example: no route to host",
        ),
        (
            aiohttp.ClientConnectorCertificateError(
                connection_key("ghe.example", 443), ssl.SSLCertVerificationError("self-signed")
            ),
            "cannot reach ghe.example: its TLS certificate is not trusted",
        ),
        (
            aiohttp.ClientConnectorSSLError(
                connection_key("ghe.example", 443), ssl.SSLError("wrong version number")
            ),
            "cannot reach ghe.example: the TLS handshake failed",
        ),
        (TimeoutError(), "cannot reach ghe.example: no answer in time (timed out)"),
        (
            aiohttp.ServerDisconnectedError(),
            "cannot reach ghe.example: the server closed the connection",
        ),
        (aiohttp.ClientPayloadError("cut"), "cannot reach ghe.example: the answer was cut off"),
        (aiohttp.ClientOSError(), "cannot reach ghe.example: the connection failed"),
    ],
)
def test_network_failures_name_the_host_and_what_failed(
    cause: BaseException, expected: str
) -> None:
    assert describe_failure(unreachable(cause), api_url=API) == expected
    assert describe_failure(cause, api_url=API) == expected


def test_no_internal_operation_name_reaches_the_person() -> None:
    line = describe_failure(unreachable(TimeoutError()), api_url="http://127.0.0.1:8000")
    assert line == "cannot reach 127.0.0.1:8000: no answer in time (timed out)"
    assert "Snapshot" not in line
    bare = GitHubUnreachable("GET /app/installations: after 4 attempts")
    assert describe_failure(bare, api_url=API) == "cannot reach ghe.example: the connection failed"


def test_github_refusals_say_so() -> None:
    line = describe_failure(gidgethub.BadRequest(HTTPStatus(403)), api_url=API)
    assert line == "GitHub refused: 403 Forbidden (the credentials may not read this repository)"
    assert describe_failure(ValueError("odd"), api_url=API) == "odd"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            gidgethub.BadRequest(HTTPStatus(404)),
            "404 Not Found (no such repository or pull request, or the credentials cannot see it)",
        ),
        (gidgethub.BadRequest(HTTPStatus(403)), "may not read this repository"),
        (gidgethub.BadRequest(HTTPStatus(422)), "422"),
        (
            gidgethub.QueryError({"errors": [{"message": "Something broke"}]}),
            "Something broke",
        ),
        (gidgethub.GraphQLAuthorizationFailure({"message": "Bad credentials"}), "not valid"),
        (gidgethub.GitHubException(), "GitHubException"),
    ],
)
def test_github_errors_become_one_line(error: gidgethub.GitHubException, expected: str) -> None:
    assert expected in describe_github_error(error)


def test_graphql_not_found_gives_the_same_hint_as_a_404() -> None:
    error = gidgethub.QueryError(
        {
            "errors": [
                {
                    "type": "NOT_FOUND",
                    "message": "Could not resolve to a Repository with the name 'acme/nothing'.",
                }
            ]
        }
    )
    rest = describe_github_error(gidgethub.BadRequest(HTTPStatus(404)))
    hint = rest[rest.index("(") :]
    assert describe_github_error(error) == (
        f"Could not resolve to a Repository with the name 'acme/nothing'. {hint}"
    )
