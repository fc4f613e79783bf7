"""The supplier registry's storage: records, their event logs, search indexes and the due queue.

Why it knows nothing of suppliers: the admission domain (``engine/admission``) decides; this stores
what it is given, bytes and the fields to index them by (``Indexed``), so one store serves every
change of the domain without a migration, and the one home of eligibility stays in the domain.

Keys (``<p>`` is ``journal.keys.single_slot("suppliers")``: the journal's prefix, ``bidserver`` by
default, on one Redis, and ``<prefix>:{suppliers}`` on a Redis Cluster, so every key below is in
one slot there; in ``<id>`` ``%`` and ``:`` are written ``%25`` and ``%3A``, as in the listing's
keys, or supplier ``a:log`` would be ``a``'s log):

* ``<p>:supplier:<id>`` -- hash: ``record`` (the bytes), ``version`` (events so far), and the
  index fields the record is filed under now: ``name`` (folded), ``code``, ``tags`` (joined by NUL)
  -- what the write script removes when they change;
* ``<p>:supplier:<id>:log`` -- list, the events in order, one element each: its length is the
  version;
* ``<p>:suppliers:code`` -- hash, identifier -> supplier id: who owns an identifier (unique);
* ``<p>:suppliers:ix:all`` and ``<p>:suppliers:ix:<tag>`` -- sorted sets, score 0, members
  ``<folded name>\\x00<id>``: every supplier, and those with a tag (``status:qualified``...);
* ``<p>:suppliers:ix:code`` -- sorted set, score 0, members ``<identifier>\\x00<id>``;
* ``<p>:suppliers:due`` -- sorted set, member the id, score the ms time its standing may next
  change by time alone (the sweeper's queue);
* ``<p>:supplier:<id>:events`` -- set of the event ids the supplier is invited to;
* ``<p>:fence`` -- the fence counter of the write script (below): on one Redis the journal's own.

Why one script per write: the version check (compare-and-set: two reviewers acting at once, one
is refused and decides again on the new record), the identifier's uniqueness, the log, the record
and every index move happen in one step, or a crash between them leaves a supplier listed under a
status it left, or an identifier owned twice. The script reads the index fields the record is filed
under from its hash, so the caller passes only the new ones. It builds the tag keys itself (they
are not in ``KEYS``): Redis allows that for keys of the declared keys' slot, which every key here
shares on a cluster (the one hash tag). A retry of a stored append (same events at the same
positions, same record) succeeds as a no-op, so a write whose reply was lost can be sent again.
Why the whole registry in one slot of a cluster: the write script needs the record, the indexes
and the fence together, and registry writes are rare next to bids (one master carries them).

Why the log is a list and not a stream (as the auctions' journals are): a stream of a few events
takes 4.7 KB of Redis memory however short (``MEMORY USAGE``, Redis 7.0: its first node is
allocated whole), a list of the same events their bytes and a few hundred more, and a supplier's
log is a few events written now and then, read whole only for its history: with 100,000 suppliers
the streams alone were most of the registry's memory. Event ``v`` is element ``v - 1`` (a stream's
id ``<v>-0`` before), and the script checks that the list's length is the stored version before it
pushes, as it checked the stream's last id.

Why writes are durable and reads are not fenced: a write goes through the journal's
``eval_durably`` (``appendfsync always``, or ``WAITAOF`` on the same connection): acknowledged is
on disk, by the journal's rule, on the journal's connection and durability mode (the store is
built from a connected ``RedisJournal``, so a Redis the journal refuses is refused here too). A
read is plain: whatever is decided from it becomes a write to the same Redis (an append here, an
invitation in the journal), which is fsynced after the data read, the AOF being sequential.

Why names are folded and searched this way: ``fold`` (NFKC, case-folded) makes "ACME", "Acme" and
full-width "ＡＣＭＥ" one prefix; with equal scores Redis orders members by their bytes, so a name
prefix is one ``ZRANGE ... BYLEX`` range ``[prefix, prefix + 0xff)`` (0xff never occurs in UTF-8)
and the order is the folded name's code points (Chinese names by code point, not by pinyin), ties
by id. Tags are an AND: the script counts each tag's members in the range (``ZLEXCOUNT``, O(log N))
and walks the smallest set, checking the others with ``ZSCORE``. The walk examines at most
``scan_budget`` members a call: a page may come back short (even empty) with a cursor to go on, so
no call is a full scan. The default, 500, because the script holds the Redis the journal's bids
share: a member examined costs 1 to 3 us there (loadtests/registry_bench.py, 100,000 suppliers: a
budget of 2,000 spent took 6.8 ms at the median), so a call stays near a millisecond. The cursor
(opaque, base64url) is the last member examined; pages never repeat or skip a supplier that stays
filed under the same name and tags during the walk.

Errors: Redis's are mapped as the journal's (``JournalUnavailable`` when Redis cannot answer or
write now: a 503 at the edge); a refused write is ``VersionConflict`` or ``IdentifierTaken``
(nothing written). ``MemorySuppliers`` (``store.suppliers_memory``) is the twin; one contract suite
(``tests/store/test_suppliers_store.py``) runs against both.
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

from .journal import JournalError
from .redis_journal import REDIS_FAILURES, RedisJournal, map_redis_error

__all__ = [
    "DEFAULT_SCAN_BUDGET",
    "MAX_LIMIT",
    "IdentifierTaken",
    "Indexed",
    "Page",
    "RedisSuppliers",
    "Suppliers",
    "VersionConflict",
    "check_append",
    "check_id",
    "check_tag",
    "clamp_limit",
    "decode_cursor",
    "encode_cursor",
    "fold",
    "id_of",
    "lex_range",
    "member",
]

DEFAULT_SCAN_BUDGET = 500  # index members one search call may examine (see the docstring)
MAX_LIMIT = 200
RESERVED_TAGS = frozenset({"all", "code"})  # their index keys are taken: ix:all, ix:code
SEP = b"\x00"


class Indexed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a record is found by: its name (folded by the store), its identifier (unique across
    suppliers), and tags (``status:<s>``, ``cat:<code>:<s>``: the domain chooses them)."""

    name: str
    code: str
    tags: frozenset[str]


