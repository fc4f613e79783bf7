"""Several bidserver processes behind one address, coordinated through Redis only.

Run ``bidserver serve --workers N`` (N processes sharing one listening socket on this machine) or
start ``bidserver serve --cluster`` on several machines with the same ``--redis-url`` behind a
load balancer. Any process accepts any participant; Redis coordinates the rest, with three of its
own mechanisms and no protocol of ours between processes:

- **leases** (``store.leases``): one writer per auction, taken over when its writer dies;
- **the journal streams**: a process with participants of an auction it does not write follows
  that auction's stream (``XREAD BLOCK`` over the followed streams), so its replica holds exactly
  the durable events and its watchers are served from it;
- **pub/sub** (``bus.CommandBus``): commands go to the writer's node channel and answers come
  back on the sender's, batched per node and turn of the event loop (sharded pub/sub on a Redis
  Cluster, ``runtime.pubsub``).

On a Redis Cluster (a ``redis+cluster://`` URL) the keys live in shards (``store.keyspace``) and
a command may only touch keys of one slot. So the followed streams are read by one reader per
shard, each blocked in its own ``XREAD`` over the streams of its shard (one slot). Why per shard
rather than one reader per master: an ``XREAD`` may not span slots even on one master, so a
master's reader would still make one call per shard, one after the other, and a shard's new entry
would wait behind the others' blocking reads; independent readers each wake for their own
shard, on whichever master serves it now (the cluster client routes each call and, after a
failover, finds the new master; a read that fails meanwhile is tried again shortly). On one
Redis there is one shard: one reader and one ``XREAD`` over every followed stream, as ever.

Auctions spread across the processes by where they are created (the creating process writes a new
auction) and, after a restart, by which process takes each lease first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from ..store.connect import is_cluster_url, redis_client
from ..store.journal import JournalUnavailable
from ..store.keyspace import KeySpace
from ..store.leases import Leases
from .auction import Auction
from .bus import CommandBus
from .pubsub import pubsub_for
from .replica import Replica, apply_batch

log = logging.getLogger(__name__)

Switch = Callable[[Auction], Awaitable[None]]


def new_node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Followed:
    """The auctions this process follows, by shard: each shard's reader reads its own."""

    def __init__(self, keys: KeySpace) -> None:
        self._keys = keys
        self.shards: list[dict[str, Auction]] = [{} for _ in range(keys.shards)]
        self.changed = [asyncio.Event() for _ in range(keys.shards)]

    def add(self, handle: Auction) -> None:
        shard = self._keys.shard(handle.auction_id)
        self.shards[shard][handle.auction_id] = handle
        self.changed[shard].set()

    def pop(self, auction_id: str) -> Auction | None:
        return self.shards[self._keys.shard(auction_id)].pop(auction_id, None)

    def get(self, auction_id: str) -> Auction | None:
        return self.shards[self._keys.shard(auction_id)].get(auction_id)

    def __iter__(self) -> Iterator[str]:
        for shard in self.shards:
            yield from shard

    def __len__(self) -> int:
        return sum(len(shard) for shard in self.shards)


