"""Commands: what an actor asks of one auction. Each carries its actor and the time ``at`` (ms).

The engine's ``decide`` turns a command into events or a :class:`~.rejections.Rejection`.
"""

from __future__ import annotations

import msgspec

from ..standing import ReasonCode
from .values import Actor, AuctionConfig, Text


class _Command(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type", gc=False
):
    actor: Actor
    at: int


class CreateAuction(_Command, tag="create_auction"):
    auction_id: str
    config: AuctionConfig


class UpdateConfig(_Command, tag="update_config"):
    config: AuctionConfig


class InviteSupplier(_Command, tag="invite_supplier"):
    supplier: str  # supplier id, as the tokens name it
    name: str = ""  # display name, shown to the buyer only


class StartAuction(_Command, tag="start_auction"):
    pass


class PlaceBid(_Command, tag="place_bid"):
    lot_id: str
    amount: int  # minor units
    bid_id: str  # client-generated; resending it never makes a second bid
    confirm: bool = False  # confirms a drop beyond the fat-finger guard
    on_behalf_of: str | None = None  # buyer enters a bid for this supplier (phone-in)


class PauseAuction(_Command, tag="pause_auction"):
    reason: str = ""


class ResumeAuction(_Command, tag="resume_auction"):
    pass


class ExtendAuction(_Command, tag="extend_auction"):
    by_ms: int
    lot_id: str | None = None  # None: every open lot
    reason: str = ""


class CancelAuction(_Command, tag="cancel_auction"):
    reason: str


class VoidBid(_Command, tag="void_bid"):
    bid_id: str
    reason: str


class AwardLot(_Command, tag="award_lot"):
    lot_id: str
    bid_id: str | None = None  # None: the lowest valid bid
    reason: str = ""  # required when the chosen bid is not the lowest, or the reserve is not met


class Tick(_Command, tag="tick"):
    """The shell's timer firing: opens scheduled auctions and closes lots whose end has passed."""


class AcceptTerms(_Command, tag="accept_terms"):
    """A supplier accepts the auction's terms (``engine.terms``), named by their hash."""

    terms_hash: str


class ApproveAward(_Command, tag="approve_award"):
    """Another user of the buyer approves a lot's proposed award, or declines it with a reason
    (``engine.approval``)."""

    lot_id: str
    approve: bool
    reason: str = ""
class SetSupplierStanding(_Command, tag="set_supplier_standing"):
    """The supplier registry's word on an invited supplier (``engine.standing``): from the
    server alone (the system actor), never from a client."""

    supplier: str
    restricted: bool
    reason: ReasonCode  # the registry's code: suspended, blacklisted, certificate_expired...
    detail: Text = ""


Command = (
    CreateAuction
    | UpdateConfig
    | InviteSupplier
    | StartAuction
    | PlaceBid
    | PauseAuction
    | ResumeAuction
    | ExtendAuction
    | CancelAuction
    | VoidBid
    | AwardLot
    | Tick
    | AcceptTerms
    | ApproveAward
    | SetSupplierStanding
)
