"""The auction listing port: which auctions a buyer organisation or a supplier may list, by state.

Why a store of its own: ``GET /api/auctions`` must not depend on which auctions the answering
process happens to have loaded (finished auctions are not loaded after a restart, and with
``--workers`` each process holds different rooms). The listing is a small index kept beside the
journal: one ``ListingEntry`` per auction, written by the runtime after the journal commit that
changed it and repaired from the journal on recovery. The journal stays the truth; the listing is
a derived, idempotent copy, which is why ``put`` is an upsert that never goes back (``seq``).

Order and pagination: newest first by ``created_at``, ties by ``auction_id`` (ascending, by code
point, which is also the byte order of UTF-8: the Redis implementation compares bytes). A page's
``next_cursor`` is the *position* (created_at, auction_id) of the last entry it returned, and the
next page holds the entries strictly after that position that match the filter *when it is
read*. Positions never change (``created_at`` is fixed when an auction is created), so a walk
through the pages, while entries are added or change state between the calls:

* never repeats an entry (every page starts strictly after the previous one);
* never skips an entry that matches the filter throughout the walk;
* does not show an auction created after the walk started (it sorts before the cursor: a fresh
  first page shows it), nor one that stopped matching the filter (left the state asked for)
  before its page was read; an auction that starts matching is shown if its page is still ahead.

The cursor is opaque (base64url) so its content may change without breaking clients; a cursor not
produced here is a ``ValueError``. ``MemoryListing`` is the twin used by the layers above; one
contract suite (``tests/store/test_listing.py``) runs against it and ``RedisListing``
(``bidserver.store.redis_listing``), so a behaviour tested on one holds on the other.
"""

from __future__ import annotations

import base64
import binascii
from typing import Protocol, runtime_checkable

import msgspec

from .journal import JournalUnavailable

__all__ = [
    "CREATED_AT_BOUND",
    "MAX_LIMIT",
    "Listing",
    "ListingEntry",
    "MemoryListing",
    "Page",
    "check_entry",
    "check_filter",
    "clamp_limit",
    "decode_cursor",
    "encode_cursor",
]

MAX_LIMIT = 200
# created_at must fit the fixed-width sort key of the Redis index (15 decimal digits of ms:
# until the year 33658), checked by both implementations so they refuse the same entries.
CREATED_AT_BOUND = 10**15


class ListingEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What the listing shows of one auction, as of journal sequence number ``seq``."""

    auction_id: str
    format: str  # "reverse_auction" today; sealed tenders etc. later
    title: str
    buyer: str  # buyer organisation id (observers of that organisation see it too)
    suppliers: tuple[str, ...]  # invited supplier ids
    state: str  # "draft", "open", "paused", "closed", "cancelled"
    created_at: int  # ms since the epoch; fixes the entry's position in every index
    updated_at: int  # ms since the epoch of the last change listed (``Summary.updated_at``)
    # the journal seq this entry reflects: a put with a lower seq is ignored. It counts every
    # event, a sealed tender's submissions included, so it is the operator's only: never served
    seq: int


class Page(msgspec.Struct, frozen=True):
    items: list[ListingEntry]
    next_cursor: str | None  # opaque; None when there is nothing after this page


@runtime_checkable
class Listing(Protocol):
    """The auction listing. Every method may raise ``JournalUnavailable`` except ``close``."""

    async def put(self, entry: ListingEntry) -> None:
        """Upsert atomically: the entry moves between state indexes, leaves the indexes of
        suppliers no longer listed; ignored if the stored entry has a higher ``seq`` (an equal
        seq rewrites it, so a repair can re-put what it rebuilt)."""
        ...

    async def page(
        self,
        *,
        buyer: str | None = None,
        supplier: str | None = None,
        state: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        """The entries of exactly one buyer organisation or one supplier (``ValueError``
        otherwise), in one state if ``state`` is given, newest first, after ``cursor``.
        ``limit`` is clamped to 1..200; a malformed cursor is a ``ValueError``."""
        ...

    async def get(self, auction_id: str) -> ListingEntry | None: ...

    async def close(self) -> None: ...


def check_entry(entry: ListingEntry) -> None:
    """Shared argument check, so both implementations refuse the same entries."""
    if not 0 <= entry.created_at < CREATED_AT_BOUND:
        raise ValueError(f"created_at out of range: {entry.created_at}")


def check_filter(buyer: str | None, supplier: str | None) -> None:
    """A listing is always scoped to one party: that is what access control lists by."""
    if (buyer is None) == (supplier is None):
        raise ValueError("give exactly one of buyer or supplier")


def clamp_limit(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def encode_cursor(entry: ListingEntry) -> str:
    """The position of ``entry`` as an opaque token."""
    return _token(entry.created_at, entry.auction_id)


def decode_cursor(cursor: str) -> tuple[int, str]:
    """``(created_at, auction_id)`` from a token made by ``encode_cursor``, else ``ValueError``.

    Only the canonical encoding is accepted (decoded, re-encoded, compared), so a token that was
    altered in any way is refused rather than read as some other position."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        created, auction_id = raw.decode().split(":", 1)
        created_at = int(created)
    except (binascii.Error, UnicodeError, ValueError):
        raise ValueError("malformed cursor") from None
    if not 0 <= created_at < CREATED_AT_BOUND or _token(created_at, auction_id) != cursor:
        raise ValueError("malformed cursor")
    return created_at, auction_id


def _token(created_at: int, auction_id: str) -> str:
    raw = f"{created_at}:{auction_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


class MemoryListing:
    """In-memory twin of ``RedisListing`` with the same semantics (nothing survives the process).

    Test hook for the layers above: ``available = False`` makes every call but ``close`` raise
    ``JournalUnavailable``, as ``RedisListing`` does when Redis is down.
    """

    def __init__(self) -> None:
        self._entries: dict[str, ListingEntry] = {}
        self.available = True

    def _check_available(self) -> None:
        if not self.available:
            raise JournalUnavailable("memory listing switched off")

    async def put(self, entry: ListingEntry) -> None:
        check_entry(entry)
        self._check_available()
        old = self._entries.get(entry.auction_id)
        if old is None or old.seq <= entry.seq:
            self._entries[entry.auction_id] = entry

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
        after = decode_cursor(cursor) if cursor is not None else None
        limit = clamp_limit(limit)
        self._check_available()
        matching = sorted(
            (
                e
                for e in self._entries.values()
                if (e.buyer == buyer if buyer is not None else supplier in e.suppliers)
                and (state is None or e.state == state)
                and (after is None or _position(e) > (-after[0], after[1]))
            ),
            key=_position,
        )
        items = matching[:limit]
        more = len(matching) > limit
        return Page(items=items, next_cursor=encode_cursor(items[-1]) if more else None)

    async def get(self, auction_id: str) -> ListingEntry | None:
        self._check_available()
        return self._entries.get(auction_id)

    async def close(self) -> None:
        return None


def _position(entry: ListingEntry) -> tuple[int, str]:
    """Sort key: newest first, then auction_id by code point (= UTF-8 byte order)."""
    return (-entry.created_at, entry.auction_id)
