"""The journal on Redis streams: one stream per auction, entry ids equal to sequence numbers.

Why one Lua script per batch: the check "does the stream end at first_seq - 1?", the XADDs of the
events, the XADDs of the awards and the index update must happen as one step, or a crash between
them leaves an award without its event (or an auction missing from the index, never replayed).
Redis runs a script atomically, and the entry ids ``f"{seq}-0"`` make a retry recognisable: if the
ids already hold the same bytes, the script does nothing and reports success. One call carries
the batches of every auction of one shard (``store.keyspace``: everything on one Redis, one slot
on a cluster), each checked and written on its own: one script call per shard per turn.

Why the chain's seam is checked in the script: "does the batch continue the hash chain?" is part
of the same atomic step. Each entry is one field ``e`` (the envelope); Lua reads the stored last
entry's hash out of its envelope with one pattern match (no JSON parsing, no hashing) and compares
it with the first entry's ``prev``, passed as an argument. The chain's links inside the batch are
checked before sending (``journal.unlinked``), so the script checks only the seam. (Storing the
hash again in a field of its own cost 2 script arguments and 64 bytes an entry on the hot path.)

Why durability is decided at connect, and reads are fenced: ``store.durability`` (what
"acknowledged" means there: on the master's disk, and on how many replicas). Every durable write
here is followed on its connection by the wait commands it returns, and every durable read by a
fence (a write, then the same waits).

Why trimming is a script too, and appends look at the archived heads: a finished auction's stream
is deleted once its archive holds it (``trim_archived``) only if it still ends at the archive's
head, checked and deleted in one step, or an entry appended in between would be lost. The
archive's head stays, in the hash ``<prefix>:archived``, and the append script refuses an
archived auction (one ``HGET``, O(1) on the hot path): its stream being gone, the script would
otherwise take a new seq 1 and start a second history.

Why short timeouts and one retry: a bid must never hang on a dead Redis. Connect and socket
timeouts bound every call; redis-py's pool drops a broken connection and dials again on the next
call, so the same ``RedisJournal`` recovers when Redis is back. The single automatic retry is safe
because the append script is idempotent (see above). These bound one call; how long a bid waits
in all is bounded above them (``GroupCommit``'s ``timeout_s``; ``ping_timeout_s`` for health).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Collection, Sequence
from typing import Any

from redis._parsers import _AsyncRESP3Parser
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MasterDownError,
    MovedError,
    NoScriptError,
    RedisClusterException,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from .connect import is_cluster_url, redis_client
from .durability import Durability, negotiate
from .keyspace import KeySpace
from .masters import ClusterMasters, Master, OneRedis
from .awards import (
    DEFAULT_PREFIX,
    FIELD_AUCTION_ID,
    FIELD_AWARD_ID,
    FIELD_LOT_ID,
    FIELD_RELEASE,
)
from .chain import GENESIS, Header
from .journal import (
    NOT_FINISHED,
    AppendRequest,
    AwardRecord,
    JournalArchived,
    JournalConflict,
    JournalError,
    JournalNotDurable,
    JournalUnavailable,
    archived_already,
    check_head,
    moved_on,
    not_trimmed,
    unchained,
    unlinked,
    validate_batch,
)

__all__ = ["REDIS_FAILURES", "RedisJournal", "map_redis_error"]

# One call appends the batches of one or more auctions of one shard (``store.keyspace``: on a
# cluster one shard is one slot; on one Redis everything is one shard), each section checked and
# written on its own as one auction's batch always was: a call per shard per turn, not per auction.
# KEYS: 1 awards stream, 2 auctions index, 3 fence counter, 4 archived heads, 4+s the stream of
# section s. ARGV: 1 fence flag, then per section: auction_id, first_seq, n entries, m awards, the
# first entry's prev, the n envelopes, then 4 per award.
# Each stream entry holds field e (the envelope). The stored last entry's hash is read from its
# envelope: the first '"hash":"<hex>"' in it is the envelope's own (the fields before it are
# numbers, a format name of [a-z0-9_.-] and prev; the event comes after). Links inside a batch are
# checked before it is sent (``unlinked``); the script checks the seam with what is stored.
# Returns one reply per section: {1, last} appended, {0, last} retry of a stored batch, {-1, last}
# conflict, {-2, last, h} the first prev is not h, the last entry's hash, {-3, last} the last
# entry has no h (written before the hash chain), {-4, "<seq>:<hash>"} archived and trimmed up to
# that head.
# The fence: with WAITAOF a retry may arrive on a new connection that wrote nothing yet, and
# WAITAOF only waits for *this connection's* writes; bumping a counter makes the retry a write,
# so its WAITAOF also covers the original batch (earlier in the AOF).
APPEND_SCRIPT = f"""
local fence = false
local function append(stream, id, first, n, prev, e, w, m)
  local archived = redis.call('HGET', KEYS[4], id)
  if archived then return {{-4, archived}} end
  local last = 0
  local stored = '{GENESIS}'
  local top = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if #top > 0 then
    last = tonumber(string.match(top[1][1], '^(%d+)'))
    stored = false
    local f = top[1][2]
    if f[1] == 'e' then stored = string.match(f[2], '"hash":"(%x+)"') or false end
  end
  if last == first - 1 then
    if not stored then return {{-3, last}} end
    if stored ~= prev then return {{-2, last, stored}} end
    for i = 0, n - 1 do
      redis.call('XADD', stream, string.format('%d-0', first + i), 'e', ARGV[e + i])
    end
    for a = w, w + 4 * (m - 1), 4 do
      redis.call('XADD', KEYS[1], '*', '{FIELD_AWARD_ID}', ARGV[a], '{FIELD_AUCTION_ID}', ARGV[a + 1],
                 '{FIELD_LOT_ID}', ARGV[a + 2], '{FIELD_RELEASE}', ARGV[a + 3])
    end
    redis.call('SADD', KEYS[2], id)
    return {{1, last + n}}
  end
  local stop = first + n - 1
  if last >= stop then
    local got = redis.call('XRANGE', stream, string.format('%d-0', first), string.format('%d-0', stop))
    if #got == n then
      for i = 1, n do
        local f = got[i][2]
        if got[i][1] ~= string.format('%d-0', first + i - 1) or f[1] ~= 'e' or f[2] ~= ARGV[e + i - 1] then
          return {{-1, last}}
        end
      end
      fence = true
      return {{0, last}}
    end
  end
  return {{-1, last}}
