"""GitHub's refusals and network failures, each as one line a person can act on.

The command line (`check`, `report`) shows these instead of tracebacks or the client's internal
operation names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiohttp
import gidgethub

from bot.github.client import GitHubUnreachable

_STATUS_HINTS = {
    401: "the credentials are not valid",
    403: "the credentials may not read this repository",
    404: "no such repository or pull request, or the credentials cannot see it",
}


def describe_failure(error: BaseException, *, api_url: str) -> str:
    """The line for any error reaching or asking GitHub; `api_url` names the host if need be."""
    if isinstance(error, GitHubUnreachable):
        return describe_network_error(error.__cause__ or error, api_url=api_url)
    if isinstance(error, aiohttp.ClientError | TimeoutError):
        return describe_network_error(error, api_url=api_url)
    if isinstance(error, gidgethub.GitHubException):
        return f"GitHub refused: {describe_github_error(error)}"
    return str(error) or type(error).__name__


def describe_network_error(error: BaseException, *, api_url: str) -> str:
    """`cannot reach HOST: what failed`, in plain words."""
    return f"cannot reach {_where(error, api_url)}: {_what_failed(error)}"


def _where(error: BaseException, api_url: str) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        host, port = error.host, error.port
    else:
        parts = urlsplit(api_url)
        host, port = parts.hostname or api_url, parts.port
    return host if port in (None, 80, 443) else f"{host}:{port}"


def _what_failed(error: BaseException) -> str:
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return "the name does not resolve (DNS)"
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return "its TLS certificate is not trusted"
    if isinstance(error, aiohttp.ClientSSLError):
        return "the TLS handshake failed"
    if isinstance(error, aiohttp.ClientConnectorError):
        os_error = error.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return "connection refused"
        return (os_error.strerror or "the connection failed").lower()
    if isinstance(error, TimeoutError):
        return "no answer in time (timed out)"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(error, aiohttp.ClientPayloadError):
        return "the answer was cut off"
    return "the connection failed"


def describe_github_error(error: gidgethub.GitHubException) -> str:
    """One line a person can act on, for any of gidgethub's errors."""
    if isinstance(error, gidgethub.BadRequest):
        status = int(error.status_code)
        hint = _STATUS_HINTS.get(status, "")
        text = f"{status} {error}".strip()
        return f"{text} ({hint})" if hint else text
    if isinstance(error, gidgethub.GraphQLAuthorizationFailure):
        return f"{error} (the credentials are not valid)"
    if isinstance(error, gidgethub.GraphQLException):
        errors = error.response.get("errors") if isinstance(error.response, dict) else None
        found = [e for e in errors or [] if isinstance(e, dict)]
        text = "; ".join(str(e.get("message")) for e in found) or str(error)
        # GraphQL says NOT_FOUND where REST says 404: give the same hint.
        if any(e.get("type") == "NOT_FOUND" for e in found):
            return f"{text} ({_STATUS_HINTS[404]})"
        return text
    return str(error) or type(error).__name__


def data_beside_not_found(error: gidgethub.QueryError) -> dict[str, Any]:
    """The data of an answer whose only errors are unknown logins (their aliases are null);
    any other error is raised again."""
    response = error.response if isinstance(error.response, dict) else {}
    errors = response.get("errors") or []
    data = response.get("data")
    if not isinstance(data, dict) or any(e.get("type") != "NOT_FOUND" for e in errors):
        raise error
    return data