class Page(msgspec.Struct, frozen=True):
    ids: list[str]
    next: str | None  # opaque cursor; None when nothing is left


class VersionConflict(JournalError):
    """The stored version is not the one the write was decided on: read again, decide again."""

    def __init__(self, supplier_id: str, expected: int, stored: int) -> None:
        self.supplier_id = supplier_id
        self.expected = expected
        self.stored = stored
        super().__init__(
            f"supplier {supplier_id!r}: written from version {expected}, stored is {stored}"
        )


class IdentifierTaken(JournalError):
    """Another supplier owns the identifier (``owner``): one legal entity, one record."""

    def __init__(self, supplier_id: str, code: str, owner: str) -> None:
        self.supplier_id = supplier_id
        self.code = code
        self.owner = owner
        super().__init__(f"supplier {supplier_id!r}: identifier {code!r} belongs to {owner!r}")


class Suppliers(Protocol):
    """The registry's storage. Every method may raise ``JournalUnavailable``."""

    async def append(
        self,
        supplier_id: str,
        expected_version: int,
        events: Sequence[bytes],
        record: bytes,
        indexed: Indexed,
        due_at: int | None,
    ) -> int:
        """Store ``events`` after version ``expected_version`` (0: a new record) and the record
        they lead to, filed under ``indexed``, queued due at ``due_at`` (None: not queued), all or
        nothing, durably; returns the new version. ``VersionConflict``, ``IdentifierTaken``."""
        ...

    async def get(self, supplier_id: str) -> tuple[bytes, int] | None:
        """The record and its version (one round trip: the eligibility lookup)."""
        ...

    async def get_many(self, supplier_ids: Sequence[str]) -> list[tuple[bytes, int] | None]: ...

    async def log(self, supplier_id: str) -> list[bytes]: ...

    async def by_code(self, code: str) -> str | None: ...

    async def search(
        self,
        prefix: str = "",
        tags: Sequence[str] = (),
        after: str | None = None,
        limit: int = 50,
    ) -> Page:
        """Ids by name whose folded name starts with ``fold(prefix)`` and that have every tag."""
        ...

    async def search_code(self, prefix: str, after: str | None = None, limit: int = 50) -> Page:
        """Ids by identifier starting with ``prefix`` (as stored: compact, upper case)."""
        ...

    async def count(self, tag: str | None = None) -> int:
        """How many suppliers have ``tag`` (all of them when None)."""
        ...

    async def due(self, now: int, limit: int) -> list[str]:
        """Suppliers queued due at or before ``now``, earliest first."""
        ...

    async def note_invitation(self, supplier_id: str, event_id: str) -> None: ...

    async def events_of(self, supplier_id: str) -> set[str]: ...

    async def forget_event(self, supplier_id: str, event_id: str) -> None: ...