end
local out = {{}}
local a = 2
for s = 1, #KEYS - 4 do
  local n, m = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  out[s] = append(KEYS[4 + s], ARGV[a], tonumber(ARGV[a + 1]), n, ARGV[a + 4], a + 5, a + 5 + n, m)
  a = a + 5 + n + 4 * m
end
if fence and ARGV[1] == '1' then redis.call('INCR', KEYS[3]) end
return out
"""
APPEND_SHA = hashlib.sha1(APPEND_SCRIPT.encode()).hexdigest()

# KEYS: 1 auction stream, 2 auction snapshot, 3 finished set, 4 archived heads, 5 fence counter
# ARGV: 1 auction_id, 2 head_seq, 3 head_hash, 4 fence flag
# Returns {1} trimmed, {0} trimmed already to this head, {-1, "<seq>:<hash>"} trimmed to another
# head, {-2, last} not finished, {-3, last, h} the stream does not end at this head (h: the
# last entry's hash, '' if none). The fence: as in APPEND_SCRIPT, for a retry on a new connection.
TRIM_SCRIPT = """
local head = ARGV[2] .. ':' .. ARGV[3]
local done = redis.call('HGET', KEYS[4], ARGV[1])
if done then
  if done ~= head then return {-1, done} end
  if ARGV[4] == '1' then redis.call('INCR', KEYS[5]) end
  return {0}
end
local last, stored, id = 0, '', ''
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #top > 0 then
  id = top[1][1]
  last = tonumber(string.match(id, '^(%d+)'))
  local f = top[1][2]
  if f[1] == 'e' then stored = string.match(f[2], '"hash":"(%x+)"') or '' end
