"""Snapshots of auction states: where recovery starts instead of the first event.

A snapshot is a cache of the journal, never the truth: the runtime (``runtime.snapshots``) writes
one now and then, names the seq and chain hash it covers, and checks it against the journal before
it uses it; a snapshot lost, stale or refused only costs a longer replay. So the store keeps one
snapshot per auction, the newest: ``save`` never replaces a snapshot with an older one (two
writers after a take-over, a slow background write), in one atomic step.
"""

from __future__ import annotations

from typing import Protocol

from .journal import JournalUnavailable
from .redis_journal import REDIS_FAILURES, RedisJournal, map_redis_error

__all__ = ["MemorySnapshots", "RedisSnapshots", "Snapshots"]


class Snapshots(Protocol):
    """Every method may raise ``JournalUnavailable``."""

    async def save(self, auction_id: str, seq: int, data: bytes) -> bool:
        """Keep ``data`` as the auction's snapshot at ``seq`` unless a newer one is stored;
        returns whether it was kept."""
        ...

    async def load(self, auction_id: str) -> bytes | None: ...


class MemorySnapshots:
    """The in-memory twin; ``available = False`` makes every call raise ``JournalUnavailable``."""

    def __init__(self) -> None:
        self._stored: dict[str, tuple[int, bytes]] = {}
        self.available = True

    def _check(self) -> None:
        if not self.available:
            raise JournalUnavailable("memory snapshots switched off")

    async def save(self, auction_id: str, seq: int, data: bytes) -> bool:
        self._check()
        stored = self._stored.get(auction_id)
        if stored is not None and stored[0] >= seq:
            return False
        self._stored[auction_id] = (seq, bytes(data))
        return True

    async def load(self, auction_id: str) -> bytes | None:
        self._check()
        stored = self._stored.get(auction_id)
        return stored[1] if stored is not None else None

    def replace(self, auction_id: str, data: bytes) -> None:
        """Test hook: overwrite the stored snapshot as someone editing the store by hand could."""
        seq = self._stored[auction_id][0] if auction_id in self._stored else 0
        self._stored[auction_id] = (seq, bytes(data))


# KEYS: 1 the snapshot hash; ARGV: 1 seq, 2 data. Returns 1 when kept, 0 when a newer one is stored.
_SAVE = """
local stored = redis.call('HGET', KEYS[1], 'seq')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'data', ARGV[2])
return 1
"""


class RedisSnapshots:
    """One hash per auction beside its journal (``RedisJournal.snapshot_key``: archiving an
    auction deletes it with the stream), with fields ``seq`` and ``data``.

    Written without WAITAOF or a fence: a snapshot lost in a crash is only a longer replay, and
    whatever it says is checked against the (durable) journal before use.
    """

    def __init__(self, journal: RedisJournal) -> None:
        self._redis = journal.redis
        self._key = journal.snapshot_key
        self._save = self._redis.register_script(_SAVE)

    async def save(self, auction_id: str, seq: int, data: bytes) -> bool:
        try:
            kept = await self._save(keys=[self._key(auction_id)], args=[seq, data])
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return bool(kept)

    async def load(self, auction_id: str) -> bytes | None:
        try:
            return await self._redis.hget(self._key(auction_id), "data")
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
