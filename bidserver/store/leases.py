"""Which process writes which auction: one lease per auction in Redis, with a time to live.

Several bidserver processes (on one machine or many) share one Redis. Each auction has exactly
one writer at a time, the process holding its lease (``<prefix>:owner:<auction_id>`` = the node
id, with a TTL); the writer renews its leases well within the TTL, and when a writer dies its
leases expire and another process takes the auction over. Correctness does not rest on the
lease alone: the journal's append script only appends an event at the next sequence number, so
two processes that both believe they write can never fork an auction (one write is refused,
that process reloads and, having lost the lease, stops writing).
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

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
    def __init__(self, redis: Redis, node: str, *, prefix: str = "bidserver", ttl_ms: int = 5000):
        self.redis = redis
        self.node = node
        self.prefix = prefix
        self.ttl_ms = ttl_ms
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def key(self, auction_id: str) -> str:
        return f"{self.prefix}:owner:{auction_id}"

    async def acquire(self, auction_id: str) -> bool:
        """Take (or keep) the lease if nobody else holds it."""
        return bool(await self._acquire(keys=[self.key(auction_id)], args=[self.node, self.ttl_ms]))

    async def renew(self, auction_ids: Iterable[str]) -> set[str]:
        """Extend every lease this node still holds; returns the auctions it no longer holds."""
        ids = list(auction_ids)
        if not ids:
            return set()
        lost = await self._renew(keys=[self.key(a) for a in ids], args=[self.node, self.ttl_ms])
        by_key = {self.key(a): a for a in ids}
        return {by_key[k.decode() if isinstance(k, bytes) else k] for k in lost}

    async def owners(self, auction_ids: Iterable[str]) -> dict[str, str | None]:
        ids = list(auction_ids)
        if not ids:
            return {}
        values = await self.redis.mget([self.key(a) for a in ids])
        return {a: (v.decode() if isinstance(v, bytes) else v) for a, v in zip(ids, values)}

    async def release(self, auction_id: str) -> None:
        await self._release(keys=[self.key(auction_id)], args=[self.node])
