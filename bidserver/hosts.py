"""Which ``Host`` the server answers to: the guard against DNS rebinding.

A hostile page at ``evil.example`` can make its name resolve to this server's address; the
browser then sends ``Host: evil.example`` and ``Origin: http://evil.example``, which agree, and a
same-origin check that trusts the ``Host`` header lets the page in. So the ``Host`` of every
request and live-room handshake must be one this server is configured to serve; the live room's
same-origin check (``auth.origin_allowed``) can then compare the Origin with the ``Host``.

The hosts are ``allowed_hosts`` when configured (names or addresses, ``*.example.org`` for the
subdomains of a name, ``*`` for any); by default ``localhost``, ``127.0.0.1`` and ``::1``, the
hosts of ``allowed_origins`` (the platform that serves the pages usually proxies the server under
its own name), and the address the server binds to unless it is a wildcard (``0.0.0.0``, ``::``).
Ports are not compared: a rebinding page has its own name, whatever the port.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

import msgspec
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from . import wire
from .config import Settings

log = logging.getLogger(__name__)

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_WILDCARD_ADDRESSES = {"", "0.0.0.0", "::"}


def served_hosts(settings: Settings) -> frozenset[str]:
    """The host patterns of ``settings`` (see the module's docstring)."""
    if settings.allowed_hosts:
        return frozenset(_normalized(h) for h in settings.allowed_hosts)
    hosts = set(LOCAL_HOSTS)
    hosts.update(_normalized(name) for name in _origin_hosts(settings.allowed_origins))
    if settings.host not in _WILDCARD_ADDRESSES:
        hosts.add(_normalized(settings.host))
    return frozenset(hosts)


def host_allowed(header: str | None, hosts: frozenset[str]) -> bool:
    """Whether a ``Host`` header (``name[:port]``, ``[v6]:port``) names one of ``hosts``."""
    if "*" in hosts:
        return True
    if not header:
        return False
    try:
        name = urlsplit("//" + header.strip()).hostname
    except ValueError:  # a malformed port or bracket
        return False
    if not name:
        return False
    name = _normalized(name)
    return name in hosts or any(
        pattern.startswith("*.") and name.endswith(pattern[1:]) for pattern in hosts
    )


class HostCheck:
    """ASGI middleware: a request or handshake for another ``Host`` is refused before routing,
    ``421 host_not_allowed`` with a JSON body (a live-room handshake gets the same HTTP answer)."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"host")
        if host_allowed(header, self.hosts):
            await self.app(scope, receive, send)
            return
        failure = wire.Failure.HOST_NOT_ALLOWED
        client = scope.get("client")
        log.info(
            "%s - %s refused: %s (Host %.100r)",
            f"{client[0]}:{client[1]}" if client else "-", scope.get("path", ""), failure.value,
            header,
        )
        detail = "this server does not serve that Host; its operator lists the hosts it serves in BIDSERVER_ALLOWED_HOSTS"
        if scope["type"] == "websocket" and "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": wire.failure_close_code(failure)})
            return
        body = msgspec.to_builtins(wire.problem_for_failure(failure, detail))
        response = JSONResponse(
            body, status_code=wire.failure_status(failure), media_type=wire.PROBLEM_JSON
        )
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _origin_hosts(origins: Iterable[str]) -> list[str]:
    names = []
    for origin in origins:
        try:
            name = urlsplit(origin.strip()).hostname
        except ValueError:
            continue
        if name:
            names.append(name)
    return names


def _normalized(name: str) -> str:
    """Lower case, no brackets around an IPv6 address, no trailing dot of a fully qualified name."""
    name = name.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name.rstrip(".") if name != "." else name