def fold(text: str) -> str:
    """How names compare: compatibility-normalised and case-folded."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def member(first: str, supplier_id: str) -> bytes:
    """An index member: ``<first>\\x00<id>`` (first: a folded name or an identifier)."""
    return first.encode() + SEP + supplier_id.encode()


def id_of(indexed_member: bytes) -> str:
    return indexed_member.partition(SEP)[2].decode()


def _no_nul(what: str, value: str) -> None:
    if "\x00" in value:
        raise ValueError(f"{what} contains NUL: {value!r}")


def check_id(supplier_id: str) -> None:
    if not supplier_id:
        raise ValueError("empty supplier id")
    _no_nul("supplier id", supplier_id)


def check_append(
    supplier_id: str, expected_version: int, events: Sequence[bytes], indexed: Indexed,
    due_at: int | None,
) -> None:
    """Shared argument checks, so both implementations refuse the same writes."""
    check_id(supplier_id)
    if expected_version < 0:
        raise ValueError(f"negative version: {expected_version}")
    if not events:
        raise ValueError("an append stores at least one event")
    if due_at is not None and due_at < 0:
        raise ValueError(f"negative due time: {due_at}")
    if not indexed.code:
        raise ValueError("empty identifier")
    _no_nul("name", indexed.name)
    _no_nul("identifier", indexed.code)
    for tag in indexed.tags:
        check_tag(tag)


def check_tag(tag: str) -> None:
    if not tag or tag in RESERVED_TAGS:
        raise ValueError(f"not a usable tag: {tag!r}")
    _no_nul("tag", tag)


def clamp_limit(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def encode_cursor(position: bytes) -> str:
    return base64.urlsafe_b64encode(position).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> bytes:
    """The index member a cursor names, else ``ValueError`` (only the canonical encoding of a
    member is accepted, so an altered cursor is refused rather than read as another position)."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        raw.decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise ValueError("malformed cursor") from None
    if SEP not in raw or encode_cursor(raw) != cursor:
        raise ValueError("malformed cursor")
    return raw


def lex_range(prefix: str, after: str | None) -> tuple[bytes, bytes]:
    """``ZRANGE ... BYLEX`` bounds of the members starting with ``prefix`` after the cursor."""
    start = prefix.encode()
    low = b"[" + start if start else b"-"
    if after is not None:
        position = decode_cursor(after)
        if position >= start:
            low = b"(" + position
    return low, (b"(" + start + b"\xff") if start else b"+"


def _key_part(supplier_id: str) -> str:
    return supplier_id.replace("%", "%25").replace(":", "%3A")


