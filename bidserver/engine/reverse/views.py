"""What each participant may see: views (snapshots) and redacted events. Pure.

The rules of EU Directive 2014/24/EU Art. 35 hold here: every supplier always knows its own rank;
prices of others only if the auction announced that visibility; identities never during the
auction. The buyer sees everything, including the hidden reserve; observers see the anonymised
board (aliases) and never the reserve.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from ..terms import AcceptanceView, TermsView, acceptances, terms_view
from .. import standing
from ..standing import RestrictionView
from . import events as ev
from . import rules
from .events import Shown
from .state import AuctionState, LotPhase, LotState, Phase
from .values import Actor, Decrement, Role, SoftClose, Visibility


class RankEntry(msgspec.Struct, frozen=True):
    rank: int
    supplier: str
    alias: str
    amount: int
    at: int
    bid_id: str


class BoardEntry(msgspec.Struct, frozen=True, kw_only=True):
    rank: int
    alias: str
    amount: int
    at: int
    supplier: str | None = None  # buyer only
    name: str | None = None  # buyer only
    entered_by: str | None = None  # buyer only
    bid_id: str | None = None  # buyer only: the bid a void names


class AwardView(msgspec.Struct, frozen=True, kw_only=True):
    basis: str
    at: int
    alias: str | None = None  # where the auction shows a board (suppliers), always for others
    amount: int | None = None  # where it shows prices (suppliers), always for others
    yours: bool | None = None  # suppliers only
    supplier: str | None = None  # buyer only
    reason: str | None = None  # buyer only
    approved_by: str | None = None  # buyer only: who approved it, above the approval threshold


class AwardProposal(msgspec.Struct, frozen=True, kw_only=True):
    """A lot's award awaiting another user's approval (``engine.approval``): the buyer's."""

    bid_id: str
    supplier: str
    amount: int
    basis: str
    reason: str
    at: int
    proposed_by: str | None  # None: proposed at the close, by the rules


class LotView(msgspec.Struct, frozen=True, kw_only=True):
    lot_id: str
    title: str
    quantity: Decimal
    unit: str
    ceiling: int
    phase: str
    end_at: int | None
    extensions: int
    leading_price: int | None = None
    your_best: int | None = None
    your_rank: int | None = None
    board: tuple[BoardEntry, ...] | None = None
    reserve: int | None = None  # buyer only
    award: AwardView | None = None
    proposal: AwardProposal | None = None  # buyer only: an award awaiting approval


class InvitedSupplier(msgspec.Struct, frozen=True, kw_only=True):
    """An invited supplier as the buyer knows it: who, under which alias, since when."""

    supplier: str
    name: str
    alias: str
    invited_at: int
    # Restricted by the supplier registry during the auction: its bids stand, for you to decide
    # on (void them, or award another bid); no automatic award goes to it.
    restricted: RestrictionView | None = None


class AuctionView(msgspec.Struct, frozen=True, kw_only=True):
    auction_id: str
    title: str
    currency: str
    minor_units: int
    phase: str
    visibility: str
    bid_rule: str
    tie_rule: str
    decrement: Decrement
    soft_close: SoftClose | None
    start_at: int | None
    seq: int | None  # the journal's, to the roles that may know it (``sees_seq``), else None
    your_role: str
    your_alias: str | None = None
    participants: int | None = None
    cancel_reason: str | None = None
    lots: tuple[LotView, ...] = ()
    suppliers: tuple[InvitedSupplier, ...] | None = None  # buyer only: who is invited
    terms: TermsView | None = None  # the terms to accept before bidding (``engine.terms``)
    acceptances: tuple[AcceptanceView, ...] | None = None  # buyer only: who accepted which version
    category: str | None = None  # what the auction buys: a CPV code


def ranking(state: AuctionState, lot_id: str) -> list[RankEntry]:
    lot = state.lots[lot_id]
    return [
        RankEntry(rank, supplier, state.suppliers[supplier].alias, amount, at, lot.best[supplier].bid_id)
        for rank, (amount, at, _seq, supplier) in enumerate(lot.order, 1)
    ]


def next_deadline(state: AuctionState) -> int | None:
    """When the shell must send a Tick: the scheduled opening, or the earliest open lot's end."""
    if state.phase is Phase.DRAFT and state.config is not None:
        return state.config.start_at
    if state.phase is Phase.OPEN:
        ends = [lot.end_at for lot in state.lots.values() if lot.phase is LotPhase.OPEN]
        return min(ends) if ends else None
    return None


