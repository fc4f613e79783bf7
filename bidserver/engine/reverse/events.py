"""Events: facts that happened to one auction, in one total order (their sequence number).

Events are what the journal stores; the state is a fold of ``evolve`` over them, so an event must
carry everything needed to apply it without re-running any rule (ends, aliases and award amounts
are computed in ``decide`` and recorded here).
"""

from __future__ import annotations

import enum

import msgspec

from ..format import Delivery
from .values import AuctionConfig


class _Event(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type", gc=False
):
    at: int  # ms epoch, from the command that caused it


class LotEnd(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    lot_id: str
    end_at: int


class AuctionCreated(_Event, tag="auction_created"):
    auction_id: str
    buyer: str  # buyer organisation id
    config: AuctionConfig


class ConfigUpdated(_Event, tag="config_updated"):
    config: AuctionConfig


class SupplierInvited(_Event, tag="supplier_invited"):
    supplier: str
    alias: str  # "Supplier 3": the only name other suppliers and observers ever see
    name: str = ""


class AuctionOpened(_Event, tag="auction_opened"):
    lot_ends: tuple[LotEnd, ...]


class BidAccepted(_Event, tag="bid_accepted"):
    bid_id: str
    lot_id: str
    supplier: str
    amount: int
    entered_by: str | None = None  # buyer party when entered on the supplier's behalf


class ExtensionCause(enum.StrEnum):
    SOFT_CLOSE = "soft_close"
    BUYER = "buyer"
    STAGGER = "stagger"  # pushed by an earlier lot's extension to keep the stagger gap


class LotExtended(_Event, tag="lot_extended"):
    lot_id: str
    end_at: int  # the new end
    cause: ExtensionCause
    extensions: int  # soft-close extensions of this lot so far (after this one)


class AuctionPaused(_Event, tag="auction_paused"):
    reason: str = ""


class AuctionResumed(_Event, tag="auction_resumed"):
    lot_ends: tuple[LotEnd, ...]  # open lots' ends moved by the paused time


class AuctionCancelled(_Event, tag="auction_cancelled"):
    reason: str


class BidVoided(_Event, tag="bid_voided"):
    bid_id: str
    lot_id: str
    reason: str


class LotClosed(_Event, tag="lot_closed"):
    lot_id: str


class AwardBasis(enum.StrEnum):
    LOWEST = "lowest"
    BUYER_CHOICE = "buyer_choice"


class LotAwarded(_Event, tag="lot_awarded"):
    lot_id: str
    award_id: str  # stable and unique: f"{auction_id}:{lot_id}"
    bid_id: str
    supplier: str
    amount: int
    basis: AwardBasis
    reason: str = ""


class AuctionClosed(_Event, tag="auction_closed"):
    """Every lot has closed."""


Event = (
    AuctionCreated
    | ConfigUpdated
    | SupplierInvited
    | AuctionOpened
    | BidAccepted
    | LotExtended
    | AuctionPaused
    | AuctionResumed
    | AuctionCancelled
    | BidVoided
    | LotClosed
    | LotAwarded
    | AuctionClosed
)

class Shown(enum.Enum):
    """What participants other than the buyer see of an event (the buyer sees every event)."""

    AS_IS = "as_is"
    REDACTED = "redacted"  # a personal or reduced form: ``views.redact`` says which
    HIDDEN = "hidden"


# The one table of event types beside the union: how the live room delivers each one and what
# non-buyers see of it. ``evolve`` has the table of how each is applied; a test checks that both
# cover exactly ``Event``.
EVENT_TABLE: dict[type, tuple[Delivery, Shown]] = {
    AuctionCreated: (Delivery.LISTED, Shown.REDACTED),  # without reserves and buyer
    ConfigUpdated: (Delivery.LISTED, Shown.REDACTED),
    SupplierInvited: (Delivery.LISTED, Shown.HIDDEN),  # identities are the buyer's
    AuctionOpened: (Delivery.URGENT, Shown.AS_IS),
    BidAccepted: (Delivery.FOLDED, Shown.REDACTED),  # phone-in bids go TO_AUTHOR: ``delivery``
    LotExtended: (Delivery.URGENT, Shown.AS_IS),
    AuctionPaused: (Delivery.URGENT, Shown.AS_IS),
    AuctionResumed: (Delivery.URGENT, Shown.AS_IS),
    AuctionCancelled: (Delivery.URGENT, Shown.AS_IS),
    BidVoided: (Delivery.URGENT, Shown.REDACTED),
    LotClosed: (Delivery.URGENT, Shown.AS_IS),
    LotAwarded: (Delivery.URGENT, Shown.REDACTED),
    AuctionClosed: (Delivery.URGENT, Shown.AS_IS),
}


def delivery(event: Event) -> Delivery:
    """How the live room delivers ``event``: another supplier's bid is folded into the view (at a
    hot close there are thousands a second, and the board says all they tell), while a bid the
    buyer entered on a supplier's behalf is listed to that supplier, who did not send it."""
    if type(event) is BidAccepted and event.entered_by is not None:
        return Delivery.TO_AUTHOR
    return EVENT_TABLE[type(event)][0]


# One encoder/decoder pair for the journal: JSON so an auditor can read a stream with redis-cli.
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_event(data: bytes) -> Event:
    return _decoder.decode(data)
