"""Which process writes which auction: one lease per auction in Redis, with a time to live.

Several bidserver processes (on one machine or many) share one Redis. Each auction has exactly
one writer at a time, the process holding its lease (``KeySpace.owner``: ``<prefix>:owner:<id>``
on one Redis, in the auction's slot on a cluster; its value is the node id, with a TTL); the writer renews its leases well within the TTL, and when a writer dies its
leases expire and another process takes the auction over. Correctness does not rest on the
lease alone: the journal's append script only appends an event at the next sequence number, so
two processes that both believe they write can never fork an auction (one write is refused,
that process reloads and, having lost the lease, stops writing).

Why the leases are renewed and looked up per shard: on a Redis Cluster a script or an ``MGET``
may only touch keys of one slot, and a lease lives in its auction's shard's slot. So the many
leases of a process are grouped by shard, one call per shard, all at once; on one Redis there is
one shard and so one call, as ever. After a failover the cluster client finds the slots' new
master by itself; a call during the failover fails and the upkeep tries again next period.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from redis.asyncio import Redis

from .keyspace import KeySpace

# KEYS: lease keys. ARGV: 1 node, 2 ttl ms. Returns the keys this node does NOT hold.
_RENEW = """
local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
  else
    table.insert(lost, key)
  end
end
return lost
"""

# KEYS: 1 lease key. ARGV: 1 node, 2 ttl ms. Returns 1 when this node holds it afterwards.
_ACQUIRE = """
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if owner then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leases:
    def __init__(self, redis: Redis, node: str, keys: KeySpace, *, ttl_ms: int = 5000):
        self.redis = redis
        self.node = node
        self.keys = keys
        self.ttl_ms = ttl_ms
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def key(self, auction_id: str) -> str:
        return self.keys.owner(auction_id)

    def _by_shard(self, auction_ids: Iterable[str]) -> list[list[str]]:
        shards: dict[int, list[str]] = {}
        for auction_id in auction_ids:
            shards.setdefault(self.keys.shard(auction_id), []).append(auction_id)
        return list(shards.values())

    async def acquire(self, auction_id: str) -> bool:
        """Take (or keep) the lease if nobody else holds it."""
        return bool(await self._acquire(keys=[self.key(auction_id)], args=[self.node, self.ttl_ms]))

    async def renew(self, auction_ids: Iterable[str]) -> set[str]:
        """Extend every lease this node still holds; returns the auctions it no longer holds."""

        async def renew_shard(ids: list[str]) -> list[str]:
            lost = await self._renew(keys=[self.key(a) for a in ids], args=[self.node, self.ttl_ms])
            by_key = {self.key(a): a for a in ids}
            return [by_key[k.decode() if isinstance(k, bytes) else k] for k in lost]

        lost = await asyncio.gather(*(renew_shard(ids) for ids in self._by_shard(auction_ids)))
        return {a for shard in lost for a in shard}

    async def owners(self, auction_ids: Iterable[str]) -> dict[str, str | None]:
        async def owners_in_shard(ids: list[str]) -> dict[str, str | None]:
            values = await self.redis.mget([self.key(a) for a in ids])
            return {a: (v.decode() if isinstance(v, bytes) else v) for a, v in zip(ids, values)}

        found = await asyncio.gather(*(owners_in_shard(ids) for ids in self._by_shard(auction_ids)))
        return {a: owner for shard in found for a, owner in shard.items()}

    async def release(self, auction_id: str) -> None:
        await self._release(keys=[self.key(auction_id)], args=[self.node])