# KEYS: 1 record hash, 2 log, 3 identifier owners, 4 ix:all, 5 ix:code, 6 due, 7 fence counter.
# ARGV: 1 id, 2 expected version, 3 n events, 4 record, 5 folded name, 6 identifier, 7 tags joined
# by NUL, 8 due ms ('' none), 9 fence flag, 10 the tag keys' prefix, 11.. the events.
# Returns {1, version} written, {0, version} a retry of the stored append (the fence: as the
# journal's, so WAITAOF on a new connection covers the original write), {-1, stored version},
# {-2, owner of the identifier}, {-3, the log's length} the log and the version disagree.
_APPEND = """
local id, expected, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local old = redis.call('HMGET', KEYS[1], 'version', 'name', 'code', 'tags')
local stored = tonumber(old[1] or '0')
if stored ~= expected then
  if stored == expected + n and redis.call('HGET', KEYS[1], 'record') == ARGV[4] then
    local got = redis.call('LRANGE', KEYS[2], expected, stored - 1)
    local same = #got == n
    for i = 1, n do
      if same and got[i] ~= ARGV[10 + i] then same = false end
    end
    if same then
      if ARGV[9] == '1' then redis.call('INCR', KEYS[7]) end
      return {0, stored}
    end
  end
  return {-1, stored}
end
local owner = redis.call('HGET', KEYS[3], ARGV[6])
if owner and owner ~= id then return {-2, owner} end
local length = redis.call('LLEN', KEYS[2])
if length ~= stored then return {-3, length} end
for i = 1, n do redis.call('RPUSH', KEYS[2], ARGV[10 + i]) end
local new_member = ARGV[5] .. '\\0' .. id
local new_tags = {}
for t in string.gmatch(ARGV[7], '[^%z]+') do new_tags[t] = true end
if old[2] then
  local old_member = old[2] .. '\\0' .. id
  for t in string.gmatch(old[4], '[^%z]+') do
    if old_member ~= new_member or not new_tags[t] then
      redis.call('ZREM', ARGV[10] .. t, old_member)
    end
  end
  if old_member ~= new_member then redis.call('ZREM', KEYS[4], old_member) end
  if old[3] ~= ARGV[6] then
    if redis.call('HGET', KEYS[3], old[3]) == id then redis.call('HDEL', KEYS[3], old[3]) end
    redis.call('ZREM', KEYS[5], old[3] .. '\\0' .. id)
  end
end
for t in pairs(new_tags) do redis.call('ZADD', ARGV[10] .. t, 0, new_member) end
redis.call('ZADD', KEYS[4], 0, new_member)
redis.call('HSET', KEYS[3], ARGV[6], id)
redis.call('ZADD', KEYS[5], 0, ARGV[6] .. '\\0' .. id)
if ARGV[8] == '' then
  redis.call('ZREM', KEYS[6], id)
else
  redis.call('ZADD', KEYS[6], ARGV[8], id)
end
redis.call('HSET', KEYS[1], 'record', ARGV[4], 'version', expected + n, 'name', ARGV[5],
           'code', ARGV[6], 'tags', ARGV[7])
return {1, expected + n}
"""

# KEYS: the candidate sets (each tag's, or ix:all alone). ARGV: 1 low, 2 high (BYLEX bounds),
# 3 budget, 4 limit. Walks the set with the fewest members in the range, keeps the members every
# other set has, stops at limit found or budget examined. Returns {found} when the range is done,
# {found, last member examined} when there may be more.
_SEARCH = """
local best = 1
if #KEYS > 1 then
  local fewest = nil
  for i = 1, #KEYS do
    local n = redis.call('ZLEXCOUNT', KEYS[i], ARGV[1], ARGV[2])
    if fewest == nil or n < fewest then best, fewest = i, n end
  end
end
local budget, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local found, low, seen = {}, ARGV[1], 0
while true do
  local chunk = limit
  if #KEYS > 1 then chunk = math.max(limit, 128) end
  chunk = math.min(chunk, budget - seen)
  local members = redis.call('ZRANGE', KEYS[best], low, ARGV[2], 'BYLEX', 'LIMIT', 0, chunk)
  for _, m in ipairs(members) do
    seen = seen + 1
    local ok = true
    for i = 1, #KEYS do
      if i ~= best and not redis.call('ZSCORE', KEYS[i], m) then ok = false; break end
    end
    if ok then
      found[#found + 1] = m
      if #found == limit then return {found, m} end
    end
  end
  if #members < chunk then return {found} end
  if seen >= budget then return {found, members[#members]} end
  low = '(' .. members[#members]
end
"""

# KEYS: 1 a set. ARGV: 1 'SADD' or 'SREM', 2 the member.
_MEMBERSHIP = "return redis.call(ARGV[1], KEYS[1], ARGV[2])"