def sees_seq(role: Role) -> bool:
    """Whether a participant of ``role`` may know how many events the auction has had: the buyer,
    and observers (they act for the buyer's organisation and see the participants and the board).
    Not a supplier: the journal's seq counts the invitations and every other supplier's bids, and
    EU Art. 35 lets the number of participants be shown only where announced; a supplier's
    live-room cursor counts only the events it is listed (``runtime.cursors``)."""
    return role is not Role.SUPPLIER


def may_see(state: AuctionState, actor: Actor) -> bool:
    """Whether ``actor`` may see this auction at all: the one check behind every read and socket.

    Buyers see only their own organisation's auctions, suppliers only auctions they are invited
    to, observers the auctions of the buyer organisation named in their token (an auditor or a
    public viewing portal acting for that organisation), always anonymised. An observer token of
    one organisation must not open every other organisation's prices. The edges report an auction
    a principal may not see as unknown, so its existence does not leak either.
    """
    if state.buyer is None:
        return False
    if actor.role is Role.SUPPLIER:
        return actor.party in state.suppliers
    if actor.role in (Role.BUYER, Role.OBSERVER):
        return state.buyer == actor.party
    return False


def _shows_price(state: AuctionState, actor: Actor) -> bool:
    return actor.role is not Role.SUPPLIER or state.config.visibility is not Visibility.RANK_ONLY


def _shows_board(state: AuctionState, actor: Actor) -> bool:
    return actor.role is not Role.SUPPLIER or state.config.visibility is Visibility.FULL_BOARD


def _lot_view(state: AuctionState, spec, lot: LotState, actor: Actor, personal: bool) -> LotView:
    buyer = actor.role is Role.BUYER
    leader = lot.leader()
    board = None
    if _shows_board(state, actor):
        board = tuple(
            BoardEntry(
                rank=rank,
                alias=state.suppliers[supplier].alias,
                amount=amount,
                at=at,
                supplier=supplier if buyer else None,
                name=state.suppliers[supplier].name if buyer else None,
                entered_by=lot.best[supplier].entered_by if buyer else None,
                bid_id=lot.best[supplier].bid_id if buyer else None,
            )
            for rank, (amount, at, _seq, supplier) in enumerate(lot.order, 1)
        )
    award = None
    if lot.award is not None:
        a = lot.award
        yours = (a.supplier == actor.party) if personal and actor.role is Role.SUPPLIER else None
        award = AwardView(  # price and alias as the visibility allows (see ``redact``)
            alias=state.suppliers[a.supplier].alias if _shows_board(state, actor) else None,
            amount=a.amount if _shows_price(state, actor) or yours else None,
            basis=a.basis,
            at=a.at,
            yours=yours,
            supplier=a.supplier if buyer else None,
            reason=a.reason if buyer else None,
            approved_by=(a.approved_by or None) if buyer else None,
        )
    mine = lot.best.get(actor.party) if personal and actor.role is Role.SUPPLIER else None
    return LotView(
        lot_id=spec.lot_id,
        title=spec.title,
        quantity=spec.quantity,
        unit=spec.unit,
        ceiling=spec.ceiling,
        phase=lot.phase.value,
        end_at=lot.end_at,
        extensions=lot.extensions,
        leading_price=leader.amount if leader is not None and _shows_price(state, actor) else None,
        your_best=mine.amount if mine is not None else None,
        your_rank=lot.rank_of(actor.party) if mine is not None else None,
        board=board,
        reserve=spec.reserve if buyer else None,
        award=award,
        proposal=_proposal_view(lot) if buyer else None,
    )


def _proposal_view(lot: LotState) -> AwardProposal | None:
    p = lot.proposal
    if p is None:
        return None
    return AwardProposal(bid_id=p.bid_id, supplier=p.supplier, amount=p.amount, basis=p.basis,
                         reason=p.reason, at=p.at, proposed_by=p.user or None)


def view_for(state: AuctionState, actor: Actor) -> AuctionView:
    """Everything ``actor`` may see, personal figures (your rank, your best bid) included."""
    if not may_see(state, actor):
        raise ValueError(f"a {actor.role} of {actor.party!r} has no view of this auction")
    return _view(state, actor, personal=True)


def audience_view(state: AuctionState, role: Role) -> AuctionView:
    """The view every participant of ``role`` shares: no personal figures (see ``you_view``).

    The live room encodes it once per update and sends the same bytes to every socket of the
    role; what differs per supplier travels apart, in the small ``you_view``.
    """
    if role is Role.SYSTEM:
        raise ValueError("the system has no view")
    return _view(state, Actor(role, state.buyer if role is Role.BUYER else ""), personal=False)


