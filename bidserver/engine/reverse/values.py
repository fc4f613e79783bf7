"""The reverse auction's settings and configuration.

Percentages are ``int`` basis points (1/100 of a percent) so that every rule computes in integers
and replay is exact; prices are ``int`` minor units and times ``int`` ms (``engine.values``).
"""

from __future__ import annotations

import enum
from decimal import Decimal

import msgspec

from ..values import SYSTEM, Actor, Currency, Id, Name, Role, Text, Title, Unit

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


class Decrement(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: DecrementKind
    value: int


class SoftClose(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A bid within ``window_ms`` of a lot's end moves that end to ``end + extension_ms``."""

    window_ms: int
    extension_ms: int
    trigger: SoftCloseTrigger = SoftCloseTrigger.ANY_BID
    max_extensions: int | None = None  # None: unlimited


class LotSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    lot_id: Id
    title: Name
    quantity: Decimal = Decimal(1)
    unit: Unit = "lot"
    ceiling: int  # opening price, minor units: no bid may be above it
    reserve: int | None = None  # hidden target; never shown to suppliers or observers


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
    currency: Currency  # ISO 4217 code, e.g. "EUR"
    lots: tuple[LotSpec, ...]
    duration_ms: int  # bidding time of the first lot (all lots when closing in parallel)
    decrement: Decrement
    start_at: int | None = None  # ms epoch; None: opened by the buyer's start command
    bid_rule: BidRule = BidRule.IMPROVE_OWN
    tie_rule: TieRule = TieRule.REJECT
    visibility: Visibility = Visibility.RANK_ONLY
    lot_close: LotCloseMode = LotCloseMode.PARALLEL
    stagger_ms: int = 0  # gap between consecutive lots' ends when staggered
    soft_close: SoftClose | None = None
    fat_finger_bp: int | None = None  # a drop larger than this from the last bid needs confirm=True
    min_bid_interval_ms: int = 0  # per supplier per auction; faster bids are rate limited
    award_mode: AwardMode = AwardMode.AUTO_LOWEST
    minor_units: int = 2  # digits after the decimal point when shown (EUR 2, JPY 0)
    # The buyer organisation's display name, the buyer party's name in the OCDS releases (without
    # it, its id). UNSET rather than "": a configuration without one is encoded as before the field
    # existed, so older journals and the states and snapshots folded from them keep their bytes.
    buyer_name: Name | msgspec.UnsetType = msgspec.UNSET