class RedisSuppliers:
    """``Suppliers`` on the journal's Redis (see the module docstring for the keys and why).
    ``journal`` must be connected: its durability mode is the store's."""

    def __init__(self, journal: RedisJournal, *, scan_budget: int = DEFAULT_SCAN_BUDGET) -> None:
        if scan_budget < 1:
            raise ValueError(f"scan budget must be positive: {scan_budget}")
        self._journal = journal
        self._redis = journal.redis
        self.base = journal.keys.single_slot("suppliers")
        self.scan_budget = scan_budget
        self.codes_key = f"{self.base}:suppliers:code"
        self.tag_prefix = f"{self.base}:suppliers:ix:"
        self.all_key = self.tag_prefix + "all"
        self.code_index_key = self.tag_prefix + "code"
        self.due_key = f"{self.base}:suppliers:due"
        self.fence_key = journal.keys.fence_of("suppliers")
        self._search = self._redis.register_script(_SEARCH)

    def record_key(self, supplier_id: str) -> str:
        return f"{self.base}:supplier:{_key_part(supplier_id)}"

    def log_key(self, supplier_id: str) -> str:
        return self.record_key(supplier_id) + ":log"

    def events_key(self, supplier_id: str) -> str:
        return self.record_key(supplier_id) + ":events"

    def tag_key(self, tag: str) -> str:
        return self.tag_prefix + tag

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
        keys = [
            self.record_key(supplier_id),
            self.log_key(supplier_id),
            self.codes_key,
            self.all_key,
            self.code_index_key,
            self.due_key,
            self.fence_key,
        ]
        fence = "1" if self._journal.fenced else "0"
        args: list[Any] = [
            supplier_id, expected_version, len(events), record, fold(indexed.name), indexed.code,
            "\x00".join(sorted(indexed.tags)), "" if due_at is None else due_at, fence,
            self.tag_prefix, *events,
        ]
        res = await self._journal.eval_durably(_APPEND, keys, args)
        code = int(res[0])
        if code == -1:
            raise VersionConflict(supplier_id, expected_version, int(res[1]))
        if code == -2:
            raise IdentifierTaken(supplier_id, indexed.code, res[1].decode())
        if code == -3:
            raise JournalError(
                f"{keys[1]} holds {int(res[1])} events, not the record's version: "
                "edited by hand? Nothing was written"
            )
        return int(res[1])

    async def get(self, supplier_id: str) -> tuple[bytes, int] | None:
        check_id(supplier_id)
        try:
            key = self.record_key(supplier_id)
            record, version = await self._redis.hmget(key, "record", "version")
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return None if record is None else (record, int(version))

    async def get_many(self, supplier_ids: Sequence[str]) -> list[tuple[bytes, int] | None]:
        for supplier_id in supplier_ids:
            check_id(supplier_id)
        if not supplier_ids:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for supplier_id in supplier_ids:
            pipe.hmget(self.record_key(supplier_id), "record", "version")
        try:
            replies = await pipe.execute()
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return [None if rec is None else (rec, int(ver)) for rec, ver in replies]

    async def log(self, supplier_id: str) -> list[bytes]:
        check_id(supplier_id)
        try:
            return await self._redis.lrange(self.log_key(supplier_id), 0, -1)
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc

    async def by_code(self, code: str) -> str | None:
        try:
            owner = await self._redis.hget(self.codes_key, code)
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return None if owner is None else owner.decode()

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
        keys = [self.tag_key(t) for t in dict.fromkeys(tags)] or [self.all_key]
        try:
            res = await self._search(
                keys=keys, args=[low, high, self.scan_budget, clamp_limit(limit)]
            )
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return Page([id_of(m) for m in res[0]], encode_cursor(res[1]) if len(res) > 1 else None)

    async def search_code(self, prefix: str, after: str | None = None, limit: int = 50) -> Page:
        low, high = lex_range(prefix, after)
        limit = clamp_limit(limit)
        try:
            members = await self._redis.zrange(
                self.code_index_key, low, high, bylex=True, offset=0, num=limit
            )
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        more = len(members) == limit
        return Page([id_of(m) for m in members], encode_cursor(members[-1]) if more else None)

    async def count(self, tag: str | None = None) -> int:
        if tag is not None:
            check_tag(tag)
        try:
            return int(await self._redis.zcard(self.all_key if tag is None else self.tag_key(tag)))
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc

    async def due(self, now: int, limit: int) -> list[str]:
        try:
            ids = await self._redis.zrange(
                self.due_key, "-inf", now, byscore=True, offset=0, num=max(1, limit)
            )
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return [i.decode() for i in ids]

    async def note_invitation(self, supplier_id: str, event_id: str) -> None:
        """Durable: the push of a standing change into live events depends on it."""
        check_id(supplier_id)
        await self._journal.eval_durably(
            _MEMBERSHIP, [self.events_key(supplier_id)], ["SADD", event_id]
        )

    async def events_of(self, supplier_id: str) -> set[str]:
        check_id(supplier_id)
        try:
            members = await self._redis.smembers(self.events_key(supplier_id))
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return {m.decode() for m in members}

    async def forget_event(self, supplier_id: str, event_id: str) -> None:
        check_id(supplier_id)
        await self._journal.eval_durably(
            _MEMBERSHIP, [self.events_key(supplier_id)], ["SREM", event_id]
        )
