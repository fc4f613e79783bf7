"""Every Redis client of the server comes from here: one URL grammar for one Redis and for a
replicated Redis behind Sentinel, so the journal, the leases and presence all follow a failover
the same way.

Why Sentinel through a URL: ``--redis-url`` is already the one setting that says where the
journal is (every tool takes it: ``serve``, ``replay``, ``audit export``). A replicated Redis
whose master can change is named by its Sentinels and its service name instead of by a host::

    redis+sentinel://[[user]:password@]host:port[,host:port...]/<service>[/<db>]

(port 26379 when left out; the password is the data servers', the Sentinels' own is taken from
``BIDSERVER_SENTINEL_PASSWORD`` if they have one). The client is redis-py's
``Sentinel.master_for``: each new connection asks the Sentinels where the master is now, and a
connection that finds itself on a demoted master (``READONLY``) is dropped, so after a failover
the same client writes to the promoted replica without a restart. Calls made during the
failover fail (``JournalUnavailable`` for the journal's: a bid is refused, never lost).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel://"
SENTINEL_PORT = 26379
SENTINEL_PASSWORD_ENV = "BIDSERVER_SENTINEL_PASSWORD"


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def parse_sentinel_url(url: str) -> SentinelTarget:
    """``redis+sentinel://...`` -> its parts; ``ValueError`` naming what is wrong (the edge
    that shows it names the URL)."""
    if not url.startswith(SENTINEL_SCHEME):
        raise ValueError(f"not a {SENTINEL_SCHEME} URL: {url!r}")
    rest = url[len(SENTINEL_SCHEME):]
    userinfo, _, rest = rest.rpartition("@")
    hosts, _, path = rest.partition("/")
    parts = [p for p in path.split("/") if p]
    if not hosts or not parts or len(parts) > 2:
        raise ValueError(
            f"use {SENTINEL_SCHEME}host:port[,host:port...]/<service>[/<db>]"
        )
    sentinels = tuple(_host_port(h) for h in hosts.split(","))
    username, password = None, None
    if userinfo:
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    try:
        db = int(parts[1]) if len(parts) == 2 else 0
    except ValueError:
        raise ValueError(f"the database must be a number, not {parts[1]!r}") from None
    return SentinelTarget(sentinels, unquote(parts[0]), db, username, password)


def _host_port(text: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``."""
    if text.startswith("["):
        host, _, after = text[1:].partition("]")
        port = after.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:  # a name, or an IPv6 address without brackets (and so without a port)
        host, port = text, ""
    if not host:
        raise ValueError("a Sentinel without a host")
    try:
        return host, int(port) if port else SENTINEL_PORT
    except ValueError:
        raise ValueError(f"{port!r} is not a port of a Sentinel") from None


URL_SCHEMES = ("redis://", "rediss://", "unix://", SENTINEL_SCHEME)


def check_url(url: str) -> None:
    """``ValueError`` saying what is wrong with a Redis URL the server could not use: read at
    start, before anything connects, so that a typo is one line, not a traceback later."""
    if not url.startswith(URL_SCHEMES):
        raise ValueError(f"a Redis URL starts with one of {', '.join(URL_SCHEMES)}")
    if url.startswith(SENTINEL_SCHEME):
        parse_sentinel_url(url)


def redis_client(url: str, **options: Any) -> Redis:
    """A client for ``url`` (``redis://``, ``rediss://``, ``unix://`` or ``redis+sentinel://``)
    with redis-py's connection ``options`` (timeouts, retry, parser, client name)."""
    if not url.startswith(SENTINEL_SCHEME):
        return Redis.from_url(url, **options)
    target = parse_sentinel_url(url)
    timeouts = {k: options[k] for k in ("socket_timeout", "socket_connect_timeout") if k in options}
    sentinel_password = os.environ.get(SENTINEL_PASSWORD_ENV)
    sentinel = Sentinel(
        list(target.sentinels),
        sentinel_kwargs={**timeouts, **({"password": sentinel_password} if sentinel_password else {})},
        **timeouts,
    )
    return sentinel.master_for(
        target.service, redis_class=Redis, db=target.db, username=target.username,
        password=target.password, **options,
    )