class Cluster:
    """This process's part: its leases, the auctions it follows, and the command bus."""

    def __init__(self, redis_url: str, *, prefix: str = "bidserver", ttl_ms: int = 5000,
                 node: str | None = None) -> None:
        self.node = node or new_node_id()
        self.keys = KeySpace(prefix, sharded=is_cluster_url(redis_url))
        self.redis = redis_client(redis_url, socket_connect_timeout=1.0, socket_timeout=10.0)
        self.leases = Leases(self.redis, self.node, self.keys, ttl_ms=ttl_ms)
        self.bus = CommandBus(pubsub_for(self.redis, redis_url), self.node, self.keys)
        self._follow_redis = redis_client(redis_url, socket_connect_timeout=1.0, socket_timeout=10.0)
        self._promote: Switch | None = None
        self._demote: Switch | None = None
        self._followed = Followed(self.keys)
        self._served: dict[str, Auction] = {}
        self._tasks: list[asyncio.Task] = []
        self._checking: set[str] = set()

    async def start(self, *, promote: Switch, demote: Switch) -> None:
        """``promote``: this process took an auction's lease, make it write (``Rooms.promote``);
        ``demote``: it lost one, make it follow (``Rooms.demote``)."""
        self._promote = promote
        self._demote = demote
        self.bus.on_no_writer = self._no_writer
        await self.bus.start()
        loop = asyncio.get_running_loop()
        self._tasks = [
            *(loop.create_task(self._follow_forever(shard), name=f"cluster:follow:{shard}")
              for shard in range(self.keys.shards)),
            loop.create_task(self._keep_leases_forever(), name="cluster:leases"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for auction_id in list(self._served):
            try:
                await self.leases.release(auction_id)
            except Exception:
                pass
        await self.bus.close()
        await self.redis.aclose()
        await self._follow_redis.aclose()

    def stats(self) -> dict:
        return {"node": self.node, "writes": len(self._served), "follows": len(self._followed)}

    # ------------------------------------------------------------------ roles

    def serve(self, handle: Auction) -> None:
        self._served[handle.auction_id] = handle
        self._followed.pop(handle.auction_id)
        self.bus.serve(handle)

    def unserve(self, handle: Auction) -> None:
        self._served.pop(handle.auction_id, None)
        self.bus.unserve(handle.auction_id)

    async def follow(self, handle: Auction) -> None:
        """Follow an auction another process writes, knowing (or looking for) its writer."""
        self._followed.add(handle)
        await self._refresh_writers([handle.auction_id])

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(lambda t: t.cancelled() or t.exception() and log.warning(
            "cluster task failed: %s", t.exception()))

    # ------------------------------------------------------------------ following

    async def _follow_forever(self, shard: int) -> None:
        """The reader of one shard's followed streams (see the module's docstring)."""
        followed, changed = self._followed.shards[shard], self._followed.changed[shard]
        while True:
            if not followed:
                changed.clear()
                await changed.wait()
                continue
            streams = {self.keys.stream(a): f"{h.state.seq}-0" for a, h in followed.items()}
            by_key = {self.keys.stream(a): h for a, h in followed.items()}
            try:
                found = await self._read_streams(streams)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away, or a failover under way: try again shortly
                log.warning("following auctions: %s", exc)
                await asyncio.sleep(0.5)
                await self._reread_slots()
                continue
            batch = []
            for key, entries in found or ():
                handle = by_key.get(key.decode() if isinstance(key, bytes) else key)
                follower = handle.mode if handle is not None else None
                if not isinstance(follower, Replica):
                    continue
                batch.append((follower, [
                    (int(entry_id.split(b"-", 1)[0]), fields[b"e"]) for entry_id, fields in entries
                ]))
            try:  # shown only once proven durable (one fence per read; free with appendfsync always)
                await apply_batch(batch)
            except JournalUnavailable as exc:
                log.warning("following auctions: %s", exc)
                await asyncio.sleep(0.5)

    async def _read_streams(self, streams: dict[str, str]) -> Any:
        """One ``XREAD`` of one shard's streams. On a cluster it is sent to the master of the
        shard's slot as last read (``_reread_slots``): left to the cluster client, the keys of an
        ``XREAD`` are found by a ``COMMAND GETKEYS`` to the node the client first met, and after
        that node's failover every read fails on it until the process restarts (redis-py 8.1)."""
        if not self.keys.sharded:
            return await self._follow_redis.xread(streams, block=250, count=5000)
        cluster: RedisCluster = self._follow_redis  # type: ignore[assignment]
        slot = key_slot(next(iter(streams)).encode())
        return await cluster.execute_command(
            "XREAD", "COUNT", 5000, "BLOCK", 250, "STREAMS", *streams, *streams.values(),
            target_nodes=cluster.nodes_manager.get_node_from_slot(slot),
        )

    async def _reread_slots(self) -> None:
        """After a failed read on a cluster: which master serves which slot now."""
        if self.keys.sharded:
            try:
                await self._follow_redis.nodes_manager.initialize()  # type: ignore[attr-defined]
            except Exception as exc:  # no master for some slot yet: the next failure asks again
                log.warning("following auctions: %s", exc)

    # ------------------------------------------------------------------ leases

    async def _keep_leases_forever(self) -> None:
        period = self.leases.ttl_ms / 1000 / 3
        while True:
            await asyncio.sleep(period)
            try:
                lost = await self.leases.renew(self._served)
                for auction_id in lost:
                    handle = self._served.pop(auction_id, None)
                    if handle is not None:
                        self.bus.unserve(auction_id)
                        await self._demote(handle)
                        await self.follow(handle)
                await self._refresh_writers(list(self._followed))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: try again next period
                log.warning("lease upkeep failed: %s", exc)

    async def _refresh_writers(self, auction_ids: list[str]) -> None:
        """Who writes each followed auction now; take over those nobody writes."""
        owners = await self.leases.owners(auction_ids)
        for auction_id, owner in owners.items():
            handle = self._followed.get(auction_id)
            if handle is None:
                continue
            if owner is None:
                await self._take_over(auction_id)
            elif isinstance(handle.mode, Replica):
                handle.mode.writer = owner

    def _no_writer(self, auction_id: str) -> None:
        if auction_id in self._checking:
            return
        self._checking.add(auction_id)

        async def check() -> None:
            try:
                await self._refresh_writers([auction_id])
            finally:
                self._checking.discard(auction_id)

        self._spawn(check())

    async def _take_over(self, auction_id: str) -> None:
        handle = self._followed.get(auction_id)
        if handle is None or not await self.leases.acquire(auction_id):
            return
        self._followed.pop(auction_id)
        try:
            await self._promote(handle)
        except Exception:  # e.g. the journal cannot prove the catch-up durable: keep following
            self._followed.add(handle)
            try:
                await self.leases.release(auction_id)
            except Exception:
                pass  # the lease expires on its own
            raise
        self._served[auction_id] = handle
        self.bus.serve(handle)
