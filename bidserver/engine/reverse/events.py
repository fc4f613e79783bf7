"""Events: facts that happened to one auction, in one total order (their sequence number).

Events are what the journal stores; the state is a fold of ``evolve`` over them, so an event must
carry everything needed to apply it without re-running any rule (ends, aliases and award amounts
are computed in ``decide`` and recorded here).
"""

from __future__ import annotations

import enum

import msgspec
from msgspec import UNSET, UnsetType

from ..format import Delivery
from ..rejections import Reason
from .values import Actor, AuctionConfig, Role


class _Event(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type", gc=False
):
    at: int  # ms epoch, from the command that caused it


# Fields added after journals were first written are ``UNSET`` by default, which msgspec leaves
# out of the encoding: an entry written before them decodes and re-encodes to the very bytes its
# writer sealed (``bidserver replay --verify``), and replays to the same state.
Audit = str | UnsetType  # the acting person (the token's ``sub``); UNSET: the server, or unknown


def user_of(actor: Actor) -> Audit:
    """What an event records of the person behind a command."""
    return actor.user or UNSET


def recorded(value: Audit) -> str:
    """An audit field as the state keeps it ("" where nothing was recorded)."""
    return "" if value is UNSET else value


class LotEnd(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    lot_id: str
    end_at: int


class AuctionCreated(_Event, tag="auction_created"):
    auction_id: str
    buyer: str  # buyer organisation id
    config: AuctionConfig
    user: Audit = UNSET


class ConfigUpdated(_Event, tag="config_updated"):
    config: AuctionConfig
    user: Audit = UNSET


class SupplierInvited(_Event, tag="supplier_invited"):
    supplier: str
    alias: str  # "Supplier 3": the only name other suppliers and observers ever see
    name: str = ""
    user: Audit = UNSET


class AuctionOpened(_Event, tag="auction_opened"):
    lot_ends: tuple[LotEnd, ...]
    user: Audit = UNSET  # who started it (UNSET: opened by the schedule)


class BidAccepted(_Event, tag="bid_accepted"):
    bid_id: str
    lot_id: str
    supplier: str
    amount: int
    entered_by: str | None = None  # buyer party when entered on the supplier's behalf
    user: Audit = UNSET  # who placed it: the supplier's person, or the buyer's for a phone-in


class ExtensionCause(enum.StrEnum):
    SOFT_CLOSE = "soft_close"
    BUYER = "buyer"
    STAGGER = "stagger"  # pushed by an earlier lot's extension to keep the stagger gap


class LotExtended(_Event, tag="lot_extended"):
    lot_id: str
    end_at: int  # the new end
    cause: ExtensionCause
    extensions: int  # soft-close extensions of this lot so far (after this one)
    user: Audit = UNSET  # who extended it (cause ``buyer``)
    reason: Audit = UNSET  # the buyer's reason, if one was given


class AuctionPaused(_Event, tag="auction_paused"):
    reason: str = ""
    user: Audit = UNSET


class AuctionResumed(_Event, tag="auction_resumed"):
    lot_ends: tuple[LotEnd, ...]  # open lots' ends moved by the paused time
    user: Audit = UNSET


class AuctionCancelled(_Event, tag="auction_cancelled"):
    reason: str
    user: Audit = UNSET


class BidVoided(_Event, tag="bid_voided"):
    bid_id: str
    lot_id: str
    reason: str
    user: Audit = UNSET


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
    user: Audit = UNSET  # who awarded it (UNSET: awarded at the close, by the rules)
    # Who approved it, when it was above the approval threshold (``engine.approval``): the award
    # was proposed first (``AwardProposed``, by ``user``); UNSET: no approval was needed.
    approved_by: Audit = UNSET


class AuctionClosed(_Event, tag="auction_closed"):
    """Every lot has closed."""


# Refusals that ask for the very same bid again (later, with ``confirm``, or once the terms are
# accepted: ``engine.terms``): they do not use up the bid id, so a resend of it is decided afresh.
# Every other refusal is the bid id's answer.
RESENDABLE_REFUSALS = frozenset({
    Reason.RATE_LIMITED, Reason.CONFIRMATION_REQUIRED, Reason.TERMS_NOT_ACCEPTED,
    Reason.SUPPLIER_RESTRICTED,  # the registry may restore the supplier: the same bid then goes in
})


class BidRefused(_Event, tag="bid_refused"):
    """A bid the auction's rules refused: the audit trail of attempts (EU 2014/24 Annex IV (g)),
    and what answers a resend of it, after a restart too (``decide``: a bid id is decided once).

    The buyer's alone: no other participant sees it (a supplier finds its own attempts in its bid
    history). Only refusals by the rules are recorded; what an edge refuses before the engine
    (malformed, over the rate limit) and a reused id (``duplicate_bid_id``) are not.
    """

    bid_id: str
    lot_id: str
    amount: int
    supplier: str  # the party the bid was for: the sender, or whom the buyer bid for
    role: Role  # who sent it: role, party and person, from the token
    party: str
    reason: Reason
    detail: str = ""
    max_amount: int | None = None
    entered_by: str | None = None  # buyer party when entered on a supplier's behalf
    user: Audit = UNSET


class TermsAccepted(_Event, tag="terms_accepted"):
    """A supplier accepted the auction's terms (``engine.terms``): their version and hash."""

    supplier: str
    hash: str
    version: int
    user: Audit = UNSET


class AwardProposed(_Event, tag="award_proposed"):
    """An award above the approval threshold (``engine.approval``), not made yet: another user
    of the buyer approves it (``LotAwarded``, with these figures) or declines it. The buyer's
    alone: nothing is published of it."""

    lot_id: str
    bid_id: str
    supplier: str
    amount: int
    basis: AwardBasis
    reason: str = ""
    proposed_by: Audit = UNSET  # UNSET: proposed at the close, by the rules


class AwardDeclined(_Event, tag="award_declined"):
    """A proposed award declined, with the reason: the lot waits for an award again."""

    lot_id: str
    reason: str
    user: Audit = UNSET
class SupplierRestricted(_Event, tag="supplier_restricted"):
    """The supplier registry restricted an invited supplier (``engine.standing``): its new bids
    are refused, its bids stand for the buyer to decide on, and no automatic award goes to it.
    Written again when the reason changes."""

    supplier: str
    reason: str  # the registry's code: suspended, blacklisted, certificate_expired...
    detail: str = ""


class SupplierReinstated(_Event, tag="supplier_reinstated"):
    """The supplier's restriction ended: it may bid again."""

    supplier: str
    reason: str = ""
    detail: str = ""


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
    | BidRefused
    | TermsAccepted
    | AwardProposed
    | AwardDeclined
    | SupplierRestricted
    | SupplierReinstated
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
    # Buyer actions name the buyer's person (``user``): identities are the buyer's, so others see
    # them without it (``views.redact``).
    AuctionOpened: (Delivery.URGENT, Shown.REDACTED),
    BidAccepted: (Delivery.FOLDED, Shown.REDACTED),  # phone-in bids go TO_AUTHOR: ``delivery``
    LotExtended: (Delivery.URGENT, Shown.REDACTED),  # without the buyer's person and reason
    AuctionPaused: (Delivery.URGENT, Shown.REDACTED),
    AuctionResumed: (Delivery.URGENT, Shown.REDACTED),
    AuctionCancelled: (Delivery.URGENT, Shown.REDACTED),
    BidVoided: (Delivery.URGENT, Shown.REDACTED),
    LotClosed: (Delivery.URGENT, Shown.AS_IS),
    LotAwarded: (Delivery.URGENT, Shown.REDACTED),
    AuctionClosed: (Delivery.URGENT, Shown.AS_IS),
    BidRefused: (Delivery.FOLDED, Shown.HIDDEN),  # the buyer's audit trail
    TermsAccepted: (Delivery.TO_AUTHOR, Shown.REDACTED),  # the buyer and the supplier who accepted
    AwardProposed: (Delivery.LISTED, Shown.HIDDEN),  # not an award until approved: the buyer's
    AwardDeclined: (Delivery.LISTED, Shown.HIDDEN),
    # At once to the buyer and to the supplier it is about; to no other supplier, nor observers:
    # who is restricted is not theirs to know (``views.redact``).
    SupplierRestricted: (Delivery.URGENT, Shown.REDACTED),
    SupplierReinstated: (Delivery.URGENT, Shown.REDACTED),
}


# The events that change the auction's phase or a lot's: each is covered by a signed tree head
# of the audit log as soon as it is durable (``Format.seals_head``).
PHASE_CHANGES = frozenset({
    AuctionOpened, AuctionPaused, AuctionResumed, AuctionClosed, AuctionCancelled, LotClosed,
    LotAwarded,
})


def seals_head(event: Event) -> bool:
    return type(event) in PHASE_CHANGES


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
