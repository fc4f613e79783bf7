"""Which master a durable write goes to: the one Redis, or the master of the key's slot in a
Redis Cluster; the journal asks here and nothing else routes its writes.

Why the journal routes its own writes on a cluster instead of leaving it to ``RedisCluster``: an
acknowledgement needs the write and the wait that proves it durable (``WAIT``, ``WAITAOF``) on one
connection to one master, in that order, since both only wait for the calling connection's own
writes. The cluster client's pipeline splits commands by node and, after a redirection or a
retry, re-sends some of them one by one on other connections: a wait re-sent alone would
"confirm" nothing and the write would be acknowledged unproven. So each master gets a plain
``Redis`` client of its own (``store.connect.node_client``) and one pipeline per turn carries its
script calls and then its waits. The cluster client is kept for what it is good at: knowing the
slots (``CLUSTER SLOTS``), and the plain reads.

After a failover the slots move: a write to the old master fails (refused connection, ``MOVED``,
``READONLY``, ``CLUSTERDOWN``), is answered ``journal_unavailable``, and marks the map stale;
the next write reads the slots again and goes to the promoted replica. A master seen for the first
time is ``admit``-ted by the journal before it takes a write (its durability checked, as at
connect; a promoted replica with no replica of its own is refused while the journal waits for
one), and until it is admitted its writes are refused, never acknowledged unproven.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisError

from .connect import node_client
from .keyspace import KeySpace

__all__ = ["ClusterMasters", "Master", "OneRedis"]

# A master refused (no replica yet after its promotion) is asked again after this long: writes
# meanwhile are refused at once instead of each asking it again.
RECHECK_AFTER_S = 0.1


@dataclass(frozen=True, slots=True)
class Master:
    """One master: its client, and a key of a slot it serves (the fence counter a durable read
    writes to, so that the waits after it cover what was read)."""

    name: str
    client: Redis
    fence_key: str


class OneRedis:
    """A single Redis (plain, replicated, behind Sentinel): every key's master is the one."""

    def __init__(self, client: Redis, fence_key: str) -> None:
        self._master = Master("redis", client, fence_key)

    async def master_of(self, key: str) -> Master:
        return self._master

    async def masters(self) -> list[Master]:
        return [self._master]

    def stale(self) -> None:
        """Nothing to learn again: the client (Sentinel's too) finds the master itself."""

    async def close(self) -> None:
        """The client is the journal's, closed by it."""


class ClusterMasters:
    """The masters of a Redis Cluster, each with its own client, learnt from ``cluster``."""

    def __init__(
        self, cluster: RedisCluster, url: str, options: dict[str, Any], keys: KeySpace,
        admit: Callable[[Master], Awaitable[None]],
    ) -> None:
        self._cluster = cluster
        self._url = url
        self._options = options
        self._keys = keys
        self._admit = admit
        self._admitted: dict[str, Master] = {}
        self._admitting: dict[str, asyncio.Lock] = {}
        self._refused: dict[str, tuple[float, Exception]] = {}  # name -> (until, why)
        self._stale = True
        self._started = False

    def stale(self) -> None:
        """A write failed in a way a moved slot explains: read the slots again before the next."""
        self._stale = True

    async def _fresh(self) -> None:
        """Read the slots again if a write failed; forget the masters that are no longer (one
        promoted again later is admitted again, its durability checked anew)."""
        if not self._stale:
            return
        if self._started:
            await self._cluster.nodes_manager.initialize()
        else:  # the first time: the slots, and the command table the cluster client routes by
            await self._cluster.initialize()
            self._started = True
        self._stale = False
        now = set(self._serving())
        for name in [n for n in self._admitted if n not in now]:
            await _close(self._admitted.pop(name).client)

    async def master_of(self, key: str) -> Master:
        await self._fresh()
        node = self._cluster.nodes_manager.get_node_from_slot(key_slot(key.encode()))
        return await self._master(node.host, node.port)

    async def masters(self) -> list[Master]:
        """Every master that serves a slot now."""
        await self._fresh()
        nodes = self._serving()
        return list(await asyncio.gather(*(self._master(n.host, n.port) for n in nodes.values())))

    async def _master(self, host: str, port: int) -> Master:
        name = f"{host}:{port}"
        master = self._admitted.get(name)
        if master is not None:
            return master
        async with self._admitting.setdefault(name, asyncio.Lock()):  # one check at a time
            master = self._admitted.get(name)
            if master is not None:
                return master
            refused = self._refused.get(name)
            if refused is not None and time.monotonic() < refused[0]:
                raise refused[1]  # checked a moment ago: the writes waiting now are refused
            client = node_client(self._url, host, port, **self._options)
            master = Master(name, client, self._fence_key(name))
            try:
                await self._admit(master)
            except Exception as exc:
                await _close(client)
                self._refused[name] = (time.monotonic() + RECHECK_AFTER_S, exc)
                raise
            self._refused.pop(name, None)
            self._admitted[name] = master
            return master

    def _serving(self) -> dict[str, Any]:
        """The masters that serve a slot now, by name: the slots' owners as last read (the
        client's list of primaries may still hold a failed master that serves nothing)."""
        owners = (nodes[0] for nodes in self._cluster.nodes_manager.slots_cache.values() if nodes)
        return {node.name: node for node in owners}

    def _fence_key(self, name: str) -> str:
        """A key whose slot ``name`` serves now (a few CRC16s: the first one it owns)."""
        slots = self._cluster.nodes_manager.slots_cache
        for j in range(100_000):
            key = self._keys.master_fence(j)
            owners = slots.get(key_slot(key.encode()))
            if owners and owners[0].name == name:
                return key
        raise RuntimeError(f"no slot of {name} found for its fence key")  # a master owns a slot

    async def close(self) -> None:
        masters, self._admitted = list(self._admitted.values()), {}
        for master in masters:
            await _close(master.client)


async def _close(client: Redis) -> None:
    try:
        await client.aclose()
    except RedisError:  # a node that is gone must not fail shutdown
        pass
