"""Publish and subscribe between the processes (``bus.CommandBus``'s wire): on one Redis plain
pub/sub, on a Redis Cluster sharded pub/sub in the channel's slot.

On one Redis nothing changes: ``PUBLISH`` and ``SUBSCRIBE`` on one connection, which redis-py's
``PubSub`` dials again and subscribes again by itself after Redis comes back (and which any Redis
version has: sharded pub/sub would ask for 7.0 of every single-Redis user for nothing).

On a Redis Cluster a plain ``PUBLISH`` goes over the cluster bus to every node, so the traffic of
every process would reach every master (issue 13). ``SPUBLISH`` (Redis >= 7.0) reaches only the
master and replicas of its channel's slot, and the bus names its channels per shard
(``KeySpace.command_channel``), so a command about an auction travels on its shard's slot only.

Why our own subscriber rather than redis-py's ``ClusterPubSub``: its ``get_sharded_message``
polls one node's connection after another, each for the whole timeout, so a message on the third
master waits for two idle polls; and it follows a failover only when some other command of the
same cluster client happens to refresh the slots. Here each master serving a subscribed slot has
a reader of its own (a plain client, ``store.connect.node_client``), blocked on its connection,
subscribed with one ``SSUBSCRIBE`` per slot (one per shard: a command may not span slots). A
reader whose connection fails, or whose master gives a slot up (the server's unasked
``SUNSUBSCRIBE``), has the slots read again; so does a check every few seconds (a master that
vanished without closing its connections). Readers are then set up anew on the masters serving
the slots now; the others keep theirs. Messages published meanwhile are lost: the bus is at most
once, a command unanswered in time is refused and resent by the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import key_slot

from ..store.connect import is_cluster_url, node_client

log = logging.getLogger(__name__)

OnMessage = Callable[[bytes, bytes], None]  # channel, data


class OnePubSub:
    """Plain pub/sub on one Redis."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pubsub = redis.pubsub()
        self._reader: asyncio.Task | None = None

    async def publish(self, channel: str, data: bytes) -> int:
        """Returns how many subscribers got it."""
        return await self._redis.publish(channel, data)

    async def subscribe(self, channels: Iterable[str], on_message: OnMessage) -> None:
        """Subscribed when this returns; ``on_message`` gets every message from then on."""
        await self._pubsub.subscribe(*channels)
        self._reader = asyncio.get_running_loop().create_task(self._read_forever(on_message))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self._pubsub.aclose()

    async def _read_forever(self, on_message: OnMessage) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: forwarded commands time out meanwhile
                log.warning("pub/sub: %s", exc)
                await asyncio.sleep(0.5)
                continue
            if message is not None and message.get("type") == "message":
                on_message(message["channel"], message["data"])


class ShardedPubSub:
    """Sharded pub/sub on a Redis Cluster: one reader per master of the subscribed slots."""

    def __init__(self, cluster: RedisCluster, url: str, *, check_every_s: float = 5.0,
                 retry_s: float = 0.2) -> None:
        self._cluster = cluster
        self._url = url
        self.check_every_s = check_every_s
        self.retry_s = retry_s
        self._slots: dict[int, list[str]] = {}  # slot -> its channels
        self._on_message: OnMessage = lambda channel, data: None
        self._readers: dict[str, tuple[frozenset[int], asyncio.Task]] = {}  # by master name
        self._stale = asyncio.Event()
        self._keeper: asyncio.Task | None = None

    async def publish(self, channel: str, data: bytes) -> int:
        """Returns how many subscribers of the slot's master got it (the cluster client sends
        ``SPUBLISH`` to the master of the channel's slot)."""
        return await self._cluster.spublish(channel, data)

    async def subscribe(self, channels: Iterable[str], on_message: OnMessage) -> None:
        """Subscribed on every master concerned when this returns (or raises: the cluster is
        not reachable at start); kept subscribed through failovers afterwards."""
        for channel in channels:
            self._slots.setdefault(key_slot(channel.encode()), []).append(channel)
        self._on_message = on_message
        await self._cluster.initialize()
        await self._arrange()
        self._keeper = asyncio.get_running_loop().create_task(self._keep_forever())

    async def close(self) -> None:
        tasks = [task for _, task in self._readers.values()]
        if self._keeper is not None:
            tasks.append(self._keeper)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._readers.clear()

    async def _keep_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stale.wait(), self.check_every_s)
            if self._stale.is_set():  # a reader failed: give the cluster a moment, not a spin
                await asyncio.sleep(self.retry_s)
                self._stale.clear()
            try:
                await self._cluster.nodes_manager.initialize()
                await self._arrange()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # mid-failover: no master for a slot yet
                log.warning("sharded pub/sub: %s", exc)
                self._stale.set()

    async def _arrange(self) -> None:
        """A reader on each master that serves subscribed slots now, as the slots were last
        read; readers of masters whose slots changed (or that failed) are replaced."""
        wanted: dict[str, tuple[Any, set[int]]] = {}
        for slot in self._slots:
            node = self._cluster.nodes_manager.get_node_from_slot(slot)
            wanted.setdefault(node.name, (node, set()))[1].add(slot)
        for name, (slots, task) in list(self._readers.items()):
            if task.done() or name not in wanted or wanted[name][1] != slots:
                task.cancel()
                del self._readers[name]
        ready = []
        for name, (node, slots) in wanted.items():
            if name in self._readers:
                continue
            subscribed = asyncio.get_running_loop().create_future()
            task = asyncio.get_running_loop().create_task(
                self._read(node.host, node.port, sorted(slots), subscribed),
                name=f"pubsub:{name}",
            )
            self._readers[name] = (frozenset(slots), task)
            ready.append(subscribed)
        for failed in await asyncio.gather(*ready, return_exceptions=True):
            if isinstance(failed, BaseException):
                raise failed

    async def _read(self, host: str, port: int, slots: list[int],
                    subscribed: asyncio.Future) -> None:
        client = node_client(self._url, host, port, socket_connect_timeout=1.0,
                             retry=Retry(NoBackoff(), 0))  # a failure is a failover: see above
        pubsub = client.pubsub()
        expected = sum(len(self._slots[s]) for s in slots)
        try:
            for slot in slots:
                await pubsub.ssubscribe(*self._slots[slot])
            confirmed = 0
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                kind = message["type"]
                if kind == "smessage":
                    self._on_message(message["channel"], message["data"])
                elif kind == "ssubscribe":
                    confirmed += 1
                    if confirmed == expected:
                        subscribed.set_result(None)
                elif kind == "sunsubscribe":  # the master gave the slot up
                    raise ConnectionError(f"{host}:{port} no longer serves {message['channel']!r}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if subscribed.done():
                log.warning("sharded pub/sub on %s:%s: %s", host, port, exc)
            else:
                subscribed.set_exception(exc)
            self._stale.set()
        finally:
            if not subscribed.done():
                subscribed.cancel()
            with contextlib.suppress(Exception):
                await pubsub.aclose()
                await client.aclose()


def pubsub_for(redis: Redis, url: str) -> OnePubSub | ShardedPubSub:
    """The pub/sub of ``redis``, the client of ``url`` (a ``RedisCluster`` on a cluster)."""
    if is_cluster_url(url):
        return ShardedPubSub(redis, url)  # type: ignore[arg-type]
    return OnePubSub(redis)