class YourLot(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    lot_id: str
    best: int | None = None  # your best valid bid on the lot
    rank: int | None = None  # your exact rank (1 = leading)
    awarded: bool | None = None  # once the lot is awarded: whether to you
    # An open lot (of an open or paused auction) only: the highest amount you may bid now
    # (``rules.max_acceptable``), where telling it tells nothing the auction hides
    # (``rules.told_limit``)...
    max_bid: int | None = None
    # ... and, with a fat-finger guard, the lowest amount that needs no ``confirm: true``
    # (``rules.confirm_below``, the threshold the guard itself uses).
    confirm_below: int | None = None


class YouView(msgspec.Struct, frozen=True, kw_only=True):
    """A supplier's own figures: what ``view_for`` adds to ``audience_view`` for that supplier."""

    alias: str
    lots: tuple[YourLot, ...]
    # False only while the auction has terms (``engine.terms``) whose current version you have
    # not accepted: your bids are refused ``terms_not_accepted`` until you do.
    terms_accepted: bool = True
    # The supplier registry restricted you: no new bid is taken until it restores you (your bids
    # stand, for the buyer to decide on).
    restricted: RestrictionView | None = None


def you(state: AuctionState, actor: Actor) -> YouView | None:
    """A supplier's own figures; nothing personal for the other roles."""
    return you_view(state, actor.party) if actor.role is Role.SUPPLIER else None


def you_view(state: AuctionState, supplier: str) -> YouView:
    """The supplier's own figures per lot, and on open lots the rules' limits for its next bid,
    computed by the rules ``decide`` applies, so that a client suggesting a price or asking for
    a confirmation never re-implements them."""
    config = state.config
    restriction = state.restricted.get(supplier)
    # A pause keeps the limits as they are; a restricted supplier has none (no bid is taken).
    biddable = state.phase in (Phase.OPEN, Phase.PAUSED) and restriction is None
    lots = []
    for spec in config.lots:
        lot = state.lots[spec.lot_id]
        mine = lot.best.get(supplier)
        max_bid = confirm = None
        if biddable and lot.phase is LotPhase.OPEN:  # a cancel leaves lots "open", ended
            limit = rules.max_acceptable(config, lot, supplier, spec.ceiling)
            max_bid = rules.told_limit(config, lot, supplier, limit)
            confirm = rules.confirm_below(config, lot, supplier, spec.ceiling)
        lots.append(
            YourLot(
                lot_id=spec.lot_id,
                best=mine.amount if mine is not None else None,
                rank=lot.rank_of(supplier) if mine is not None else None,
                awarded=(lot.award.supplier == supplier) if lot.award is not None else None,
                max_bid=max_bid,
                confirm_below=confirm,
            )
        )
    return YouView(alias=state.suppliers[supplier].alias, lots=tuple(lots),
                   terms_accepted=state.terms.accepted_now(supplier),
                   restricted=standing.shown(restriction))


def _view(state: AuctionState, actor: Actor, personal: bool) -> AuctionView:
    config = state.config
    supplier = actor.role is Role.SUPPLIER
    return AuctionView(
        auction_id=state.auction_id,
        title=config.title,
        currency=config.currency,
        minor_units=config.minor_units,
        phase=state.phase.value,
        visibility=config.visibility.value,
        bid_rule=config.bid_rule.value,
        tie_rule=config.tie_rule.value,
        decrement=config.decrement,
        soft_close=config.soft_close,
        start_at=config.start_at,
        seq=state.seq if sees_seq(actor.role) else None,
        your_role=actor.role.value,
        your_alias=state.suppliers[actor.party].alias if supplier and personal else None,
        participants=(
            len(state.suppliers)
            if not supplier or config.visibility is Visibility.FULL_BOARD
            else None
        ),
        cancel_reason=state.cancel_reason or None,
        lots=tuple(
            _lot_view(state, spec, state.lots[spec.lot_id], actor, personal) for spec in config.lots
        ),
        suppliers=(
            tuple(
                InvitedSupplier(
                    supplier=party, name=entry.name, alias=entry.alias, invited_at=entry.invited_at,
                    restricted=standing.shown(state.restricted.get(party)),
                )
                for party, entry in state.suppliers.items()
            )
            if actor.role is Role.BUYER
            else None
        ),
        terms=terms_view(state.terms, config.terms),
        acceptances=acceptances(state.terms) if actor.role is Role.BUYER else None,
        category=None if config.category is msgspec.UNSET else config.category,
    )


# ------------------------------------------------------------------ redacted events

def _config_without_reserves(config) -> dict[str, Any]:
    """The configuration as suppliers and observers see it: no reserves, and no opening bids,
    which name suppliers with their prices (the bids themselves are shown as the visibility
    allows, as ``bid_accepted`` events, once the auction opens)."""
    data = msgspec.to_builtins(config)
    for lot in data["lots"]:
        lot.pop("reserve", None)
    data.pop("opening_bids", None)
    return data


def personal_to(state: AuctionState, event: ev.Event) -> str | None:
    """The supplier who sees this event differently from every other supplier, if any."""
    match event:
        case ev.BidAccepted():
            return event.supplier
        case ev.BidVoided():
            return state.bids[event.bid_id].supplier
        case ev.LotAwarded() | ev.SupplierRestricted() | ev.SupplierReinstated():
            return event.supplier
        case ev.TermsAccepted():
            return event.supplier
    return None


def redact(state: AuctionState, event: ev.Event, actor: Actor) -> dict[str, Any] | None:
    """The event as ``actor`` may see it (the event itself, or a JSON-ready dict with "type"), or
    None. What non-buyers see of each event type is in ``events.EVENT_TABLE``."""
    if actor.role is Role.BUYER:
        return event
    shown = ev.EVENT_TABLE[type(event)][1]
    if shown is Shown.AS_IS:
        return event
    if shown is Shown.HIDDEN:
        return None
    match event:
        case ev.AuctionCreated() | ev.ConfigUpdated():
            data = msgspec.to_builtins(event)
            data["config"] = _config_without_reserves(event.config)
            data["config"].pop("buyer_name", None)  # the buyer is hidden, by id and by name
            data.pop("buyer", None)
            data.pop("user", None)
            return data
        case ev.AuctionOpened() | ev.AuctionPaused() | ev.AuctionResumed() | ev.AuctionCancelled():
            if event.user is msgspec.UNSET:
                return event
            return msgspec.structs.replace(event, user=msgspec.UNSET)  # the buyer's person
        case ev.LotExtended():
            if event.user is msgspec.UNSET and event.reason is msgspec.UNSET:
                return event
            return msgspec.structs.replace(event, user=msgspec.UNSET, reason=msgspec.UNSET)
        case ev.BidAccepted():
            shown: dict[str, Any] = {"type": "bid_accepted", "lot_id": event.lot_id, "at": event.at}
            if event.supplier == actor.party:
                shown |= {"bid_id": event.bid_id, "amount": event.amount, "yours": True}
                if event.entered_by is not None:
                    shown["entered_by_buyer"] = True  # a phone-in bid the buyer entered for you
            elif _shows_board(state, actor):
                shown |= {"alias": state.suppliers[event.supplier].alias, "amount": event.amount}
            return shown
        case ev.BidVoided():
            shown = {"type": "bid_voided", "lot_id": event.lot_id, "reason": event.reason, "at": event.at}
            if state.bids[event.bid_id].supplier == actor.party:
                shown |= {"bid_id": event.bid_id, "yours": True}
            return shown
        case ev.LotAwarded():
            # The winning price and alias follow the auction's visibility: under rank only, no
            # supplier learns another's price from an award either (with staggered lots, later
            # lots are still being bid on). The winner knows its own price.
            shown = {
                "type": "lot_awarded",
                "lot_id": event.lot_id,
                "award_id": event.award_id,
                "basis": event.basis.value,
                "at": event.at,
            }
            yours = event.supplier == actor.party
            if _shows_board(state, actor):
                shown["alias"] = state.suppliers[event.supplier].alias
            if _shows_price(state, actor) or yours:
                shown["amount"] = event.amount
            if actor.role is Role.SUPPLIER:
                shown["yours"] = yours
            return shown
        case ev.TermsAccepted():  # its author's, besides the buyer's
            return event if actor.role is Role.SUPPLIER and actor.party == event.supplier else None
        case ev.SupplierRestricted() | ev.SupplierReinstated():
            # To the supplier it is about alone: no other supplier learns who (under rank only
            # not even that someone was), nor observers.
            return event if event.supplier == actor.party and actor.role is Role.SUPPLIER else None
    raise TypeError(f"no redaction rule for {type(event).__name__}")
