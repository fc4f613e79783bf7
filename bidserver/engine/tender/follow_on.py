"""The follow-on auction: after the full initial evaluation, the tender goes on as a live reverse
auction among its qualified bidders, their sealed prices as opening bids (EU 2014/24/EU Art. 35;
Prozorro's "auction" stage). Pure: ``start`` decides it, and the edge (``http.follow_on``)
creates, invites and starts the auction the event describes, on the existing auction format.

The choices, and why:

- Lowest price only. Art. 35(3) lets a MEAT tender's auction run on the price while the quality
  scores stay as evaluated, but then the auction would rank by the published formula, which the
  reverse auction does not; a MEAT tender is refused with a reason (its award is decided on its
  scores, ``DecideAward``).
- The full initial evaluation first (Art. 35(5)): every opened bid qualified; at least two
  valid bids, as an auction of one bidder decides nothing (the award is decided directly).
- Every admissible tenderer invited at once (Art. 35(4)): the event names them all, with their
  legal names, and the edge invites them before the auction opens.
- The basis announced (Art. 35(4), (6)): the rules are the buyer's, given here and fixed in the
  auction's configuration; each lot's ceiling is its highest valid sealed price, so no opening bid
  is above it and nobody may bid higher than the sealed prices allowed; a lot without a valid
  price is left out of the auction.
- Opening bids in the tender's ranking order (price, then the earlier receipt, then the supplier
  id): the auction's ranking at its opening is the sealed ranking (``AuctionConfig.opening_bids``).
- The award is the auction's: the tender ends in phase ``auction`` (final) and names the auction
  (``TenderView.follow_on_auction``); the auction's awards reach the awards stream as any
  auction's do. The auction's id is the tender's with ``-auction``: a retried request finds the
  same auction, never a second one.
"""

from __future__ import annotations

from ..rejections import Reason, Rejection
from ..reverse.rules import config_fault
from ..reverse.values import AuctionConfig, AwardMode, LotSpec, OpeningBid
from . import evaluation, restrictions
from .commands import StartFollowOnAuction
from .events import AuctionInvitee, FollowOnAuctionStarted, user_of
from .state import TenderState
from .values import AwardKind

AUCTION_SUFFIX = "-auction"
_TITLE_MAX = 200


def auction_id(tender_id: str) -> str:
    """The follow-on auction's id: derived, so a retry cannot create a second auction."""
    return f"{tender_id}{AUCTION_SUFFIX}"


def auction_config(state: TenderState, c: StartFollowOnAuction) -> AuctionConfig:
    """The auction's configuration: the tender's lots priced by the valid sealed bids."""
    config, rules = state.config, c.rules
    lots: list[LotSpec] = []
    opening: list[OpeningBid] = []
    for lot in config.lots:
        ranking = evaluation.rank_lot(state, lot.lot_id)
        if not ranking:
            continue
        lots.append(LotSpec(lot_id=lot.lot_id, title=lot.title, quantity=lot.quantity,
                            unit=lot.unit, ceiling=max(r.price for r in ranking)))
        opening.extend(OpeningBid(lot_id=lot.lot_id, supplier=r.supplier, amount=r.price)
                       for r in ranking)
    return AuctionConfig(
        title=f"Auction: {config.title}"[:_TITLE_MAX], currency=config.currency, lots=tuple(lots),
        duration_ms=rules.duration_ms, decrement=rules.decrement, start_at=rules.start_at,
        bid_rule=rules.bid_rule, tie_rule=rules.tie_rule, visibility=rules.visibility,
        soft_close=rules.soft_close, award_mode=AwardMode.AUTO_LOWEST,
        minor_units=config.minor_units, buyer_name=config.buyer_name, opening_bids=tuple(opening),
        approval_threshold=config.approval_threshold,  # the award is the auction's: approved there
        category=config.category,
    )


def _names(state: TenderState) -> dict[str, str]:
    """Each bidder's legal name: the opening record's, else the invitation's."""
    names = {s: entry.name for s, entry in state.suppliers.items()}
    names.update({line.supplier: line.name for line in state.record if line.name})
    return names


def start(state: TenderState, c: StartFollowOnAuction) -> list | Rejection:
    if state.config.award.kind is not AwardKind.LOWEST_PRICE:
        return Rejection(reason=Reason.INVALID_CONFIG, field="config.award.kind", detail=(
            "a follow-on auction runs on the price alone: a MEAT tender's award is decided on "
            "its scores"))
    if not evaluation.qualification_complete(state):
        return Rejection(reason=Reason.EVALUATION_INCOMPLETE,
                         detail="every opened bid must be qualified first")
    valid = evaluation.valid_suppliers(state)
    refusal = restrictions.award_refusal(state)
    if refusal is not None:
        return refusal
    if len(valid) < 2:
        return Rejection(reason=Reason.NO_VALID_BID, detail=(
            f"{len(valid)} valid bid(s): an auction needs two bidders at least; decide the award"))
    config = auction_config(state, c)
    fault = config_fault(config)
    if fault is not None:  # only the rules can break it: the rest comes from a valid tender
        return Rejection(reason=Reason.INVALID_CONFIG, detail=fault.message,
                         field=fault.field.replace("config.", "rules.", 1))
    names = _names(state)
    suppliers = tuple(AuctionInvitee(s, names.get(s, "")) for s in valid)
    return [FollowOnAuctionStarted(at=c.at, auction_id=auction_id(state.auction_id), config=config,
                                   suppliers=suppliers, user=user_of(c.actor))]

