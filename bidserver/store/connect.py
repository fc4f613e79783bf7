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

Why a Redis Cluster through a URL too: the same one setting names it, by a few of its nodes::

    redis+cluster://[[user]:password@]host:port[,host:port...]

(port 6379 when left out). The client is redis-py's ``RedisCluster``, which learns the rest of
the cluster and its slots from the first node that answers, and learns them again after a
failover moves slots. The journal also needs one plain client per master (``node_client``): a
write and the wait that proves it durable must go down one connection, which the cluster
client's pipelines do not promise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel://"
SENTINEL_PORT = 26379
CLUSTER_SCHEME = "redis+cluster://"
CLUSTER_PORT = 6379
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
    username, password = _credentials(userinfo)
    try:
        db = int(parts[1]) if len(parts) == 2 else 0
    except ValueError:
        raise ValueError(f"the database must be a number, not {parts[1]!r}") from None
    return SentinelTarget(sentinels, unquote(parts[0]), db, username, password)


@dataclass(frozen=True, slots=True)
class ClusterTarget:
    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None


def parse_cluster_url(url: str) -> ClusterTarget:
    """``redis+cluster://...`` -> its parts; ``ValueError`` naming what is wrong."""
    if not url.startswith(CLUSTER_SCHEME):
        raise ValueError(f"not a {CLUSTER_SCHEME} URL: {url!r}")
    rest = url[len(CLUSTER_SCHEME):]
    userinfo, _, rest = rest.rpartition("@")
    hosts, _, path = rest.partition("/")
    if not hosts or path:
        raise ValueError(f"use {CLUSTER_SCHEME}host:port[,host:port...] (a cluster has no databases)")
    nodes = tuple(_host_port(h, CLUSTER_PORT, "a cluster node") for h in hosts.split(","))
    username, password = _credentials(userinfo)
    return ClusterTarget(nodes, username, password)


def is_cluster_url(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEME)


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, has_password, secret = userinfo.partition(":")
    return unquote(user) or None, unquote(secret) if has_password else None


def _host_port(text: str, default_port: int = SENTINEL_PORT,
               what: str = "a Sentinel") -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``."""
    if text.startswith("["):
        host, _, after = text[1:].partition("]")
        port = after.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:  # a name, or an IPv6 address without brackets (and so without a port)
        host, port = text, ""
    if not host:
        raise ValueError(f"{what} without a host")
    try:
        return host, int(port) if port else default_port
    except ValueError:
        raise ValueError(f"{port!r} is not a port of {what}") from None


URL_SCHEMES = ("redis://", "rediss://", "unix://", SENTINEL_SCHEME, CLUSTER_SCHEME)


def check_url(url: str) -> None:
    """``ValueError`` saying what is wrong with a Redis URL the server could not use: read at
    start, before anything connects, so that a typo is one line, not a traceback later."""
    if not url.startswith(URL_SCHEMES):
        raise ValueError(f"a Redis URL starts with one of {', '.join(URL_SCHEMES)}")
    if url.startswith(SENTINEL_SCHEME):
        parse_sentinel_url(url)
    if url.startswith(CLUSTER_SCHEME):
        parse_cluster_url(url)


def redis_client(url: str, **options: Any) -> Redis:
    """A client for ``url`` (``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://``
    or ``redis+cluster://``) with redis-py's connection ``options`` (timeouts, retry, parser,
    client name). A cluster's is a ``RedisCluster``, which has the commands of a ``Redis``
    (each key's on the node of its slot), typed as one here for its callers' sake."""
    if url.startswith(CLUSTER_SCHEME):
        target = parse_cluster_url(url)
        options = {k: v for k, v in options.items() if k != "parser_class"}  # it picks its own
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in target.nodes],
            username=target.username, password=target.password,
            require_full_coverage=False,  # a lost master's slots do not stop the others'
            **options,
        )
        return cluster  # type: ignore[return-value]
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


def node_client(url: str, host: str, port: int, **options: Any) -> Redis:
    """A plain client for one node of the cluster ``url`` names, with its credentials."""
    target = parse_cluster_url(url)
    where = f"[{host}]" if ":" in host else host
    return Redis.from_url(f"redis://{where}:{port}", username=target.username,
                          password=target.password, **options)
