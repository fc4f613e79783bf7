"""Where signed tree heads are kept: beside the journal, one stream per auction.

Why a stream: heads only ever follow each other, ordered by the tree size they cover, so the
entry id ``<tree_size>-0`` orders them and Redis itself refuses one that goes backwards. A head is
stored only on top of the head its signer continued from (``append``'s ``after_size``, checked
and written in one script): two processes that both think they write an auction (a take-over in
progress) cannot interleave heads computed from different starting points; the one refused reads
the stored head and continues from it. A retry of a stored head is a no-op.

Each head is stored with what the next one needs (``HeadRecord``): the chain hash of its last
entry (the next entry's ``prev``) and the Merkle frontier at its size, so the signer continues
the tree without reading the entries before it. Neither is trusted: the frontier must give the
signed root and the next entries must link to that hash, or the signer starts from entry 1.

Heads stay when an auction is archived and trimmed (they are what proves its archive complete).
The public keys that signed them are kept too, by key id, so an export made anywhere carries the
keys it needs. Writes are plain (no WAITAOF): a head lost in a crash is signed again from the
durable journal; it never covers an entry that was not durable (the signer reads durably).
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from ..failures import UNREADABLE
from .journal import JournalError, JournalUnavailable
from .redis_journal import REDIS_FAILURES, RedisJournal, map_redis_error
from .tree_heads import SignedTreeHead

__all__ = ["HeadConflict", "HeadRecord", "MemoryTreeHeads", "RedisTreeHeads", "TreeHeads"]


class HeadRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A stored head and what continuing the tree after it takes (both unsigned hints)."""

    head: SignedTreeHead
    entry_hash: str  # the chain hash of entry ``head.tree_size``
    frontier: tuple[str, ...]  # ``merkle.Frontier.hashes`` at ``head.tree_size``, hex


class HeadConflict(Exception):
    """The auction's last stored head is not the one the new head continues from."""

    def __init__(self, auction_id: str, after_size: int, last_size: int) -> None:
        self.last_size = last_size
        super().__init__(
            f"auction {auction_id!r}: a tree head continuing from size {after_size} is not "
            f"stored: the last stored head covers {last_size} entries"
        )


class TreeHeads(Protocol):
    """Every method may raise ``JournalUnavailable``."""

    async def append(self, record: HeadRecord, after_size: int) -> None:
        """Store ``record`` if the auction's last stored head covers ``after_size`` entries (0:
        none is stored), else ``HeadConflict``; storing the same record again is a no-op."""
        ...

    async def last(self, auction_id: str) -> HeadRecord | None: ...

    async def read(self, auction_id: str) -> list[HeadRecord]:
        """Every stored head of the auction, by tree size."""
        ...

    async def add_key(self, key_id: str, public: bytes) -> None:
        """Publish a signing key's raw public key under its id (idempotent)."""
        ...

    async def keys(self) -> dict[str, bytes]: ...


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(HeadRecord).decode


def _record(key: str, entry_id: bytes, fields: dict[bytes, bytes]) -> HeadRecord:
    """A stored head, or ``JournalError`` naming it if it is not one (edited by hand)."""
    try:
        return _decode(fields[b"r"])
    except (KeyError, *UNREADABLE) as exc:
        raise JournalError(f"{key} {entry_id.decode()} is not a stored tree head: {exc}") from None


class MemoryTreeHeads:
    """The in-memory twin; ``available = False`` makes every call raise ``JournalUnavailable``."""

    def __init__(self) -> None:
        self._heads: dict[str, list[HeadRecord]] = {}
        self._keys: dict[str, bytes] = {}
        self.available = True

    def _check(self) -> None:
        if not self.available:
            raise JournalUnavailable("memory tree heads switched off")

    async def append(self, record: HeadRecord, after_size: int) -> None:
        self._check()
        heads = self._heads.setdefault(record.head.auction_id, [])
        last = heads[-1].head.tree_size if heads else 0
        if last == after_size < record.head.tree_size:
            heads.append(record)
        elif not (heads and heads[-1] == record):
            raise HeadConflict(record.head.auction_id, after_size, last)

    async def last(self, auction_id: str) -> HeadRecord | None:
        self._check()
        heads = self._heads.get(auction_id)
        return heads[-1] if heads else None

    async def read(self, auction_id: str) -> list[HeadRecord]:
        self._check()
        return list(self._heads.get(auction_id, ()))

    async def add_key(self, key_id: str, public: bytes) -> None:
        self._check()
        self._keys[key_id] = public

    async def keys(self) -> dict[str, bytes]:
        self._check()
        return dict(self._keys)


# KEYS: 1 the auction's heads stream. ARGV: 1 after_size, 2 tree_size, 3 the record (JSON).
# Returns {1} stored, {0} the same record is stored already (a retry), {-1, last} the last stored
# head covers ``last`` entries, not after_size.
_APPEND = """
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local last = 0
if #top > 0 then last = tonumber(string.match(top[1][1], '^(%d+)')) end
if last == tonumber(ARGV[1]) then
  redis.call('XADD', KEYS[1], ARGV[2] .. '-0', 'r', ARGV[3])
  return {1}
end
if last == tonumber(ARGV[2]) and top[1][2][2] == ARGV[3] then return {0} end
return {-1, last}
"""


class RedisTreeHeads:
    """``journal.keys.heads(auction_id)`` (``<prefix>:heads:<auction_id>`` on one Redis, in the
    auction's shard on a cluster): stream, entry id ``<tree_size>-0``, field ``r`` the
    ``HeadRecord`` (JSON); ``<p>:signing-keys``, ``<p>`` the ``single_slot("signing-keys")``
    base (``<prefix>`` on one Redis): hash, key id -> raw public key (hex)."""

    def __init__(self, journal: RedisJournal) -> None:
        self._redis = journal.redis
        self.heads_key = journal.keys.heads
        self.keys_key = f"{journal.keys.single_slot('signing-keys')}:signing-keys"
        self._append = self._redis.register_script(_APPEND)

    async def append(self, record: HeadRecord, after_size: int) -> None:
        head = record.head
        if head.tree_size <= after_size:
            raise ValueError(f"a head of size {head.tree_size} does not follow size {after_size}")
        try:
            res = await self._append(
                keys=[self.heads_key(head.auction_id)],
                args=[after_size, head.tree_size, _encode(record)],
            )
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        if int(res[0]) < 0:
            raise HeadConflict(head.auction_id, after_size, int(res[1]))

    async def last(self, auction_id: str) -> HeadRecord | None:
        try:
            top = await self._redis.xrevrange(self.heads_key(auction_id), count=1)
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return _record(self.heads_key(auction_id), *top[0]) if top else None

    async def read(self, auction_id: str) -> list[HeadRecord]:
        try:
            entries = await self._redis.xrange(self.heads_key(auction_id))
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        key = self.heads_key(auction_id)
        return [_record(key, entry_id, fields) for entry_id, fields in entries]

    async def add_key(self, key_id: str, public: bytes) -> None:
        try:
            await self._redis.hset(self.keys_key, key_id, public.hex())
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc

    async def keys(self) -> dict[str, bytes]:
        try:
            stored = await self._redis.hgetall(self.keys_key)
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return {k.decode(): bytes.fromhex(v.decode()) for k, v in stored.items()}
