"""The in-memory twin of ``RedisSuppliers``: the same semantics without Redis (nothing survives
the process), for the layers above and their tests. It keeps each index as a sorted list of the
same member bytes Redis would hold, and walks a search the way the Redis script does (the set with
the fewest members in the range, the same scan budget), so pages and cursors come out the same;
the contract suite (``tests/store/test_suppliers_store.py``) holds it to that.

Test hook: ``available = False`` makes every call raise ``JournalUnavailable``, as
``RedisSuppliers`` does when Redis is down.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence

import msgspec

from .journal import JournalUnavailable
from .suppliers import (
    DEFAULT_SCAN_BUDGET,
    IdentifierTaken,
    Indexed,
    Page,
    VersionConflict,
    check_append,
    check_id,
    check_tag,
    clamp_limit,
    encode_cursor,
    fold,
    id_of,
    lex_range,
    member,
)

__all__ = ["MemorySuppliers"]


class _Stored(msgspec.Struct, frozen=True):
    record: bytes
    version: int
    name: str  # folded
    code: str
    tags: frozenset[str]


class _Index:
    """A sorted set of score-0 members: bytes in byte order, as Redis keeps them."""

    def __init__(self) -> None:
        self.members: list[bytes] = []

    def add(self, m: bytes) -> None:
        i = bisect.bisect_left(self.members, m)
        if i == len(self.members) or self.members[i] != m:
            self.members.insert(i, m)

    def remove(self, m: bytes) -> None:
        i = bisect.bisect_left(self.members, m)
        if i < len(self.members) and self.members[i] == m:
            del self.members[i]

    def __contains__(self, m: bytes) -> bool:
        i = bisect.bisect_left(self.members, m)
        return i < len(self.members) and self.members[i] == m

    def between(self, low: bytes, high: bytes) -> Iterator[bytes]:
        """The members within ``ZRANGE ... BYLEX`` bounds (``-``, ``+``, ``[x``, ``(x``)."""
        if low == b"-":
            start = 0
        elif low.startswith(b"["):
            start = bisect.bisect_left(self.members, low[1:])
        else:
            start = bisect.bisect_right(self.members, low[1:])
        for m in self.members[start:]:
            if high != b"+" and (m >= high[1:] if high.startswith(b"(") else m > high[1:]):
                return
            yield m


class MemorySuppliers:
    """``Suppliers`` in memory (see the module docstring)."""

    def __init__(self, *, scan_budget: int = DEFAULT_SCAN_BUDGET) -> None:
        if scan_budget < 1:
            raise ValueError(f"scan budget must be positive: {scan_budget}")
        self.scan_budget = scan_budget
        self.available = True
        self._stored: dict[str, _Stored] = {}
        self._logs: dict[str, list[bytes]] = {}
        self._owners: dict[str, str] = {}
        self._all = _Index()
        self._codes = _Index()
        self._tags: dict[str, _Index] = {}
        self._due: dict[str, int] = {}
        self._events: dict[str, set[str]] = {}

    def _check(self) -> None:
        if not self.available:
            raise JournalUnavailable("memory suppliers switched off")

    async def append(
        self,
        supplier_id: str,
        expected_version: int,
        events: Sequence[bytes],
        record: bytes,
        indexed: Indexed,
        due_at: int | None,
    ) -> int:
        check_append(supplier_id, expected_version, events, indexed, due_at)
        self._check()
        old = self._stored.get(supplier_id)
        stored = old.version if old else 0
        log = self._logs.get(supplier_id, [])
        if stored != expected_version:
            retry = old is not None and old.record == record
            if retry and stored == expected_version + len(events) \
                    and log[expected_version:] == list(events):
                return stored
            raise VersionConflict(supplier_id, expected_version, stored)
        owner = self._owners.get(indexed.code)
        if owner is not None and owner != supplier_id:
            raise IdentifierTaken(supplier_id, indexed.code, owner)
        self._logs[supplier_id] = [*log, *(bytes(e) for e in events)]
        new = _Stored(bytes(record), stored + len(events), fold(indexed.name), indexed.code,
                      frozenset(indexed.tags))
        if old is not None:
            self._unfile(supplier_id, old)
        self._file(supplier_id, new)
        if due_at is None:
            self._due.pop(supplier_id, None)
        else:
            self._due[supplier_id] = due_at
        self._stored[supplier_id] = new
        return new.version

    def _unfile(self, supplier_id: str, old: _Stored) -> None:
        m = member(old.name, supplier_id)
        self._all.remove(m)
        for tag in old.tags:
            index = self._tags[tag]
            index.remove(m)
            if not index.members:
                del self._tags[tag]
        self._codes.remove(member(old.code, supplier_id))
        if self._owners.get(old.code) == supplier_id:
            del self._owners[old.code]

    def _file(self, supplier_id: str, new: _Stored) -> None:
        m = member(new.name, supplier_id)
        self._all.add(m)
        for tag in new.tags:
            self._tags.setdefault(tag, _Index()).add(m)
        self._codes.add(member(new.code, supplier_id))
        self._owners[new.code] = supplier_id

    async def get(self, supplier_id: str) -> tuple[bytes, int] | None:
        check_id(supplier_id)
        self._check()
        stored = self._stored.get(supplier_id)
        return None if stored is None else (stored.record, stored.version)

    async def get_many(self, supplier_ids: Sequence[str]) -> list[tuple[bytes, int] | None]:
        return [await self.get(supplier_id) for supplier_id in supplier_ids]

    async def log(self, supplier_id: str) -> list[bytes]:
        check_id(supplier_id)
        self._check()
        return list(self._logs.get(supplier_id, ()))

    async def by_code(self, code: str) -> str | None:
        self._check()
        return self._owners.get(code)

    async def search(
        self,
        prefix: str = "",
        tags: Sequence[str] = (),
        after: str | None = None,
        limit: int = 50,
    ) -> Page:
        for tag in tags:
            check_tag(tag)
        low, high = lex_range(fold(prefix), after)
        self._check()
        limit = clamp_limit(limit)
        sets = [self._tags.get(t, _Index()) for t in dict.fromkeys(tags)] or [self._all]
        walked = sets[0]
        if len(sets) > 1:  # as the script: the set with the fewest members in the range
            walked = min(sets, key=lambda s: sum(1 for _ in s.between(low, high)))
        found: list[bytes] = []
        seen = 0
        for m in walked.between(low, high):
            seen += 1
            if all(m in s for s in sets if s is not walked):
                found.append(m)
                if len(found) == limit:
                    return Page([id_of(f) for f in found], encode_cursor(m))
            if seen == self.scan_budget:
                return Page([id_of(f) for f in found], encode_cursor(m))
        return Page([id_of(f) for f in found], None)

    async def search_code(self, prefix: str, after: str | None = None, limit: int = 50) -> Page:
        low, high = lex_range(prefix, after)
        self._check()
        limit = clamp_limit(limit)
        members = []
        for m in self._codes.between(low, high):
            members.append(m)
            if len(members) == limit:
                return Page([id_of(x) for x in members], encode_cursor(m))
        return Page([id_of(x) for x in members], None)

    async def count(self, tag: str | None = None) -> int:
        if tag is not None:
            check_tag(tag)
        self._check()
        index = self._all if tag is None else self._tags.get(tag, _Index())
        return len(index.members)

    async def due(self, now: int, limit: int) -> list[str]:
        self._check()
        queued = sorted((at, i.encode()) for i, at in self._due.items() if at <= now)
        return [i.decode() for _at, i in queued[: max(1, limit)]]

    async def note_invitation(self, supplier_id: str, event_id: str) -> None:
        check_id(supplier_id)
        self._check()
        self._events.setdefault(supplier_id, set()).add(event_id)

    async def events_of(self, supplier_id: str) -> set[str]:
        check_id(supplier_id)
        self._check()
        return set(self._events.get(supplier_id, ()))

    async def forget_event(self, supplier_id: str, event_id: str) -> None:
        check_id(supplier_id)
        self._check()
        self._events.get(supplier_id, set()).discard(event_id)