end
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then return {-2, last} end
if id ~= ARGV[2] .. '-0' or stored ~= ARGV[3] then return {-3, last, stored} end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[4], ARGV[1], head)
return {1}
"""

# Server errors that mean "cannot write now" rather than "this request is wrong": redis-py gives
# some their own classes (stripping the code from the message), the others keep the code.
# On a cluster, a slot served elsewhere (MOVED, ASK: a failover or a resharding under way) or no
# master for it (CLUSTERDOWN) is the same: try again shortly.
_UNAVAILABLE_CLASSES = (ReadOnlyError, OutOfMemoryError, MasterDownError, TryAgainError,
                        MovedError, AskError, ClusterDownError, RedisClusterException)
_UNAVAILABLE_PREFIXES = ("MISCONF", "NOREPLICAS", "BUSY", "READONLY", "OOM", "CLUSTERDOWN",
                         "MOVED", "ASK", "TRYAGAIN")


# What a call to Redis may raise when Redis cannot answer (the cluster client's own exceptions
# are not RedisErrors).
REDIS_FAILURES = (RedisError, RedisClusterException, OSError)


def map_redis_error(exc: BaseException) -> JournalError:
    if isinstance(exc, JournalError):
        return exc
    if isinstance(exc, MasterNotFoundError):  # its text ends in a whole client's repr: cut
        return JournalUnavailable(f"redis unreachable: {str(exc).split(' : ', 1)[0]} by the Sentinels")
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError, OSError)):  # incl. LOADING
        return JournalUnavailable(f"redis unreachable: {exc}")
    if isinstance(exc, _UNAVAILABLE_CLASSES) or (
        isinstance(exc, ResponseError) and str(exc).startswith(_UNAVAILABLE_PREFIXES)
    ):
        return JournalUnavailable(f"redis cannot write now: {exc!r}")
    return JournalError(f"redis error: {exc!r}")


def _archived_head(value: bytes) -> tuple[int, str]:
    """A field of ``<prefix>:archived``: ``b"<head_seq>:<head_hash>"``."""
    seq, _, digest = value.decode().partition(":")
    return int(seq), digest


def _refusal(req: AppendRequest, prev: str, res: list[Any]) -> JournalConflict:
    """The script's refusal (code -1 to -4, see APPEND_SCRIPT) as the journal's error."""
    if int(res[0]) == -4:
        return JournalArchived(req.auction_id, req.first_seq, *_archived_head(res[1]))
    code, last = int(res[0]), int(res[1])
    if code == -1:
        return JournalConflict(req.auction_id, req.first_seq, last)
    stored = res[2].decode() if code == -2 else None
    return unlinked(req.auction_id, req.first_seq, last, prev, stored)


class RedisJournal:
    """``Journal`` on Redis streams, on one Redis or on a Redis Cluster (a ``redis+cluster://``
    URL: ``store.keyspace`` for where the keys live, ``store.masters`` for where writes go). Call
    ``await connect()`` before use; ``mode`` tells how durability is obtained ("aof_always",
    "waitaof" or "unsafe")."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        allow_unsafe: bool = False,
        socket_timeout: float = 2.0,
        connect_timeout: float = 1.0,
        waitaof_timeout_ms: int = 1000,
        read_page_size: int = 1000,
        ping_timeout_s: float = 2.0,
        replicas: int | None = 0,
    ) -> None:
        if waitaof_timeout_ms / 1000 >= socket_timeout:
            raise ValueError("socket_timeout must exceed the WAITAOF timeout")
        if replicas is not None and replicas < 0:
            raise ValueError("replicas must not be negative (None: 1 if the master has one)")
        self.url = url
        self.prefix = prefix
        self.allow_unsafe = allow_unsafe
        self.waitaof_timeout_ms = waitaof_timeout_ms
        self.read_page_size = read_page_size
        self.ping_timeout_s = ping_timeout_s
        self.mode: str | None = None
        self.replicas = replicas  # after connect(): how many replicas confirm every write
        self._durability: Durability | None = None  # after connect()
        self.keys = KeySpace(prefix, sharded=is_cluster_url(url))
        # The keys of shard 0: on one Redis the only ones (a cluster's every shard: ``keys``).
        self.awards_key = self.keys.shard_key(0, "awards")
        self.index_key = self.keys.shard_key(0, "auctions")
        self.finished_key = self.keys.shard_key(0, "finished")
        self.fence_key = self.keys.shard_key(0, "fence")
        self.archived_key = self.keys.shard_key(0, "archived")
        options: dict[str, Any] = dict(
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            retry=Retry(NoBackoff(), 1),
            client_name="bidserver-journal",
            # Measured (docs/performance.md): for the append path redis-py's own RESP3 parser is
            # at least as fast as hiredis; the cluster's pub/sub and XREAD clients use hiredis.
            parser_class=_AsyncRESP3Parser,
        )
        self._redis: Redis = redis_client(url, **options)
        self._masters: OneRedis | ClusterMasters
        if self.keys.sharded:
            self._masters = ClusterMasters(
                self._redis, url, options, self.keys, self._admit  # type: ignore[arg-type]
            )
        else:
            self._masters = OneRedis(self._redis, self.fence_key)

    def stream_key(self, auction_id: str) -> str:
        return self.keys.stream(auction_id)

    def snapshot_key(self, auction_id: str) -> str:
        return self.keys.snapshot(auction_id)

    @property
    def redis(self) -> Redis:
        """The underlying client (for the awards helpers and diagnostics); on a cluster a
        ``RedisCluster``, which sends each key's command to the node of its slot."""
        return self._redis

    # -- lifecycle ---------------------------------------------------------------------------

    async def connect(self) -> str:
        """Decide durability (``store.durability``: the master's disk, then its replicas) on
        every master, and load the append script; returns the durability mode of the masters'
        disks (``replicas`` says the rest)."""
        try:
            masters = await self._masters.masters()  # on a cluster each is admitted: _admit
            if not self.keys.sharded:
                await self._admit(masters[0])
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        assert self._durability is not None  # set by the first admission
        self.mode, self.replicas = self._durability.mode, self._durability.replicas
        return self._durability.mode

    async def _admit(self, master: Master) -> None:
        """A master takes writes once it promises what the first one did (``negotiate``); the
        first decides, with ``replicas`` as given (None: 1 if it has a replica)."""
        replicas = self.replicas if self._durability is None else self._durability.replicas
        try:
            durability = await negotiate(
                master.client, self.url, allow_unsafe=self.allow_unsafe, replicas=replicas,
                timeout_ms=self.waitaof_timeout_ms, fence_key=master.fence_key,
                cluster=self.keys.sharded,
            )
            await master.client.script_load(APPEND_SCRIPT)
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        if self._durability is None:
            self._durability = durability
        elif durability != self._durability:
            raise JournalNotDurable(
                f"master {master.name} of {self.url} promises {durability.describe()}, the "
                f"others {self._durability.describe()}: configure every master alike"
            )

    async def _master_of(self, key: str) -> Master:
        """The master a write of ``key`` goes to, or ``JournalUnavailable``: none answers, or
        the one that serves the slot now does not promise what an acknowledgement needs (a
        promoted replica without a replica of its own yet)."""
        try:
            return await self._masters.master_of(key)
        except JournalUnavailable:
            raise
        except JournalError as exc:
            raise JournalUnavailable(f"cannot write to that master now: {exc}") from exc
        except REDIS_FAILURES as exc:
            self._masters.stale()
            raise map_redis_error(exc) from exc

    @property
    def _waits(self) -> tuple[tuple[Any, ...], ...]:
        """The commands after every durable write (none before ``connect``)."""
        return self._durability.waits if self._durability is not None else ()

    @property
    def fenced(self) -> bool:
        """Must a script that finds its write already stored write all the same (the fence
        counter), for the wait commands after it to cover the original? (``Durability``)"""
        return bool(self._waits)

    @property
    def durability(self) -> str:
        """In words, for logs and refusals: what an acknowledgement means."""
        return self._durability.describe() if self._durability else "unknown: not connected"

    async def close(self) -> None:
        await self._masters.close()
        try:
            await self._redis.aclose()
        except REDIS_FAILURES:  # closing a client whose server is gone must not fail shutdown
            pass

    async def ping(self) -> bool:
        """Does Redis answer within ``ping_timeout_s``? (A stalled one is down for a bid: give
        health checks the bound the bids have.)"""
        try:
            async with asyncio.timeout(self.ping_timeout_s):
                return bool(await self._redis.ping())
        except Exception:  # noqa: BLE001 -- health checks answer, they never raise
            return False

    # -- appends -----------------------------------------------------------------------------

    def _script_call(
        self, shard: int, sections: list[tuple[AppendRequest, Sequence[Header]]]
    ) -> tuple[list[str], list[Any]]:
        """One script call for the batches of one shard (``APPEND_SCRIPT``'s arguments)."""
        keys = [self.keys.shard_key(shard, name)
                for name in ("awards", "auctions", "fence", "archived")]
        args: list[Any] = ["1" if self.fenced else "0"]
        for req, headers in sections:
            keys.append(self.keys.stream(req.auction_id))
            args += [req.auction_id, req.first_seq, len(req.entries), len(req.awards),
                     headers[0].prev, *req.entries]
            for award in req.awards:
                args += [award.award_id, award.auction_id, award.lot_id, award.payload]
        return keys, args

    async def append(
        self,
        auction_id: str,
        first_seq: int,
        entries: Sequence[bytes],
        awards: Sequence[AwardRecord] = (),
    ) -> None:
        [outcome] = await self.append_many([AppendRequest(auction_id, first_seq, entries, awards)])
        if outcome is not None:
            raise outcome

    async def append_many(self, requests: Sequence[AppendRequest]) -> list[JournalError | None]:
        """Write several auctions' batches: one script call per shard (each batch checked and
        written as one atomic step), one round trip per master, all masters at once.

        Returns one outcome per request: None if durable, else the ``JournalError`` for it.
        Argument errors (``ValueError``, an entry that is not an envelope) are raised before
        anything is sent; a batch that is not a chain in itself is refused without being sent.
        """
        if self.mode is None:
            raise JournalError("RedisJournal.connect() was not called")
        headers = [validate_batch(r.first_seq, r.entries) for r in requests]
        outcomes: list[JournalError | None] = [
            unchained(r.auction_id, r.first_seq, h) for r, h in zip(requests, headers, strict=True)
        ]
        by_shard: dict[int, list[int]] = {}
        for i, r in enumerate(requests):
            if outcomes[i] is None:
                by_shard.setdefault(self.keys.shard(r.auction_id), []).append(i)
        by_master: dict[str, tuple[Master, list[list[int]]]] = {}
        for shard, members in by_shard.items():
            try:
                master = await self._master_of(self.keys.shard_key(shard, "fence"))
            except JournalUnavailable as err:
                for i in members:
                    outcomes[i] = err
                continue
            by_master.setdefault(master.name, (master, []))[1].append(members)

        async def on(master: Master, groups: list[list[int]]) -> None:
            calls = [
                self._script_call(self.keys.shard(requests[g[0]].auction_id),
                                  [(requests[i], headers[i]) for i in g])
                for g in groups
            ]
            replies = await self._run_scripts(master, calls)
            for group, reply in zip(groups, replies, strict=True):
                for n, i in enumerate(group):
                    res = reply if isinstance(reply, BaseException) else reply[n]
                    if isinstance(res, BaseException):
                        outcomes[i] = map_redis_error(res)
                    elif int(res[0]) < 0:
                        outcomes[i] = _refusal(requests[i], headers[i][0].prev, res)

        await asyncio.gather(*(on(m, groups) for m, groups in by_master.values()))
        return outcomes

    async def _run_scripts(
        self, master: Master, calls: list[tuple[list[str], list[Any]]]
    ) -> list[Any]:
        """One pipeline to ``master``: the script calls, then the wait commands on the same
        connection; once more with the script's body where the master lacks it (a promoted
        replica, a restart). One reply (or error) per call."""
        results = await self._pipeline(master, calls, use_eval=False)
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if missing:  # not executed: run those again with the script body
            again = await self._pipeline(master, [calls[i] for i in missing], use_eval=True)
            for i, res in zip(missing, again, strict=True):
                results[i] = res
        return results

    async def _pipeline(
        self, master: Master, calls: list[tuple[list[str], list[Any]]], *, use_eval: bool
    ) -> list[Any]:
        pipe = master.client.pipeline(transaction=False)
        for keys, args in calls:
            if use_eval:
                pipe.execute_command("EVAL", APPEND_SCRIPT, len(keys), *keys, *args)
            else:
                pipe.execute_command("EVALSHA", APPEND_SHA, len(keys), *keys, *args)
        for wait in self._waits:
            pipe.execute_command(*wait)
        try:
            results = await pipe.execute(raise_on_error=False)
        except REDIS_FAILURES as exc:
            self._masters.stale()
            return [map_redis_error(exc)] * len(calls)
        if any(_moved(r) for r in results):
            self._masters.stale()
        if self._waits:
            acks = results[len(calls):]
            del results[len(calls):]
            if not self._confirmed(acks):
                err = self._unconfirmed("write", acks)
                results = [r if isinstance(r, BaseException) else err for r in results]
        return results

    def _confirmed(self, acks: Sequence[Any]) -> bool:
        return self._durability is not None and self._durability.confirmed(acks)

    def _unconfirmed(self, what: str, acks: Any) -> JournalUnavailable:
        assert self._durability is not None  # waits are sent only once connected
        return self._durability.unconfirmed(what, acks)

    # -- reads and the index -----------------------------------------------------------------

    async def read(
        self, auction_id: str, after_seq: int = 0, *, durable: bool = True
    ) -> list[tuple[int, bytes]]:
        """The stored entries after ``after_seq``; with ``durable`` (and only where writes are
        waited for: WAITAOF, replicas) followed by a fence on the auction's master. Before
        ``connect()`` the mode is unknown and reads are plain: only tools that look
        (``bidserver replay``) read without connecting."""
        key = self.stream_key(auction_id)
        entries = await self._read_pages(key, max(after_seq, 0) + 1)
        if durable and self._waits:
            await self._fence(key)
        return entries

    async def _read_pages(self, key: str, start: int) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        try:
            while True:
                page = await self._redis.xrange(key, f"{start}-0", "+", count=self.read_page_size)
                for entry_id, fields in page:
                    out.append((int(entry_id.split(b"-", 1)[0]), fields[b"e"]))
                if len(page) < self.read_page_size:
                    return out
                start = out[-1][0] + 1
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc

    async def fence(self, auction_ids: Collection[str] | None = None) -> None:
        """Where writes are waited for: on every master (or those of ``auction_ids``), a write,
        then the wait commands, on one connection (one round trip each, all at once), so every
        read completed before this call is proven as durable as an acknowledged write (the AOF
        and the replication stream are both sequential). Nothing to do with ``appendfsync
        always`` and no replicas."""
        if not self._waits:
            return
        if auction_ids is not None:
            shards = {self.keys.shard(a) for a in auction_ids}
            masters = {}
            for shard in shards:
                master = await self._master_of(self.keys.shard_key(shard, "fence"))
                masters[master.name] = master
            await asyncio.gather(*(self._fence_on(m) for m in masters.values()))
            return
        try:
            masters = await self._masters.masters()
        except (JournalError, *REDIS_FAILURES) as exc:
            self._masters.stale()
            raise JournalUnavailable(f"read not proven durable: {exc!r}") from exc
        await asyncio.gather(*(self._fence_on(m) for m in masters))

    async def _fence(self, key: str) -> None:
        """The fence of ``fence`` on the one master that serves ``key``."""
        await self._fence_on(await self._master_of(key))

    async def _fence_on(self, master: Master) -> None:
        pipe = master.client.pipeline(transaction=False)
        pipe.incr(master.fence_key)
        for wait in self._waits:
            pipe.execute_command(*wait)
        try:
            _, *acks = await pipe.execute()
        except REDIS_FAILURES as exc:  # any failure: the read is not trusted
            self._masters.stale()
            raise JournalUnavailable(f"read not proven durable: {exc!r}") from exc
        if not self._confirmed(acks):
            raise self._unconfirmed("read", acks)

    async def _every_shard(self, command: str, *names: str) -> set[bytes]:
        """The union of one set command's answer over the shards (one shard on one Redis)."""
        try:
            answers = await asyncio.gather(*(
                self._redis.execute_command(command, *(self.keys.shard_key(s, n) for n in names))
                for s in range(self.keys.shards)
            ))
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return set().union(*answers)

    async def auction_ids(self) -> list[str]:
        return sorted(m.decode() for m in await self._every_shard("SMEMBERS", "auctions"))

    async def unfinished_ids(self) -> list[str]:
        members = await self._every_shard("SDIFF", "auctions", "finished")
        return sorted(m.decode() for m in members)

    async def mark_finished(self, auction_id: str) -> None:
        try:
            await self._redis.sadd(self.keys.of_auction(auction_id, "finished"), auction_id)
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc

    # -- archived auctions -------------------------------------------------------------------

    async def trim_archived(self, auction_id: str, head_seq: int, head_hash: str) -> None:
        """Delete the auction's stream and snapshot, keep its archive's head (TRIM_SCRIPT),
        durably (``eval_durably``): the caller may then rely on the archive alone."""
        check_head(head_seq)
        keys = [
            self.stream_key(auction_id),
            self.snapshot_key(auction_id),
            self.keys.of_auction(auction_id, "finished"),
            self.keys.of_auction(auction_id, "archived"),
            self.keys.of_auction(auction_id, "fence"),
        ]
        fence = "1" if self.fenced else "0"
        res = await self.eval_durably(TRIM_SCRIPT, keys, [auction_id, head_seq, head_hash, fence])
        code = int(res[0])
        if code == -1:
            done = _archived_head(res[1])
            raise not_trimmed(auction_id, head_seq, done[0], archived_already(*done))
        if code == -2:
            raise not_trimmed(auction_id, head_seq, int(res[1]), NOT_FINISHED)
        if code == -3:
            last, stored = int(res[1]), res[2].decode() or None
            raise not_trimmed(auction_id, head_seq, last, moved_on(last, stored))

    async def eval_durably(self, script: str, keys: list[str], args: list[Any]) -> Any:
        """One script call (EVAL: for rare calls, where EVALSHA's fallback is not worth it) on
        the master of its keys' slot, then the wait commands (if any) on the same connection;
        returns the script's reply once it is durable. Shared with the stores beside the journal
        whose writes must be durable too (``store.suppliers``)."""
        if self.mode is None:
            raise JournalError("RedisJournal.connect() was not called")
        master = await self._master_of(keys[0])
        pipe = master.client.pipeline(transaction=False)
        pipe.execute_command("EVAL", script, len(keys), *keys, *args)
        for wait in self._waits:
            pipe.execute_command(*wait)
        try:
            results = await pipe.execute(raise_on_error=False)
        except REDIS_FAILURES as exc:
            self._masters.stale()
            raise map_redis_error(exc) from exc
        if isinstance(results[0], BaseException):
            if _moved(results[0]):
                self._masters.stale()
            raise map_redis_error(results[0])
        if self._waits and not self._confirmed(results[1:]):
            raise self._unconfirmed("write", results[1:])
        return results[0]

    async def archived(self, auction_id: str) -> tuple[int, str] | None:
        try:
            value = await self._redis.hget(self.keys.of_auction(auction_id, "archived"), auction_id)
        except REDIS_FAILURES as exc:
            raise map_redis_error(exc) from exc
        return None if value is None else _archived_head(value)


def _moved(reply: Any) -> bool:
    """Does a reply say the slot is served elsewhere now (a failover, a resharding)?"""
    return isinstance(reply, (MovedError, AskError, ClusterDownError, ReadOnlyError))
