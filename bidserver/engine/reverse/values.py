"""The reverse auction's settings and configuration.

Percentages are ``int`` basis points (1/100 of a percent) so that every rule computes in integers
and replay is exact; prices are ``int`` minor units and times ``int`` ms (``engine.values``).
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

import msgspec

from ..approval import ApprovalThreshold
from ..terms import TermsText
from ..values import SYSTEM, Actor, Currency, Id, Name, Role, Text, Title, Unit
from ..values import SYSTEM, Actor, Category, Currency, Id, Name, Role, Text, Title, Unit

__all__ = [
    "SYSTEM", "Actor", "AuctionConfig", "AwardMode", "BidRule", "Currency", "Decrement",
    "DecrementKind", "Id", "LotCloseMode", "LotSpec", "Name", "Role", "SoftClose",
    "SoftCloseTrigger", "Text", "TieRule", "Title", "Unit", "Visibility",
]

class DecrementKind(enum.StrEnum):
    AMOUNT = "amount"  # value in minor units
    PERCENT = "percent"  # value in basis points of the reference price


class BidRule(enum.StrEnum):
    IMPROVE_OWN = "improve_own"  # a bid must beat the supplier's own best by the decrement
    BEAT_LEADER = "beat_leader"  # a bid must beat the leading bid by the decrement


class TieRule(enum.StrEnum):
    REJECT = "reject"  # a bid equal to another supplier's best is refused
    RANK_BY_TIME = "rank_by_time"  # allowed; the earlier bid ranks first


class Visibility(enum.StrEnum):
    RANK_ONLY = "rank_only"
    RANK_AND_LEADING_PRICE = "rank_and_leading_price"
    FULL_BOARD = "full_board"  # anonymised: aliases such as "Supplier 3", never identities


class LotCloseMode(enum.StrEnum):
    PARALLEL = "parallel"
    STAGGERED = "staggered"  # lot n closes stagger_ms after lot n-1


class SoftCloseTrigger(enum.StrEnum):
    ANY_BID = "any_bid"
    NEW_LEADER = "new_leader"


class AwardMode(enum.StrEnum):
    AUTO_LOWEST = "auto_lowest"  # at a lot's close, award the lowest valid bid if the reserve is met
    BUYER = "buyer"  # the buyer awards each lot after the close


# Descriptions, units and bounds of every configuration field, for the OpenAPI document
# (msgspec puts them in the JSON Schema). The bounds are enforced while decoding, and are the
# engine's own rules (``rules.config_problem``, which still checks configurations built in code):
# a configuration that breaks one is refused before the engine sees it. Rules across fields
# (a reserve at most the ceiling, unique lot ids) are the engine's alone.
_MS = "milliseconds"
Positive = Annotated[int, msgspec.Meta(gt=0)]
NotNegative = Annotated[int, msgspec.Meta(ge=0)]


class Decrement(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The least a bid must improve by (on the supplier's own best or the leader, per
    ``bid_rule``)."""

    kind: Annotated[DecrementKind, msgspec.Meta(
        description="`amount`: `value` is in minor units; `percent`: `value` is in basis points "
        "(1/100 of a percent) of the reference price"
    )]
    value: Annotated[Positive, msgspec.Meta(
        description="Minor units of the currency (`amount`), or basis points (`percent`: 50 is "
        "0.50%, at most 10000 = 100%); percentages round up to at least 1 minor unit"
    )]


