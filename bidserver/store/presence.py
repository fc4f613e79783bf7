"""Which suppliers have a live room open, shared by every server process through Redis.

One hash per auction, ``KeySpace.presence`` (``<prefix>:presence:<auction_id>`` on one Redis, in
the auction's shard on a Redis Cluster), two kinds of fields:

* ``<supplier>|<node>``: the process ``<node>`` holds at least one live-room socket of the
  supplier; the value is that process's clock (ms) when it last said so. Each process says it
  again every ``heartbeat_ms`` while the socket is open, and deletes the field when its last one
  closes. A field older than ``stale_ms`` is a process that stopped without closing (killed): its
  sockets are gone, and its value is when the supplier was last known to be there.
* ``<supplier>``: when the supplier's last socket on some process closed (the latest such time).

A supplier is online while one of its node fields is fresh. Ids cannot hold ``|`` (suppliers are
invited by ``Id``, nodes are ``host:pid:hex``), so a field names one supplier and one node. Every
write sets the key to expire ``ttl_ms`` later: an auction nobody connects to any more is forgotten.

A write is one script call per shard (atomic: a reader never sees a supplier gone from one node
without its time; one call on one Redis, where everything is one shard; on a cluster a script's
keys must share a slot, and a shard is one), and publishes the changed auctions' ids on
``<prefix>:presence`` (a JSON list) so that the processes with buyers watching read them again.
Nothing here is an auction event: the journal never sees it.

Why plain pub/sub on a cluster too: a ``PUBLISH`` reaches every node's subscribers (the cluster
bus forwards it), so one channel serves every shard and a subscriber needs one connection to any
node (``RedisCluster.pubsub``: ``subscribe``). Sharded pub/sub would spare the forwarding, but would need a
channel per shard and a subscription to each; a nudge is sent when a supplier comes or goes, not
per bid, so the forwarding costs little.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import msgspec
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster

from .connect import redis_client
from .keyspace import KeySpace

SUBSCRIBE_TIMEOUT_S = 5.0

# KEYS: presence hashes. ARGV: 1 node, 2 now ms, 3 ttl ms, 4 channel, 5 message ("" publishes
# nothing), then per change 4 values: the index of its key in KEYS, the supplier, "1" (it has a
# socket on this node) or "0" (its last one here closed), and the time it closed (ms).
_WRITE = """
local node, now, ttl = ARGV[1], ARGV[2], ARGV[3]
for i = 6, #ARGV, 4 do
  local key, supplier = KEYS[tonumber(ARGV[i])], ARGV[i + 1]
  if ARGV[i + 2] == '1' then
    redis.call('HSET', key, supplier .. '|' .. node, now)
  else
    redis.call('HDEL', key, supplier .. '|' .. node)
    local gone = tonumber(ARGV[i + 3])
    if gone > tonumber(redis.call('HGET', key, supplier) or '0') then
      redis.call('HSET', key, supplier, gone)
    end
  end
end
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ttl) end
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 0
"""

Change = tuple[str, str, bool, int]  # auction, supplier, has a socket here, when it left (ms)
Seen = tuple[bool, int | None]  # online, and when last seen leaving (None: online, or never)

_ids = msgspec.json.Decoder(list[str])


class RedisPresence:
    """Presence on the Redis ``url`` names, with the journal's ``keys`` (its ``KeySpace``)."""

    def __init__(
        self, url: str, *, node: str, keys: KeySpace, heartbeat_ms: int,
        ttl_ms: int = 7 * 86_400_000,
    ) -> None:
        self.node = node
        self.heartbeat_ms = heartbeat_ms
        self.stale_ms = 3 * heartbeat_ms  # two heartbeats may be late; the third means gone
        self.channel = f"{keys.prefix}:presence"
        self.keys = keys
        self._ttl_ms = ttl_ms
        self._redis = redis_client(
            url, socket_timeout=2.0, socket_connect_timeout=1.0, client_name="bidserver-presence"
        )
        self._write = self._redis.register_script(_WRITE)

    def key(self, auction_id: str) -> str:
        return self.keys.presence(auction_id)

    async def write(self, changes: Sequence[Change], now: int, *, nudge: bool) -> None:
        """Record ``changes`` (this node's own), and with ``nudge`` tell every process which
        auctions changed (heartbeats change nothing anyone sees and are not announced): one
        script call per shard, all at once, each announcing its own auctions."""
        by_shard: dict[int, list[Change]] = {}
        for change in changes:
            by_shard.setdefault(self.keys.shard(change[0]), []).append(change)
        if not by_shard:
            return
        # A no-op but the first time: redis-py 8.1's cluster client, given concurrent calls
        # before it knows the slots, fails some of them (AttributeError on a new connection).
        await self._redis.initialize()
        done = await asyncio.gather(
            *(self._write_shard(c, now, nudge) for c in by_shard.values()), return_exceptions=True
        )
        failures = [d for d in done if isinstance(d, BaseException)]
        if failures:  # every call was awaited; the caller writes all its changes again
            raise failures[0]

    async def _write_shard(self, changes: list[Change], now: int, nudge: bool) -> None:
        keys: dict[str, int] = {}
        args: list[str | int] = []
        for auction_id, supplier, here, left_at in changes:
            index = keys.setdefault(self.key(auction_id), len(keys) + 1)
            args += [index, supplier, "1" if here else "0", left_at]
        message = msgspec.json.encode(sorted({c[0] for c in changes})).decode() if nudge else ""
        await self._write(
            keys=list(keys),
            args=[self.node, now, self._ttl_ms, self.channel, message, *args],
        )

    async def read(self, auction_ids: Iterable[str], now: int) -> dict[str, dict[str, Seen]]:
        """Each auction's suppliers with a record, as seen at ``now`` (this process's clock)."""
        ids = list(auction_ids)
        async with self._redis.pipeline(transaction=False) as pipe:
            for auction_id in ids:
                pipe.hgetall(self.key(auction_id))
            found = await pipe.execute()
        return {auction_id: self._seen(fields, now) for auction_id, fields in zip(ids, found)}

    def _seen(self, fields: dict[bytes, bytes], now: int) -> dict[str, Seen]:
        online: set[str] = set()
        left: dict[str, int] = {}
        for name, value in fields.items():
            supplier, _, node = name.decode().partition("|")
            at = int(value)
            if node and at >= now - self.stale_ms:
                online.add(supplier)
            elif at > left.get(supplier, 0):
                left[supplier] = at
        return {
            supplier: (True, None) if supplier in online else (False, left[supplier])
            for supplier in online | left.keys()
        }

    async def subscribe(self) -> PubSub:
        """A subscriber to ``channel``, subscribed. On a cluster a ``ClusterPubSub``, on the node
        that serves the channel's slot now: the slots are read again first, for after a failure
        a new subscriber is taken, and the node listened to before may be gone for good."""
        await self._redis.initialize()  # the first time: the slots and the command table
        if isinstance(self._redis, RedisCluster):
            await self._redis.nodes_manager.initialize()
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            # Returned once the node confirmed it: any change after the caller's next read is
            # announced to this subscriber.
            deadline = asyncio.get_running_loop().time() + SUBSCRIBE_TIMEOUT_S
            while (message := await pubsub.get_message(timeout=0.5)) is None \
                    or message["type"] != "subscribe":
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"no confirmation of SUBSCRIBE {self.channel}")
        except BaseException:
            await pubsub.aclose()
            raise
        return pubsub

    @staticmethod
    def nudged(data: bytes) -> list[str]:
        """The auction ids a message on ``channel`` names."""
        return _ids.decode(data)

    async def close(self) -> None:
        await self._redis.aclose()
