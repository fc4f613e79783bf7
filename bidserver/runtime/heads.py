"""Signing tree heads of the auctions this process writes: at every phase change, and at most
``every_s`` after any other write.

Why here and like this: a head must cover only what is durable, and must never cost a bid its
time. So the room tells nothing new: after each durable write, once its senders were answered,
the registry hands the events just written to ``noted`` (O(events), no I/O, no hashing), which
only decides *when* the auction's next head is due: at once if the format says an event changes
its phase (``Format.seals_head``), else ``every_s`` after the first unsigned write. The signing
itself runs in a task of its own, one per auction at a time: it reads back from the journal
(durably) the entries after the last stored head, checks that they continue its chain, extends
the Merkle tree from the head's frontier, signs the new root (``store.tree_heads``) and stores
it (``store.head_store``) on top of the head it continued from. Long reads are verified a slice
at a time, so a first head over a long journal does not hold the event loop.

A failure (Redis away, a head stored meanwhile by another writer, a journal that does not
continue the chain) is logged and retried with back-off, reading the stored state afresh; no
request ever waits on it. A crash between a write and its head leaves the head to the next
writer of the auction (recovery notes every auction it loads, and a head is then due within
``every_s``) or, for an auction that finished meanwhile, an unsigned tail that ``audit verify``
reports. ``close`` signs what is due before the server stops, within a bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .. import metrics
from ..store.chain import GENESIS, verify
from ..store.head_store import HeadConflict, HeadRecord, TreeHeads
from ..store.journal import Journal
from ..store.merkle import Frontier, leaf_of
from ..store.tree_heads import key_id, public_raw, sign_head
from .auction import Auction

__all__ = ["HeadSigner"]

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
VERIFY_SLICE = 2000  # entries verified and hashed between two yields to the event loop
CLOSE_WAIT_S = 3.0  # how long ``close`` lets due heads be signed


class _Track:
    """One auction's signing: what the last stored head is, and whether a new one is due."""

    __slots__ = ("auction", "last", "loaded", "due", "urgent", "timer", "task")

    def __init__(self, auction: Auction) -> None:
        self.auction = auction
        self.last: HeadRecord | None = None  # the last stored head, as this process knows it
        self.loaded = False  # ``last`` was read from the store (or written by this process)
        self.due = False  # a write since the last head waits for one
        self.urgent = False  # ... and it changed the auction's phase: sign at once
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def signed(self) -> int:
        return self.last.head.tree_size if self.last is not None else 0


