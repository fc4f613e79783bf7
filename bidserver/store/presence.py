"""Which suppliers have a live room open, shared by every server process through Redis.

One hash per auction, ``<prefix>:presence:<auction_id>``, two kinds of fields:

* ``<supplier>|<node>``: the process ``<node>`` holds at least one live-room socket of the
  supplier; the value is that process's clock (ms) when it last said so. Each process says it
  again every ``heartbeat_ms`` while the socket is open, and deletes the field when its last one
  closes. A field older than ``stale_ms`` is a process that stopped without closing (killed): its
  sockets are gone, and its value is when the supplier was last known to be there.
* ``<supplier>``: when the supplier's last socket on some process closed (the latest such time).

A supplier is online while one of its node fields is fresh. Ids cannot hold ``|`` (suppliers are
invited by ``Id``, nodes are ``host:pid:hex``), so a field names one supplier and one node. Every
write sets the key to expire ``ttl_ms`` later: an auction nobody connects to any more is forgotten.

A write is one script call (atomic: a reader never sees a supplier gone from one node without its
time), and publishes the changed auctions' ids on ``<prefix>:presence`` (a JSON list) so that the
processes with buyers watching read them again. Nothing here is an auction event: the journal
never sees it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec
from redis.asyncio.client import PubSub

from .connect import redis_client

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
    def __init__(
        self, url: str, *, node: str, prefix: str, heartbeat_ms: int, ttl_ms: int = 7 * 86_400_000
    ) -> None:
        self.node = node
        self.heartbeat_ms = heartbeat_ms
        self.stale_ms = 3 * heartbeat_ms  # two heartbeats may be late; the third means gone
        self.channel = f"{prefix}:presence"
        self._prefix = prefix
        self._ttl_ms = ttl_ms
        self._redis = redis_client(
            url, socket_timeout=2.0, socket_connect_timeout=1.0, client_name="bidserver-presence"
        )
        self._write = self._redis.register_script(_WRITE)

    def key(self, auction_id: str) -> str:
        return f"{self._prefix}:presence:{auction_id}"

    async def write(self, changes: Sequence[Change], now: int, *, nudge: bool) -> None:
        """Record ``changes`` (this node's own), and with ``nudge`` tell every process which
        auctions changed (heartbeats change nothing anyone sees and are not announced)."""
        if not changes:
            return
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

    def pubsub(self) -> PubSub:
        return self._redis.pubsub()

    @staticmethod
    def nudged(data: bytes) -> list[str]:
        """The auction ids a message on ``channel`` names."""
        return _ids.decode(data)

    async def close(self) -> None:
        await self._redis.aclose()
