"""The auction listing on Redis: one hash of entries and a sorted set per listing filter.

Keys (``<p>`` is ``keys.single_slot("listing")`` of the journal's ``KeySpace``: its prefix,
``bidserver`` by default, on one Redis; ``<prefix>:{listing}`` on a Redis Cluster):

* ``<p>:listing`` -- hash, field ``<auction_id>``, value the JSON-encoded ``ListingEntry``;
* ``<p>:list:buyer:<org>`` and ``<p>:list:buyer:<org>:<state>`` -- sorted sets of the auctions of
  a buyer organisation, all states and one state;
* ``<p>:list:supplier:<id>`` and ``<p>:list:supplier:<id>:<state>`` -- the same for each invited
  supplier.

In the index keys, ``%`` and ``:`` of an organisation, supplier or state are written ``%25`` and
``%3A``: ids come from tokens and may contain anything, and without escaping the all-states index
of a buyer named ``acme:open`` would be the ``open`` index of buyer ``acme`` (one organisation
listing another's auctions).

Why every member has score 0 and reads ``<15 digits>:<auction_id>``, the digits being
``10**15 - 1 - created_at``: with equal scores Redis orders a sorted set by the members' bytes, so
ascending order is newest first, ties by auction_id, and the next page is one
``ZRANGE key (<member> + BYLEX LIMIT 0 n``, strictly after the cursor's position. Scores
(``BYSCORE``) cannot express the exclusive bound on the pair (created_at, auction_id).

Why ``put`` reads first and then runs a compare-and-set script: the indexes to leave depend on the
stored entry (its buyer, suppliers, state), and a script must be given every key it touches
(``KEYS``) for Redis to route and check it. So ``put`` reads the stored entry, decides (an older
``seq`` is ignored), and passes the old and the new entry's index keys to one script, which
applies the move only if the stored entry is still the one that was read (else the read is
retried: another put landed in between, so every retry follows progress). The move is atomic:
no reader sees an entry in two state indexes or an index member without its entry. A page is one
read-only script too (the index range and the entries of that range), so it is a snapshot.

Scale-out (Redis Cluster): both scripts touch the entries hash and several index sets, which a
cluster refuses unless they share a slot (CROSSSLOT). So on a cluster every key above carries one
hash tag (``<prefix>:{listing}...``): one slot, the scripts unchanged, at the cost of the listing
living on one master. That is cheap: per auction one hash field of a few hundred bytes and 2 + 2 x
suppliers set members, read 51 to 201 members at a time, while the write-heavy journal streams
shard by auction. On one Redis the names are those of earlier releases; a cluster starts empty,
and the listing is derived anyway (the runtime rebuilds it from the journal).

Redis errors are mapped as the journal's are (``JournalUnavailable`` when Redis cannot answer or
write now). The client is the caller's, typically shared with the journal or the leases, with its
timeouts: ``close`` leaves it open.
"""

from __future__ import annotations

import msgspec
from redis.asyncio import Redis

from .awards import DEFAULT_PREFIX
from .keyspace import KeySpace
from .listing import (
    CREATED_AT_BOUND,
    ListingEntry,
    Page,
    check_entry,
    check_filter,
    clamp_limit,
    decode_cursor,
    encode_cursor,
)
from .redis_journal import REDIS_FAILURES, map_redis_error

__all__ = ["RedisListing"]

_DIGITS = len(str(CREATED_AT_BOUND - 1))