class SoftClose(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A bid within ``window_ms`` of a lot's end moves that end to ``end + extension_ms``."""

    window_ms: Annotated[Positive, msgspec.Meta(
        description=f"The last {_MS} before a lot's end in which a bid extends it"
    )]
    extension_ms: Annotated[Positive, msgspec.Meta(
        description=f"How far ({_MS}) such a bid moves the lot's end"
    )]
    trigger: Annotated[SoftCloseTrigger, msgspec.Meta(
        description="Which bids extend: any accepted bid, or only one that takes the lead"
    )] = SoftCloseTrigger.ANY_BID
    max_extensions: Annotated[NotNegative | None, msgspec.Meta(
        description="At most this many extensions per lot; null: unlimited"
    )] = None  # None: unlimited


class LotSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    lot_id: Annotated[Id, msgspec.Meta(description="The lot's id, unique in the auction")]
    title: Name
    quantity: Annotated[Decimal, msgspec.Meta(
        description="How much is bought, in `unit`s: a positive finite decimal, as a string "
        "(\"1200\", \"0.5\"; a JSON number is read exactly too)",
        extra_json_schema={"type": ["string", "number"]},
    )] = Decimal(1)
    unit: Annotated[Unit, msgspec.Meta(description="The unit of `quantity` (\"t\", \"kg\")")] = "lot"
    ceiling: Annotated[Positive, msgspec.Meta(
        description="The opening price in minor units of the currency: no bid may be above it"
    )]  # opening price, minor units: no bid may be above it
    reserve: Annotated[Positive | None, msgspec.Meta(
        description="A hidden target price in minor units, at most the ceiling: shown to the "
        "buyer only; an automatic award needs it met"
    )] = None  # hidden target; never shown to suppliers or observers


class OpeningBid(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A supplier's bid standing when the auction opens: a follow-on auction's sealed price
    (EU 2014/24/EU Art. 35: the tenderers' evaluated prices are where the auction starts)."""

    lot_id: Id
    supplier: Annotated[Id, msgspec.Meta(description="An invited supplier's id")]
    amount: Annotated[Positive, msgspec.Meta(
        description="Minor units of the currency, at most the lot's ceiling")]


class AuctionConfig(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    kw_only=True,
    tag_field="format",
    tag="reverse_auction",
):
    """A reverse auction's configuration: one member of the tagged union of formats' configs
    (``engine.formats.EventConfig``). Its ``format`` tag may be left out while it is the only
    format an endpoint accepts."""

    title: Title
    currency: Annotated[Currency, msgspec.Meta(
        pattern="^[A-Z]{3}$", description="An ISO 4217 currency code, e.g. \"EUR\""
    )]  # ISO 4217 code, e.g. "EUR"
    lots: Annotated[tuple[LotSpec, ...], msgspec.Meta(min_length=1, description="At least one lot")]
    duration_ms: Annotated[Positive, msgspec.Meta(
        description=f"Bidding time of the first lot (of all lots when closing in parallel), {_MS}"
    )]  # bidding time of the first lot (all lots when closing in parallel)
    decrement: Decrement
    start_at: Annotated[NotNegative | None, msgspec.Meta(
        description="When the auction opens, milliseconds since the Unix epoch (UTC); null: "
        "when the buyer starts it"
    )] = None  # ms epoch; None: opened by the buyer's start command
    bid_rule: BidRule = BidRule.IMPROVE_OWN
    tie_rule: TieRule = TieRule.REJECT
    visibility: Visibility = Visibility.RANK_ONLY
    lot_close: LotCloseMode = LotCloseMode.PARALLEL
    stagger_ms: Annotated[NotNegative, msgspec.Meta(
        description=f"Staggered lots: the gap between consecutive lots' ends, {_MS} (more than 0 "
        "with several lots)"
    )] = 0  # gap between consecutive lots' ends when staggered
    soft_close: SoftClose | None = None
    fat_finger_bp: Annotated[Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None, msgspec.Meta(
        description="A drop of more than this many basis points (1/100 of a "
        "percent) from the supplier's last bid needs `confirm: true`; null: no guard"
    )] = None  # a drop larger than this from the last bid needs confirm=True
    min_bid_interval_ms: Annotated[NotNegative, msgspec.Meta(
        description=f"Least time between one supplier's bids in this auction, {_MS}"
    )] = 0  # per supplier per auction; faster bids are rate limited
    award_mode: AwardMode = AwardMode.AUTO_LOWEST
    minor_units: Annotated[int, msgspec.Meta(
        ge=0, le=4, description="Digits after the decimal point when amounts are shown (EUR 2, "
        "JPY 0): every amount is an integer of these minor units"
    )] = 2  # digits after the decimal point when shown (EUR 2, JPY 0)
    # The buyer organisation's display name, the buyer party's name in the OCDS releases (without
    # it, its id). UNSET rather than "": a configuration without one is encoded as before the field
    # existed, so older journals and the states and snapshots folded from them keep their bytes.
    buyer_name: Name | msgspec.UnsetType = msgspec.UNSET
    # Bids entered for suppliers when the auction opens (``decide._opened``), in order: a
    # follow-on auction's sealed prices (``http.follow_on``). UNSET, like ``buyer_name``, so that
    # configurations without them keep their bytes.
    opening_bids: Annotated[tuple[OpeningBid, ...], msgspec.Meta(
        max_length=1000, description="Bids standing for invited suppliers from the moment the "
        "auction opens (at most one per supplier and lot, each at most the lot's ceiling), "
        "entered in this order: an equal amount ranks after the earlier one"
    )] | msgspec.UnsetType = msgspec.UNSET
    # Terms a supplier accepts before it bids (``engine.terms``), and the amount above which a
    # lot's award needs another user's approval (``engine.approval``). UNSET, like
    # ``buyer_name``, so that configurations without them keep their bytes.
    terms: TermsText | msgspec.UnsetType = msgspec.UNSET
    approval_threshold: ApprovalThreshold | msgspec.UnsetType = msgspec.UNSET
    # What the auction buys (a CPV code): shown to every participant and in the OCDS releases'
    # items. UNSET, like ``buyer_name``, so that configurations without one keep their bytes.
    category: Category | msgspec.UnsetType = msgspec.UNSET
