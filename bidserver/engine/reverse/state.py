"""The state of one auction: a fold of ``evolve`` over its events.

Mutable on purpose: ``evolve`` applies one event in place (a bid must cost O(log n), not a copy of
the order book), while ``decide`` only reads. Each lot keeps every supplier's best valid bid and a
ranking sorted by ``(amount, at, seq)``, maintained with ``bisect``.
"""

from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass, field

from ..terms import TermsRecord
from ..standing import Restriction
from .values import AuctionConfig


class Phase(enum.StrEnum):
    NEW = "new"  # before AuctionCreated
    DRAFT = "draft"
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class LotPhase(enum.StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"
    AWARDED = "awarded"


@dataclass(slots=True)
class SupplierEntry:
    alias: str
    name: str
    invited_at: int


@dataclass(slots=True)
class BidRecord:
    bid_id: str
    lot_id: str
    supplier: str
    amount: int
    at: int
    seq: int
    entered_by: str | None = None
    voided: bool = False
    void_reason: str = ""
    user: str = ""  # who placed it (the token's sub; "" where not recorded)
    void_user: str = ""  # who voided it

    @property
    def key(self) -> tuple[int, int, int]:
        """Ranking key: lower amount first, then earlier, then earlier in the event order."""
        return (self.amount, self.at, self.seq)


@dataclass(slots=True)
class Award:
    award_id: str
    bid_id: str
    supplier: str
    amount: int
    basis: str
    reason: str
    at: int
    user: str = ""  # who awarded it ("" at the close, by the rules)
    approved_by: str = ""  # above the approval threshold: who approved it


@dataclass(slots=True)
class Proposal:
    """A lot's award above the approval threshold, proposed (``events.AwardProposed``)."""

    bid_id: str
    supplier: str
    amount: int
    basis: str
    reason: str
    at: int
    user: str = ""  # who proposed it ("" at the close, by the rules)


@dataclass(slots=True)
class Refusal:
    """A bid the rules refused (``events.BidRefused``): what a resend of its id is answered."""

    bid_id: str
    lot_id: str
    amount: int
    supplier: str  # the party it was for
    role: str  # who sent it
    party: str
    reason: str
    detail: str
    max_amount: int | None
    entered_by: str | None
    user: str
    at: int
    seq: int


@dataclass(slots=True)
class LotState:
    lot_id: str
    phase: LotPhase = LotPhase.PENDING
    end_at: int | None = None
    extensions: int = 0  # soft-close extensions so far
    best: dict[str, BidRecord] = field(default_factory=dict)  # supplier -> best valid bid
    last: dict[str, BidRecord] = field(default_factory=dict)  # supplier -> last valid bid
    order: list[tuple[int, int, int, str]] = field(default_factory=list)  # (amount, at, seq, supplier)
    award: Award | None = None
    proposal: Proposal | None = None  # an award awaiting approval (``engine.approval``)

    def leader(self) -> BidRecord | None:
        return self.best[self.order[0][3]] if self.order else None

    def rank_of(self, supplier: str) -> int | None:
        bid = self.best.get(supplier)
        if bid is None:
            return None
        return bisect.bisect_left(self.order, (*bid.key, supplier)) + 1

    def tied(self, amount: int, supplier: str) -> bool:
        """Another supplier's best bid is exactly ``amount`` (a lookup in the order, not a scan)."""
        index = bisect.bisect_left(self.order, (amount,))
        while index < len(self.order) and self.order[index][0] == amount:
            if self.order[index][3] != supplier:
                return True
            index += 1
        return False

    def set_best(self, supplier: str, bid: BidRecord | None) -> None:
        old = self.best.pop(supplier, None)
        if old is not None:
            index = bisect.bisect_left(self.order, (*old.key, supplier))
            del self.order[index]
        if bid is not None:
            self.best[supplier] = bid
            bisect.insort(self.order, (*bid.key, supplier))


@dataclass(slots=True)
class AuctionState:
    auction_id: str
    buyer: str | None = None
    config: AuctionConfig | None = None
    phase: Phase = Phase.NEW
    seq: int = 0
    created_at: int | None = None
    # when the listing's fields (``records.listed``) last changed: the listing's ``updated_at``
    listed_at: int | None = None
    opened_at: int | None = None
    paused_at: int | None = None
    cancel_reason: str = ""
    cancelled_at: int | None = None
    suppliers: dict[str, SupplierEntry] = field(default_factory=dict)
    bids: dict[str, BidRecord] = field(default_factory=dict)
    lots: dict[str, LotState] = field(default_factory=dict)
    last_bid_at: dict[str, int] = field(default_factory=dict)  # supplier -> last accepted bid time
    refusals: list[Refusal] = field(default_factory=list)  # every refused bid, in order
    refused: dict[str, int] = field(default_factory=dict)  # bid id -> its final refusal's index
    # the terms and who accepted which version (``engine.terms``)
    terms: TermsRecord = field(default_factory=TermsRecord)
    restricted: dict[str, Restriction] = field(default_factory=dict)  # supplier -> its restriction

    @classmethod
    def new(cls, auction_id: str) -> "AuctionState":
        return cls(auction_id)

    @property
    def finished(self) -> bool:
        """Nothing more will happen: cancelled, or closed with every lot awarded or without bids."""
        if self.phase is Phase.CANCELLED:
            return True
        if self.phase is not Phase.CLOSED:
            return False
        return all(lot.phase is LotPhase.AWARDED or not lot.best for lot in self.lots.values())