# KEYS: 1 entries hash, 2..1+n_old the stored entry's indexes, then the new entry's indexes.
# ARGV: 1 auction_id, 2 the stored entry as read ('' = none), 3 the new entry,
#       4 the stored entry's member, 5 the new member, 6 n_old.
# Returns 1 when applied, 0 when the stored entry changed since it was read.
_PUT = """
if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then return 0 end
local n_old = tonumber(ARGV[6])
for i = 2, 1 + n_old do redis.call('ZREM', KEYS[i], ARGV[4]) end
for i = 2 + n_old, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[5]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# KEYS: 1 index, 2 entries hash. ARGV: 1 lower bound ('-' or '(' .. member), 2 count.
# Returns the entries of the next count members, in index order.
_PAGE = f"""
local members = redis.call('ZRANGE', KEYS[1], ARGV[1], '+', 'BYLEX', 'LIMIT', 0, ARGV[2])
if #members == 0 then return {{}} end
local ids = {{}}
for i, m in ipairs(members) do ids[i] = string.sub(m, {_DIGITS + 2}) end
return redis.call('HMGET', KEYS[2], unpack(ids))
"""


def _member(created_at: int, auction_id: str) -> str:
    return f"{CREATED_AT_BOUND - 1 - created_at:0{_DIGITS}d}:{auction_id}"


def _escape(part: str) -> str:
    return part.replace("%", "%25").replace(":", "%3A")


class RedisListing:
    """``Listing`` on Redis (see the module docstring for the keys and why): ``redis`` the
    journal's client, ``keys`` its ``KeySpace`` (the default prefix on one Redis if not given)."""

    def __init__(self, redis: Redis, *, keys: KeySpace | None = None) -> None:
        self._redis = redis
        self.base = (keys or KeySpace(DEFAULT_PREFIX)).single_slot("listing")
        self.entries_key = f"{self.base}:listing"
        self._put = redis.register_script(_PUT)
        self._page = redis.register_script(_PAGE)
        self._decoder = msgspec.json.Decoder(ListingEntry)

    def index_key(self, kind: str, party: str, state: str | None = None) -> str:
        """The sorted set of ``kind`` ("buyer" or "supplier") ``party``, in ``state`` if given."""
        key = f"{self.base}:list:{kind}:{_escape(party)}"
        return key if state is None else f"{key}:{_escape(state)}"

    def _index_keys(self, entry: ListingEntry) -> list[str]:
        """The buyer's and each invited supplier's index, all states and the entry's state."""
        parties = [("buyer", entry.buyer), *(("supplier", s) for s in dict.fromkeys(entry.suppliers))]
        keys: list[str] = []
        for kind, party in parties:
            keys += [self.index_key(kind, party), self.index_key(kind, party, entry.state)]
        return keys

    async def put(self, entry: ListingEntry) -> None:
        check_entry(entry)
        new = msgspec.json.encode(entry)
        new_keys = self._index_keys(entry)
        member = _member(entry.created_at, entry.auction_id)
        try:
            while True:
                stored = await self._redis.hget(self.entries_key, entry.auction_id)
                if stored is None:
                    old_keys: list[str] = []
                    old_member = ""
                else:
                    old = self._decoder.decode(stored)
                    if old.seq > entry.seq or old == entry:
                        return
                    old_keys = self._index_keys(old)
                    old_member = _member(old.created_at, old.auction_id)
                applied = await self._put(
                    keys=[self.entries_key, *old_keys, *new_keys],
                    args=[entry.auction_id, stored or "", new, old_member, member, len(old_keys)],
                )
                if applied:
                    return
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc

    async def page(
        self,
        *,
        buyer: str | None = None,
        supplier: str | None = None,
        state: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        check_filter(buyer, supplier)
        start = "-" if cursor is None else "(" + _member(*decode_cursor(cursor))
        limit = clamp_limit(limit)
        if buyer is not None:
            key = self.index_key("buyer", buyer, state)
        else:
            assert supplier is not None  # check_filter: exactly one is given
            key = self.index_key("supplier", supplier, state)
        try:
            raw = await self._page(keys=[key, self.entries_key], args=[start, limit + 1])
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        entries = [self._decoder.decode(r) for r in raw]
        items = entries[:limit]
        more = len(entries) > limit
        return Page(items=items, next_cursor=encode_cursor(items[-1]) if more else None)

    async def get(self, auction_id: str) -> ListingEntry | None:
        try:
            stored = await self._redis.hget(self.entries_key, auction_id)
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return None if stored is None else self._decoder.decode(stored)

    async def close(self) -> None:
        """Nothing to release: the client is the caller's (see the module docstring)."""
