"""The journal port: where an auction's events become durable before anyone is told "accepted".

Why a port: the room (the single writer of an auction) must not care whether events land in Redis
or in a dict; it needs one promise. ``append`` returns only once the batch is durable, and raises
otherwise, so the room can acknowledge bids strictly after the journal did (journal before
acknowledge). ``MemoryJournal`` is the twin used by engine and room tests; it keeps the very same
semantics (sequence checks, retry-as-no-op, conflicts, awards) so a test that passes against it
means the same thing against ``RedisJournal``. One contract suite (tests/store) runs against both.

Sequence numbers are the backbone: each auction's events are numbered 1, 2, 3, ... by its room and
stored under exactly those numbers. That gives two guarantees without any coordination:

* a retried append (the reply was lost, the room does not know whether the write happened) is
  recognised because the same numbers already hold the same bytes: it succeeds as a no-op and
  never duplicates an event, nor an award;
* a second writer for the same auction (a split brain after a failover, a bug) is refused with
  ``JournalConflict`` because the numbers it wants are taken or leave a gap.

Entries are hash-chained envelopes (``bidserver.store.chain``): the writer seals each event with
the previous entry's hash. The journal refuses (``JournalChainMismatch``) a batch that does not
continue the stored chain: its first entry's ``prev`` must be the stored last entry's hash (so a
last entry altered by hand, or written before the chain, stops the writer), and the batch must
be a chain itself, numbered as it is appended. It only compares the hashes the envelopes
announce; recomputing them is for whoever loads or audits an auction (``chain.verify``).

Reads are the other half of "journal before acknowledge": whatever is read back and then shown or
answered (a reload after a write whose outcome is unknown, recovery, a take-over, a follower's
replica) must be durable too, not merely present. Where the store makes a write visible before it
is on disk (Redis with ``appendfsync everysec`` and ``WAITAOF``: another connection's write may be
read before its fsync), ``read(durable=True)`` and ``fence()`` prove it first, and raise
``JournalUnavailable`` when they cannot (the data is then not trusted).

Finished auctions leave the store (``trim_archived``) once their history is archived to a file
(``bidserver.store.archive``): the entries go, the auction stays in the index and the finished
set, and the archive's head is kept so that the auction refuses every later append
(``JournalArchived``). Without that mark a writer could start the auction again at seq 1, a
second history beside the archived one, and nothing in the stream would show it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol, runtime_checkable

import msgspec

from .chain import GENESIS, PREDATES_CHAIN, Header, read_header

__all__ = [
    "AppendRequest",
    "AwardRecord",
    "Journal",
    "JournalArchived",
    "JournalChainMismatch",
    "JournalConflict",
    "JournalError",
    "JournalNotDurable",
    "JournalUnavailable",
    "MemoryJournal",
]


class JournalError(Exception):
    """Any failure of the journal: nothing from the failed call may be acknowledged."""


class JournalUnavailable(JournalError):
    """The store cannot be reached or cannot confirm durability now; the call may be retried."""


class JournalConflict(JournalError):
    """The stream does not end where this writer believes it does: another writer, or a gap.

    Retrying the same call will not help; the room must stop and resync from the stream
    (``last_seq`` is the stream's last sequence number as seen by the failed append, None when
    the batch was refused before the stream was looked at). ``trim_archived`` refuses with it
    too, the stream not ending at the archive's head: ``first_seq`` is then that head.
    """

    def __init__(
        self, auction_id: str, first_seq: int, last_seq: int | None, message: str | None = None
    ) -> None:
        self.auction_id = auction_id
        self.first_seq = first_seq
        self.last_seq = last_seq
        super().__init__(
            message
            or f"auction {auction_id!r}: cannot append from seq {first_seq}, "
            f"the stream ends at seq {last_seq} with different events"
        )


class JournalChainMismatch(JournalConflict):
    """The batch does not continue the stream's hash chain (``why`` says how): its first entry
    does not link to the stored last one (altered by hand, written before the chain, or another
    history than the writer's), or its entries are not a chain numbered from ``first_seq``."""

    def __init__(self, auction_id: str, first_seq: int, last_seq: int | None, why: str) -> None:
        self.why = why
        super().__init__(
            auction_id,
            first_seq,
            last_seq,
            f"auction {auction_id!r}: cannot append from seq {first_seq}: {why}",
        )


class JournalArchived(JournalConflict):
    """The auction was archived and trimmed from the store: it takes no more entries. Its
    history is in its archive, which ends at entry ``last_seq`` with hash ``head_hash``."""

    def __init__(self, auction_id: str, first_seq: int, head_seq: int, head_hash: str) -> None:
        self.head_hash = head_hash
        super().__init__(
            auction_id,
            first_seq,
            head_seq,
            f"auction {auction_id!r} is archived (up to entry {head_seq}): "
            f"cannot append from seq {first_seq}",
        )


class JournalNotDurable(JournalError):
    """The store would acknowledge writes that a crash can lose (checked once at connect)."""


class AwardRecord(msgspec.Struct, frozen=True):
    """One award as published to contract-signing services (see ``bidserver.store.awards``).

    ``award_id`` is stable (derived from the auction and lot by the engine), so consumers can be
    idempotent on it. ``payload`` is the JSON release, built by the engine, stored opaque here.
    """

    award_id: str
    auction_id: str
    lot_id: str
    payload: bytes


class AppendRequest(msgspec.Struct, frozen=True):
    """One auction's batch inside a cross-auction group commit (``append_many``)."""

    auction_id: str
    first_seq: int
    entries: Sequence[bytes]
    awards: Sequence[AwardRecord] = ()


@runtime_checkable
class Journal(Protocol):
    """What a room needs from durable storage. Every method may raise ``JournalUnavailable``
    except ``ping`` (which answers False instead) and ``close``."""

    async def append(
        self,
        auction_id: str,
        first_seq: int,
        entries: Sequence[bytes],
        awards: Sequence[AwardRecord] = (),
    ) -> None:
        """Durably store ``entries`` as seqs ``first_seq..`` and publish ``awards``, atomically.

        A full retry of an already stored batch is a successful no-op; anything else that does
        not continue the stream raises ``JournalConflict``. Registers the auction in the index.
        """
        ...

    async def append_many(self, requests: Sequence[AppendRequest]) -> list[JournalError | None]:
        """Group commit across auctions: one outcome per request (None = durable)."""
        ...

    async def read(
        self, auction_id: str, after_seq: int = 0, *, durable: bool = True
    ) -> list[tuple[int, bytes]]:
        """Every stored ``(seq, entry)`` with seq > ``after_seq``, in order.

        ``durable=True`` (the default, for anything that will be shown or answered): every entry
        returned is proven durable, or ``JournalUnavailable`` is raised. ``durable=False`` only
        looks (a batch of reads followed by one ``fence()`` costs one proof, not one per read).
        """
        ...

    async def fence(self, auction_ids: Collection[str] | None = None) -> None:
        """Prove durable everything the store held when the call was made (and so every read
        that completed before it), or raise ``JournalUnavailable``. With ``auction_ids``, what
        it held of those auctions (on a cluster: only their masters are asked, so a failover
        elsewhere does not hold up the proof).

        For data obtained other than through ``read`` (a follower's ``XREAD`` of another writer's
        stream) or after several ``read(durable=False)``. Free where every write is durable
        before it is visible (AOF ``appendfsync always``, the memory twin).
        """
        ...

    async def auction_ids(self) -> list[str]:
        """Every auction ever appended to (sorted)."""
        ...

    async def unfinished_ids(self) -> list[str]:
        """The auctions to replay at startup: ``auction_ids`` minus the finished ones (sorted)."""
        ...

    async def mark_finished(self, auction_id: str) -> None: ...

    async def trim_archived(self, auction_id: str, head_seq: int, head_hash: str) -> None:
        """Delete a finished auction's entries once its archive holds them (the archive ends
        at entry ``head_seq``, whose hash is ``head_hash``), atomically and only if nothing
        was appended since: else ``JournalConflict`` and nothing is deleted. Afterwards
        ``read`` answers [], appends raise ``JournalArchived``, and ``auction_ids``,
        ``unfinished_ids`` and ``archived`` still know the auction. Trimming again with the
        same head is a successful no-op.
        """
        ...

    async def archived(self, auction_id: str) -> tuple[int, str] | None:
        """``(head_seq, head_hash)`` of the archive the auction was trimmed to, or None."""
        ...

    async def ping(self) -> bool:
        """True if the store answers; never raises (used by health checks)."""
        ...

    async def close(self) -> None: ...


def validate_batch(first_seq: int, entries: Sequence[bytes]) -> list[Header]:
    """Shared argument checks, so both journals refuse the same programming errors
    (``ValueError``, raised before anything is written): the entries' headers."""
    if first_seq < 1:
        raise ValueError(f"sequence numbers start at 1, got first_seq={first_seq}")
    if not entries:
        raise ValueError("append needs at least one entry")
    return [read_header(entry) for entry in entries]


def unchained(
    auction_id: str, first_seq: int, headers: Sequence[Header]
) -> JournalChainMismatch | None:
    """Why the batch is not a piece of chain numbered from ``first_seq``, if it is not."""
    prev = headers[0].prev
    for seq, header in enumerate(headers, start=first_seq):
        if header.seq != seq:
            why = f"the entry appended as seq {seq} is sealed as seq {header.seq}"
            return JournalChainMismatch(auction_id, first_seq, None, why)
        if header.prev != prev:
            why = f"entry {seq}'s prev is not the hash of entry {seq - 1} in the same batch"
            return JournalChainMismatch(auction_id, first_seq, None, why)
        prev = header.hash
    return None


def unlinked(
    auction_id: str, first_seq: int, last_seq: int, prev: str, stored: str | None
) -> JournalChainMismatch:
    """The refusal of a batch whose first entry's ``prev`` is not ``stored``, the hash of the
    stream's last entry (GENESIS for an empty stream, None for an entry without a hash)."""
    if stored is None:
        why = f"the stream's last entry (seq {last_seq}) {PREDATES_CHAIN}"
    elif last_seq == 0:
        why = f"entry {first_seq}'s prev {prev[:12]}... is not the genesis hash (empty stream)"
    else:
        why = (
            f"entry {first_seq}'s prev {prev[:12]}... is not the hash of the stored entry "
            f"{last_seq} ({stored[:12]}...): that entry was altered, or this writer's chain "
            "diverged from the journal"
        )
    return JournalChainMismatch(auction_id, first_seq, last_seq, why)


def check_head(head_seq: int) -> None:
    """``trim_archived``'s argument check, the same in both journals."""
    if head_seq < 1:
        raise ValueError(f"an archive ends at entry 1 or later, got head_seq={head_seq}")


def not_trimmed(auction_id: str, head_seq: int, last_seq: int, why: str) -> JournalConflict:
    """The refusal of ``trim_archived``: ``first_seq`` is the archive's head, ``last_seq`` the
    stream's (or the other archive's) last entry."""
    return JournalConflict(
        auction_id,
        head_seq,
        last_seq,
        f"auction {auction_id!r}: not trimmed to the archive ending at entry {head_seq}: {why}",
    )


NOT_FINISHED = "the auction is not finished"


def archived_already(head_seq: int, head_hash: str) -> str:
    """Why an auction trimmed to another archive is not trimmed again."""
    return f"it is archived already up to entry {head_seq} ({head_hash[:12]}...)"


def moved_on(last_seq: int, stored: str | None) -> str:
    """Why a stream that does not end at the archive's head is not trimmed."""
    if last_seq == 0:
        return "the stream is empty"
    return (
        f"the stream ends at entry {last_seq} ({(stored or 'no hash')[:12]}...), "
        "not at the archive's head"
    )


class MemoryJournal:
    """In-memory twin of ``RedisJournal`` with the same semantics (nothing survives the process).

    Test hooks for the layers above, to exercise "acknowledge nothing" without a real outage:

    * ``available = False``: every call raises ``JournalUnavailable`` (``ping`` answers False);
    * ``fail_after_write = n``: the next n append calls store their batch, then raise
      ``JournalUnavailable`` as if the reply had been lost (the case the retry rule is for);
    * ``append_calls``: how many append/append_many calls were made (group commit checks);
    * ``fences_fail = True``: what is stored cannot be proven durable (as when Redis's WAITAOF
      times out): ``fence`` and durable reads raise ``JournalUnavailable``, plain reads answer;
    * ``fence_calls``: how many proofs were asked for (``fence`` and durable reads);
    * ``replace(auction_id, seq, entry)``: an entry edited by hand in the store.
    """

    def __init__(self) -> None:
        self._streams: dict[str, list[tuple[bytes, str | None]]] = {}  # (entry, its hash)
        self._finished: set[str] = set()
        self._archived: dict[str, tuple[int, str]] = {}  # trimmed auctions: their archive's head
        self._awards: list[AwardRecord] = []
        self.available = True
        self.fail_after_write = 0
        self.append_calls = 0
        self.fences_fail = False
        self.fence_calls = 0

    def _reply_lost(self) -> bool:
        if self.fail_after_write > 0:
            self.fail_after_write -= 1
            return True
        return False

    @property
    def awards(self) -> list[AwardRecord]:
        """The awards stream, in publication order (a copy)."""
        return list(self._awards)

    def _check_available(self) -> None:
        if not self.available:
            raise JournalUnavailable("memory journal switched off")

    def replace(self, auction_id: str, seq: int, entry: bytes) -> None:
        """Test hook: overwrite stored entry ``seq`` as someone editing the store by hand could,
        bypassing every check; its stored hash is the one it announces (None if none)."""
        try:
            announced: str | None = read_header(entry).hash
        except ValueError:
            announced = None
        self._streams[auction_id][seq - 1] = (bytes(entry), announced)

    def _append_now(
        self,
        auction_id: str,
        first_seq: int,
        entries: Sequence[bytes],
        headers: Sequence[Header],
        awards: Sequence[AwardRecord],
    ) -> None:
        if auction_id in self._archived:
            raise JournalArchived(auction_id, first_seq, *self._archived[auction_id])
        batch = [bytes(e) for e in entries]
        stream = self._streams.get(auction_id, [])
        last = len(stream)
        if last == first_seq - 1:
            stored = stream[-1][1] if stream else GENESIS
            if headers[0].prev != stored:
                raise unlinked(auction_id, first_seq, last, headers[0].prev, stored)
            stream.extend(zip(batch, [h.hash for h in headers], strict=True))
            self._streams[auction_id] = stream
            self._awards.extend(awards)
            return
        end = first_seq - 1 + len(batch)
        if last >= end and [e for e, _ in stream[first_seq - 1 : end]] == batch:
            return  # a retry of a batch already stored: no-op, awards not re-added
        raise JournalConflict(auction_id, first_seq, last)

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
        """As ``RedisJournal.append_many``: ``ValueError`` first, then a batch that is not a
        chain in itself is refused without being written, then the others are written."""
        self.append_calls += 1
        headers = [validate_batch(r.first_seq, r.entries) for r in requests]
        outcomes: list[JournalError | None] = [
            unchained(r.auction_id, r.first_seq, h) for r, h in zip(requests, headers, strict=True)
        ]
        if not self.available:
            return [o or JournalUnavailable("memory journal switched off") for o in outcomes]
        for i, (r, h) in enumerate(zip(requests, headers, strict=True)):
            if outcomes[i] is None:
                try:
                    self._append_now(r.auction_id, r.first_seq, r.entries, h, r.awards)
                except JournalError as exc:
                    outcomes[i] = exc
        if self._reply_lost():
            lost = JournalUnavailable("memory journal: writes stored, reply lost (test hook)")
            return [lost for _ in requests]
        return outcomes

    async def read(
        self, auction_id: str, after_seq: int = 0, *, durable: bool = True
    ) -> list[tuple[int, bytes]]:
        self._check_available()
        stream = self._streams.get(auction_id, [])
        start = max(after_seq, 0)
        entries = [(i + 1, e) for i, (e, _) in enumerate(stream[start:], start=start)]
        if durable:
            await self.fence()
        return entries

    async def fence(self, auction_ids: Collection[str] | None = None) -> None:
        self.fence_calls += 1
        self._check_available()
        if self.fences_fail:
            raise JournalUnavailable("memory journal: durability not proven (test hook)")

    async def auction_ids(self) -> list[str]:
        self._check_available()
        return sorted(set(self._streams) | set(self._archived))

    async def unfinished_ids(self) -> list[str]:
        self._check_available()
        return sorted(set(self._streams) - self._finished)

    async def mark_finished(self, auction_id: str) -> None:
        self._check_available()
        self._finished.add(auction_id)

    async def trim_archived(self, auction_id: str, head_seq: int, head_hash: str) -> None:
        check_head(head_seq)
        self._check_available()
        done = self._archived.get(auction_id)
        if done is not None:
            if done == (head_seq, head_hash):
                return
            raise not_trimmed(auction_id, head_seq, done[0], archived_already(*done))
        stream = self._streams.get(auction_id, [])
        if auction_id not in self._finished:
            raise not_trimmed(auction_id, head_seq, len(stream), NOT_FINISHED)
        stored = stream[-1][1] if stream else None
        if (len(stream), stored) != (head_seq, head_hash):
            raise not_trimmed(auction_id, head_seq, len(stream), moved_on(len(stream), stored))
        del self._streams[auction_id]
        self._archived[auction_id] = (head_seq, head_hash)

    async def archived(self, auction_id: str) -> tuple[int, str] | None:
        self._check_available()
        return self._archived.get(auction_id)

    async def ping(self) -> bool:
        return self.available

    async def close(self) -> None:
        return None