class HeadSigner:
    def __init__(
        self,
        store: TreeHeads,
        journal: Journal,
        key: Ed25519PrivateKey,
        now_ms: Callable[[], int],
        *,
        every_s: float = 10.0,
    ) -> None:
        self._store = store
        self._journal = journal
        self._key = key
        self._key_id = key_id(key.public_key())
        self._key_published = False
        self._now_ms = now_ms
        self._every_s = every_s
        self._tracks: dict[str, _Track] = {}
        self._closing = False

    def noted(self, auction: Auction, events: Sequence[Any]) -> None:
        """``events`` of ``auction`` are durable (and answered); none, for an auction just
        loaded: its next head is due in turn, covering whatever a crash left unsigned."""
        track = self._tracks.get(auction.auction_id)
        if track is None:
            track = self._tracks[auction.auction_id] = _Track(auction)
        track.auction = auction
        track.due = True
        seals = auction.format.seals_head
        if any(seals(event) for event in events):
            track.urgent = True
        self._schedule(track)

    def _schedule(self, track: _Track) -> None:
        if track.task is not None or self._closing:
            return  # the running task looks at ``due`` and ``urgent`` when it is done
        if track.urgent:
            if track.timer is not None:
                track.timer.cancel()
                track.timer = None
            self._start(track)
        elif track.due and track.timer is None:
            track.timer = asyncio.get_running_loop().call_later(self._every_s, self._start, track)

    def _start(self, track: _Track) -> None:
        track.timer = None
        track.task = asyncio.get_running_loop().create_task(
            self._run(track), name=f"heads:{track.auction.auction_id}"
        )

    async def _run(self, track: _Track) -> None:
        retry_s, failures = RETRY_FIRST_S, 0
        try:
            while True:
                track.due = track.urgent = False
                try:
                    await self._sign(track)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # Redis away, a conflict, a broken chain: try again
                    track.due = True
                    failures += 1
                    metrics.TREE_HEAD_FAILURES.inc()
                    level = logging.WARNING if failures == 1 else logging.DEBUG
                    log.log(level, "could not sign a tree head of auction %s (%s); retrying in "
                            "%.1f s", track.auction.auction_id, exc, retry_s,
                            extra={"auction_id": track.auction.auction_id})
                    if self._closing:
                        return
                    await asyncio.sleep(retry_s)
                    retry_s = min(retry_s * 2, RETRY_MAX_S)
        finally:
            track.task = None
        if failures > 1:
            log.info("signed a tree head of auction %s again after %d failures",
                     track.auction.auction_id, failures,
                     extra={"auction_id": track.auction.auction_id})
        auction = track.auction
        if not track.due and auction.format.finished(auction.state) and (
            track.signed == auction.state.seq
        ):
            del self._tracks[auction.auction_id]  # nothing more will happen to it
            return
        self._schedule(track)

    async def _sign(self, track: _Track) -> None:
        """Sign and store a head over every durable entry after the last stored head."""
        auction_id = track.auction.auction_id
        if not self._key_published:
            await self._store.add_key(self._key_id, public_raw(self._key.public_key()))
            self._key_published = True
        if not track.loaded:
            track.last = await self._store.last(auction_id)
            track.loaded = True
        last = track.last
        frontier, after_hash = Frontier(), GENESIS
        if last is not None:
            frontier, after_hash = self._continued(last)
        after = frontier.size
        entries = await self._journal.read(auction_id, after_seq=after)  # durable
        if not entries:
            return
        for start in range(0, len(entries), VERIFY_SLICE):
            chunk = entries[start : start + VERIFY_SLICE]
            for envelope in verify(auction_id, chunk, after_seq=frontier.size,
                                   after_hash=after_hash):
                frontier.append(leaf_of(envelope.hash))
                after_hash = envelope.hash
            await asyncio.sleep(0)
        if frontier.size <= track.signed:
            return  # rebuilt from entry 1 (see ``_continued``) and nothing new since
        head = sign_head(self._key, auction_id, frontier.size, frontier.root(), self._now_ms())
        record = HeadRecord(
            head=head, entry_hash=after_hash, frontier=tuple(h.hex() for h in frontier.hashes)
        )
        try:
            await self._store.append(record, after_size=track.signed)
        except HeadConflict:
            track.loaded = False  # another writer stored one: continue from it next time
            raise
        track.last = record
        metrics.TREE_HEADS.inc()

    def _continued(self, last: HeadRecord) -> tuple[Frontier, str]:
        """The tree and chain hash at the last stored head, if its hints give the root it
        signed; else (a head edited in the store) the empty tree, to rebuild from entry 1."""
        size = last.head.tree_size
        try:
            frontier = Frontier(size, [bytes.fromhex(h) for h in last.frontier])
        except ValueError:
            frontier = None
        if frontier is not None and frontier.root().hex() == last.head.root_hash:
            return frontier, last.entry_hash
        log.error("auction %s: the stored tree head of size %d does not hold its own root: "
                  "rebuilding the tree from entry 1", last.head.auction_id, size,
                  extra={"auction_id": last.head.auction_id})
        return Frontier(), GENESIS

    async def close(self) -> None:
        """Sign every head that is due (within ``CLOSE_WAIT_S``), then stop."""
        self._closing = True
        for track in self._tracks.values():
            if track.timer is not None:
                track.timer.cancel()
                track.timer = None
            if track.due and track.task is None:
                self._start(track)
        tasks = [t.task for t in self._tracks.values() if t.task is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=CLOSE_WAIT_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

