"""``decide``: validate a command against the state and say which events it causes. Pure.

The transition table maps (phase, command type) to a handler; a miss is a Rejection naming the
command and the phase, so every "not now" has a precise, machine-readable reason.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import UNSET

from .actions import permission_refusal
from .commands import (
    AcceptTerms,
    ApproveAward,
    AwardLot,
    CancelAuction,
    Command,
    CreateAuction,
    ExtendAuction,
    InviteSupplier,
    PauseAuction,
    PlaceBid,
    ResumeAuction,
    SetSupplierStanding,
    StartAuction,
    Tick,
    UpdateConfig,
    VoidBid,
)
from .events import (
    AuctionCancelled,
    AuctionClosed,
    AuctionCreated,
    AuctionOpened,
    AuctionPaused,
    AuctionResumed,
    AwardBasis,
    AwardDeclined,
    AwardProposed,
    BidAccepted,
    BidRefused,
    BidVoided,
    ConfigUpdated,
    Event,
    ExtensionCause,
    LotAwarded,
    LotClosed,
    LotEnd,
    LotExtended,
    SupplierInvited,
    SupplierReinstated,
    SupplierRestricted,
    TermsAccepted,
    user_of,
)
from .. import standing
from ..approval import approval_refusal, needs_approval
from ..rejections import Reason, Rejection
from ..terms import acceptance, bid_refusal
from .rules import (
    config_fault, lot_ends, max_acceptable, needs_confirmation, stagger_pushes, told_limit,
)
from .state import AuctionState, LotPhase, Phase
from .values import AwardMode, Role, SoftCloseTrigger, TieRule

Decision = list[Event] | Rejection


def _no(reason: Reason, detail: str = "", max_amount: int | None = None) -> Rejection:
    return Rejection(reason=reason, detail=detail, max_amount=max_amount)


def _is_buyer(state: AuctionState, command: Command) -> bool:
    return command.actor.role is Role.BUYER and command.actor.party == state.buyer


# ------------------------------------------------------------------ lifecycle


def _create(state: AuctionState, c: CreateAuction) -> Decision:
    if c.actor.role is not Role.BUYER:
        return _no(Reason.FORBIDDEN, "only a buyer creates auctions")
    if c.auction_id != state.auction_id:
        return _no(Reason.INVALID_CONFIG, "auction id does not match")
    fault = config_fault(c.config)
    if fault is not None:
        return Rejection(reason=Reason.INVALID_CONFIG, detail=fault.message, field=fault.field)
    return [AuctionCreated(at=c.at, auction_id=c.auction_id, buyer=c.actor.party, config=c.config,
                           user=user_of(c.actor))]


def _update_config(state: AuctionState, c: UpdateConfig) -> Decision:
    fault = config_fault(c.config)
    if fault is not None:
        return Rejection(reason=Reason.INVALID_CONFIG, detail=fault.message, field=fault.field)
    return [ConfigUpdated(at=c.at, config=c.config, user=user_of(c.actor))]


def _invite(state: AuctionState, c: InviteSupplier) -> Decision:
    if not c.supplier.strip():
        return _no(Reason.UNKNOWN_SUPPLIER, "supplier id is empty")
    if c.supplier in state.suppliers:
        return _no(Reason.ALREADY_INVITED, f"{c.supplier} is already invited")
    alias = f"Supplier {len(state.suppliers) + 1}"
    return [SupplierInvited(at=c.at, supplier=c.supplier, alias=alias, name=c.name,
                            user=user_of(c.actor))]


OPENING_BID_PREFIX = "opening:"  # an opening bid's id: f"opening:{lot_id}:{supplier}"


def _opened(state: AuctionState, at: int, open_at: int, user=UNSET) -> list[Event]:
    """The opening, and the configuration's opening bids accepted at that moment, in their
    order (so an equal amount ranks after the earlier one). They are recorded as the suppliers'
    own bids (``entered_by`` None: nobody phoned them in) under a reserved id; an opening bid of
    a supplier not invited by then is left out (``_start`` refuses instead)."""
    events: list[Event] = [AuctionOpened(at=at, lot_ends=lot_ends(state.config, open_at), user=user)]
    for bid in state.config.opening_bids or ():
        if bid.supplier in state.suppliers:
            events.append(BidAccepted(
                at=at, bid_id=f"{OPENING_BID_PREFIX}{bid.lot_id}:{bid.supplier}",
                lot_id=bid.lot_id, supplier=bid.supplier, amount=bid.amount,
            ))
    return events


def _start(state: AuctionState, c: StartAuction) -> Decision:
    for i, bid in enumerate(state.config.opening_bids or ()):
        if bid.supplier not in state.suppliers:
            return Rejection(reason=Reason.NOT_INVITED, field=f"config.opening_bids[{i}].supplier",
                             detail=f"{bid.supplier} has an opening bid but is not invited")
    return _opened(state, c.at, c.at, user_of(c.actor))


def _pause(state: AuctionState, c: PauseAuction) -> Decision:
    return [AuctionPaused(at=c.at, reason=c.reason, user=user_of(c.actor))]


def _resume(state: AuctionState, c: ResumeAuction) -> Decision:
    paused_for = c.at - (state.paused_at if state.paused_at is not None else c.at)  # 0 is a time
    ends = tuple(
        LotEnd(lot.lot_id, lot.end_at + paused_for)
        for lot in state.lots.values()
        if lot.phase is LotPhase.OPEN
    )
    return [AuctionResumed(at=c.at, lot_ends=ends, user=user_of(c.actor))]


def _cancel(state: AuctionState, c: CancelAuction) -> Decision:
    if not c.reason.strip():
        return _no(Reason.REASON_REQUIRED, "a cancellation needs a reason")
    if state.finished:
        return _no(Reason.AUCTION_CLOSED, "every lot is already decided")
    return [AuctionCancelled(at=c.at, reason=c.reason, user=user_of(c.actor))]


def _extend(state: AuctionState, c: ExtendAuction) -> Decision:
    if c.by_ms <= 0:
        return _no(Reason.INVALID_EXTENSION, "by_ms must be positive")
    # A lot is over at its end, whether or not the tick closing it has come yet (the clock stops
    # while paused): extending it then would reopen it for bids after its close.
    now = state.paused_at if state.phase is Phase.PAUSED and state.paused_at is not None else c.at

    def running(lot) -> bool:
        return lot.phase is LotPhase.OPEN and now < lot.end_at

    if c.lot_id is not None:
        lot = state.lots.get(c.lot_id)
        if lot is None:
            return _no(Reason.UNKNOWN_LOT, f"no lot {c.lot_id}")
        if not running(lot):
            return _no(Reason.LOT_CLOSED, f"lot {c.lot_id} is closed")
        targets = [lot]
    else:
        targets = [lot for lot in state.lots.values() if running(lot)]
        if not targets:
            return _no(Reason.LOT_CLOSED, "every lot has ended")
    ends = {lot_id: lot.end_at for lot_id, lot in state.lots.items()}
    events: list[Event] = []
    for lot in targets:
        ends[lot.lot_id] = lot.end_at + c.by_ms
        events.append(
            LotExtended(
                at=c.at,
                lot_id=lot.lot_id,
                end_at=ends[lot.lot_id],
                cause=ExtensionCause.BUYER,
                extensions=lot.extensions,
                user=user_of(c.actor),
                reason=c.reason or UNSET,
            )
        )
    events.extend(_stagger(state, ends, c.at))
    return events


def _stagger(state: AuctionState, ends: dict[str, int | None], at: int) -> list[Event]:
    return [
        LotExtended(
            at=at,
            lot_id=lot_id,
            end_at=end,
            cause=ExtensionCause.STAGGER,
            extensions=state.lots[lot_id].extensions,
        )
        for lot_id, end in stagger_pushes(state, ends)
    ]


# ------------------------------------------------------------------ bids


# Every refusal of a bid (``_bid`` below, and the edges' own rate limit, which shares its code):
# the HTTP API's OpenAPI document lists them from here.
BID_REASONS = (
    Reason.FORBIDDEN, Reason.NOT_INVITED, Reason.DUPLICATE_BID_ID, Reason.AUCTION_NOT_OPEN,
    Reason.AUCTION_PAUSED, Reason.AUCTION_CLOSED, Reason.AUCTION_CANCELLED, Reason.UNKNOWN_LOT,
    Reason.LOT_CLOSED, Reason.INVALID_AMOUNT, Reason.ABOVE_CEILING, Reason.RATE_LIMITED,
    Reason.DECREMENT_TOO_SMALL, Reason.TIE_NOT_ALLOWED, Reason.CONFIRMATION_REQUIRED,
    Reason.TERMS_NOT_ACCEPTED,
    Reason.SUPPLIER_RESTRICTED,
)


def _bidder(state: AuctionState, c: PlaceBid) -> tuple[str, str | None]:
    """Whom a bid is for, and the buyer who entered it on that supplier's behalf (or None)."""
    if c.actor.role is Role.BUYER and c.actor.party == state.buyer and c.on_behalf_of:
        return c.on_behalf_of, c.actor.party
    return c.actor.party, None


def _bid(state: AuctionState, c: PlaceBid) -> Decision:
    config = state.config
    supplier, entered_by = _bidder(state, c)
    if entered_by is None and (c.actor.role is not Role.SUPPLIER or c.on_behalf_of is not None):
        return _no(Reason.FORBIDDEN, "only suppliers bid; buyers bid on a supplier's behalf")
    if supplier not in state.suppliers:
        return _no(Reason.NOT_INVITED, "not invited to this auction")
    # A bid id is decided once (docs/protocol.md, "Bid ids"): a resend of a decided bid gets its
    # first answer, before any phase check (a supplier whose answer to a last-second bid was lost
    # resends it after the close and must hear "accepted", not "closed"); the id sent with
    # another bid is refused.
    known = state.bids.get(c.bid_id)
    if known is not None:
        if (known.supplier, known.lot_id, known.amount) == (supplier, c.lot_id, c.amount):
            return []
        return _no(Reason.DUPLICATE_BID_ID, "this bid id was used for another bid")
    index = state.refused.get(c.bid_id)
    if index is not None:
        first = state.refusals[index]
        if (first.supplier, first.lot_id, first.amount) == (supplier, c.lot_id, c.amount):
            return Rejection(reason=Reason(first.reason), detail=first.detail,
                             max_amount=first.max_amount)
        return _no(Reason.DUPLICATE_BID_ID, "this bid id was used for another bid")
    refusal = standing.bid_refusal(state.restricted, supplier)  # a phone-in bid for it too
    if refusal is not None:
        return refusal
    phase_refusal = _BID_PHASES.get(state.phase)
    if phase_refusal is not None:
        return _no(phase_refusal, f"the auction is {state.phase}")
    lot = state.lots.get(c.lot_id)
    if lot is None:
        return _no(Reason.UNKNOWN_LOT, f"no lot {c.lot_id}")
    if lot.phase is not LotPhase.OPEN or c.at >= lot.end_at:
        return _no(Reason.LOT_CLOSED, f"lot {c.lot_id} is closed")
    refusal = bid_refusal(state.terms, supplier, entered_by is not None)
    if refusal is not None:
        return refusal
    if c.amount <= 0:
        return _no(Reason.INVALID_AMOUNT, "the amount must be positive")
    spec = next(s for s in config.lots if s.lot_id == c.lot_id)
    if c.amount > spec.ceiling:
        return _no(Reason.ABOVE_CEILING, "above the ceiling price", spec.ceiling)
    last_at = state.last_bid_at.get(supplier)
    if last_at is not None and c.at - last_at < config.min_bid_interval_ms:
        return Rejection(reason=Reason.RATE_LIMITED,
                         detail=f"at most one bid per {config.min_bid_interval_ms} ms",
                         retry_after_ms=last_at + config.min_bid_interval_ms - c.at)
    limit = max_acceptable(config, lot, supplier, spec.ceiling)
    if c.amount > limit:
        return _no(Reason.DECREMENT_TOO_SMALL, "the bid does not improve enough",
                   told_limit(config, lot, supplier, limit))
    if config.tie_rule is TieRule.REJECT and lot.tied(c.amount, supplier):
        return _no(Reason.TIE_NOT_ALLOWED, "another supplier already bid this amount")
    if not c.confirm and needs_confirmation(config, lot, supplier, spec.ceiling, c.amount):
        return _no(Reason.CONFIRMATION_REQUIRED, "a large drop: resend with confirm=true")

    events: list[Event] = [
        BidAccepted(
            at=c.at,
            bid_id=c.bid_id,
            lot_id=c.lot_id,
            supplier=supplier,
            amount=c.amount,
            entered_by=entered_by,
            user=user_of(c.actor),
        )
    ]
    soft = config.soft_close
    if soft is not None and lot.end_at - c.at <= soft.window_ms:
        leader = lot.leader()
        new_leader = leader is None or (c.amount, c.at) < (leader.amount, leader.at)
        allowed = soft.max_extensions is None or lot.extensions < soft.max_extensions
        if allowed and (soft.trigger is SoftCloseTrigger.ANY_BID or new_leader):
            end = lot.end_at + soft.extension_ms
            events.append(
                LotExtended(
                    at=c.at,
                    lot_id=lot.lot_id,
                    end_at=end,
                    cause=ExtensionCause.SOFT_CLOSE,
                    extensions=lot.extensions + 1,
                )
            )
            ends = {lot_id: other.end_at for lot_id, other in state.lots.items()}
            ends[lot.lot_id] = end
            events.extend(_stagger(state, ends, c.at))
    return events


_BID_PHASES = {
    Phase.DRAFT: Reason.AUCTION_NOT_OPEN,
    Phase.PAUSED: Reason.AUCTION_PAUSED,
    Phase.CLOSED: Reason.AUCTION_CLOSED,
    Phase.CANCELLED: Reason.AUCTION_CANCELLED,
}


def _void(state: AuctionState, c: VoidBid) -> Decision:
    if not c.reason.strip():
        return _no(Reason.REASON_REQUIRED, "voiding a bid needs a reason")
    bid = state.bids.get(c.bid_id)
    if bid is None:
        return _no(Reason.UNKNOWN_BID, f"no bid {c.bid_id}")
    if bid.voided:
        return _no(Reason.ALREADY_VOIDED, "the bid is already void")
    if state.lots[bid.lot_id].phase is LotPhase.AWARDED:
        return _no(Reason.ALREADY_AWARDED, "the lot is awarded")
    if state.lots[bid.lot_id].proposal is not None:  # the proposal rests on the ranking
        return _no(Reason.APPROVAL_PENDING, "the lot's award awaits approval: decline it first")
    return [BidVoided(at=c.at, bid_id=c.bid_id, lot_id=bid.lot_id, reason=c.reason,
                      user=user_of(c.actor))]


# ------------------------------------------------------------------ time and awards


def _tick(state: AuctionState, c: Tick) -> Decision:
    if c.actor.role is not Role.SYSTEM:
        return _no(Reason.FORBIDDEN, "ticks come from the server")
    config = state.config
    if state.phase is Phase.DRAFT:
        if config.start_at is not None and config.start_at <= c.at:
            # Ends count from the scheduled start, so a late tick never lengthens the auction.
            return _opened(state, c.at, config.start_at)
        return []
    if state.phase is not Phase.OPEN:
        return []
    due = sorted(
        (lot for lot in state.lots.values() if lot.phase is LotPhase.OPEN and lot.end_at <= c.at),
        key=lambda lot: (lot.end_at, lot.lot_id),
    )
    events: list[Event] = []
    for lot in due:
        events.append(LotClosed(at=c.at, lot_id=lot.lot_id))
        if config.award_mode is AwardMode.AUTO_LOWEST:
            leader = lot.leader()
            spec = next(s for s in config.lots if s.lot_id == lot.lot_id)
            # A restricted leader is never awarded by the rules: the lot waits for the buyer's
            # award (docs/suppliers.md, "A supplier restricted during an event").
            if (leader is not None and (spec.reserve is None or leader.amount <= spec.reserve)
                    and leader.supplier not in state.restricted):
                events.append(_or_proposed(state, _award(
                    state, lot.lot_id, leader.bid_id, AwardBasis.LOWEST, "", c.at)))
    still_open = sum(1 for lot in state.lots.values() if lot.phase is LotPhase.OPEN)
    if due and still_open == len(due):
        events.append(AuctionClosed(at=c.at))
    return events


def _award(state, lot_id, bid_id, basis, reason, at, user=UNSET) -> LotAwarded:
    bid = state.bids[bid_id]
    return LotAwarded(
        at=at,
        lot_id=lot_id,
        award_id=f"{state.auction_id}:{lot_id}",
        bid_id=bid_id,
        supplier=bid.supplier,
        amount=bid.amount,
        basis=basis,
        reason=reason,
        user=user,
    )


def _award_lot(state: AuctionState, c: AwardLot) -> Decision:
    lot = state.lots.get(c.lot_id)
    if lot is None:
        return _no(Reason.UNKNOWN_LOT, f"no lot {c.lot_id}")
    if lot.phase is LotPhase.AWARDED:
        return _no(Reason.ALREADY_AWARDED, "the lot is already awarded")
    if lot.phase is not LotPhase.CLOSED:
        return _no(Reason.LOT_NOT_CLOSED,
                   f"AwardLot: lot {c.lot_id} is {lot.phase} (the auction is {state.phase})")
    if lot.proposal is not None:
        return _no(Reason.APPROVAL_PENDING, f"lot {c.lot_id}'s award awaits approval")
    leader = lot.leader()
    if leader is None:
        return _no(Reason.NO_VALID_BID, "the lot has no valid bid")
    chosen = leader if c.bid_id is None else state.bids.get(c.bid_id)
    if chosen is None or chosen.voided or chosen.lot_id != c.lot_id:
        return _no(Reason.UNKNOWN_BID, "no valid bid with this id on this lot")
    if chosen.supplier in state.restricted:
        return _no(Reason.SUPPLIER_RESTRICTED, (
            f"{chosen.supplier} is restricted ({state.restricted[chosen.supplier].reason}): void "
            "its bids, or choose another bid with a reason, or wait for its reinstatement"))
    spec = next(s for s in state.config.lots if s.lot_id == c.lot_id)
    lowest = chosen is leader  # an equal but later bid ranks after it: choosing it is a choice
    reserve_met = spec.reserve is None or chosen.amount <= spec.reserve
    if (not lowest or not reserve_met) and not c.reason.strip():
        why = "not the lowest valid bid" if not lowest else "the reserve price is not met"
        return _no(Reason.REASON_REQUIRED, f"{why}: a written reason is required")
    basis = AwardBasis.LOWEST if lowest else AwardBasis.BUYER_CHOICE
    return [_or_proposed(state, _award(state, c.lot_id, chosen.bid_id, basis, c.reason, c.at,
                                       user_of(c.actor)))]


# ------------------------------------------------------------------ terms and approval


def _accept_terms(state: AuctionState, c: AcceptTerms) -> Decision:
    """A supplier accepts the current terms (``engine.terms``); again: done already."""
    found = acceptance(state.terms, c.actor, c.actor.party in state.suppliers, c.terms_hash)
    if isinstance(found, Rejection):
        return found
    return [] if found is None else [TermsAccepted(at=c.at, user=user_of(c.actor), **found)]


def _or_proposed(state: AuctionState, award: LotAwarded) -> Event:
    """The award, or, above the approval threshold (``engine.approval``), its proposal: the
    same figures, made an award by another user's approval."""
    if not needs_approval(state.config.approval_threshold, award.amount):
        return award
    return AwardProposed(at=award.at, lot_id=award.lot_id, bid_id=award.bid_id,
                         supplier=award.supplier, amount=award.amount, basis=award.basis,
                         reason=award.reason, proposed_by=award.user)


def _approve_award(state: AuctionState, c: ApproveAward) -> Decision:
    """The proposed award made (as it was proposed, now, naming who approved it) or declined."""
    lot = state.lots.get(c.lot_id)
    if lot is None:
        return _no(Reason.UNKNOWN_LOT, f"no lot {c.lot_id}")
    proposal = lot.proposal
    if proposal is None:
        return _no(Reason.NOTHING_TO_APPROVE, f"no award of lot {c.lot_id} awaits approval")
    refusal = approval_refusal(proposal.user, c.actor, c.approve, c.reason)
    if refusal is not None:
        return refusal
    if not c.approve:
        return [AwardDeclined(at=c.at, lot_id=c.lot_id, reason=c.reason, user=user_of(c.actor))]
    return [LotAwarded(
        at=c.at, lot_id=c.lot_id, award_id=f"{state.auction_id}:{c.lot_id}",
        bid_id=proposal.bid_id, supplier=proposal.supplier, amount=proposal.amount,
        basis=AwardBasis(proposal.basis), reason=proposal.reason, user=proposal.user or UNSET,
        approved_by=user_of(c.actor),
    )]


# ------------------------------------------------------------------ a supplier's standing


def _set_standing(state: AuctionState, c: SetSupplierStanding) -> Decision:
    """The registry's word on an invited supplier (``engine.standing``): an event when it changes
    anything, none when it does not. Its bids stand: the buyer sees them flagged and decides
    (voids them, or awards another bid)."""
    if c.actor.role is not Role.SYSTEM:
        return _no(Reason.FORBIDDEN, "a supplier's standing comes from the supplier registry")
    if c.supplier not in state.suppliers:
        return _no(Reason.NOT_INVITED, f"{c.supplier} is not invited to this auction")
    if state.finished:
        return _no(Reason.AUCTION_CLOSED, "every lot is already decided")
    current = state.restricted.get(c.supplier)
    if standing.unchanged(current, c.restricted, c.reason, c.detail):
        return []
    if c.restricted:
        return [SupplierRestricted(at=c.at, supplier=c.supplier, reason=c.reason, detail=c.detail)]
    return [SupplierReinstated(at=c.at, supplier=c.supplier, reason=c.reason, detail=c.detail)]


# ------------------------------------------------------------------ the table

_BUYER_ONLY = (
    UpdateConfig, InviteSupplier, StartAuction, PauseAuction, ResumeAuction, ExtendAuction,
    CancelAuction, VoidBid, AwardLot, ApproveAward,
)
_LIVE = (Phase.OPEN, Phase.PAUSED)
_TABLE: dict[tuple[Phase, type], Callable[[AuctionState, Command], Decision]] = {
    (Phase.NEW, CreateAuction): _create,
    (Phase.DRAFT, UpdateConfig): _update_config,
    **{(p, InviteSupplier): _invite for p in (Phase.DRAFT, *_LIVE)},
    (Phase.DRAFT, StartAuction): _start,
    (Phase.OPEN, PauseAuction): _pause,
    (Phase.PAUSED, ResumeAuction): _resume,
    **{(p, ExtendAuction): _extend for p in _LIVE},
    **{(p, CancelAuction): _cancel for p in (Phase.DRAFT, *_LIVE, Phase.CLOSED)},
    **{(p, VoidBid): _void for p in (*_LIVE, Phase.CLOSED)},
    **{(p, AwardLot): _award_lot for p in (*_LIVE, Phase.CLOSED)},  # staggered: lot by lot
    **{(p, PlaceBid): _bid for p in Phase if p is not Phase.NEW},
    **{(p, Tick): _tick for p in Phase if p is not Phase.NEW},
    **{(p, AcceptTerms): _accept_terms for p in (Phase.DRAFT, *_LIVE)},
    **{(p, ApproveAward): _approve_award for p in (*_LIVE, Phase.CLOSED)},
    **{(p, SetSupplierStanding): _set_standing for p in (Phase.DRAFT, *_LIVE, Phase.CLOSED)},
}

_MISS: dict[Phase, Reason] = {
    Phase.NEW: Reason.UNKNOWN_AUCTION,
    Phase.DRAFT: Reason.AUCTION_NOT_OPEN,
    Phase.OPEN: Reason.ALREADY_STARTED,
    Phase.PAUSED: Reason.AUCTION_PAUSED,
    Phase.CLOSED: Reason.AUCTION_CLOSED,
    Phase.CANCELLED: Reason.AUCTION_CANCELLED,
}
_MISS_BY_COMMAND: dict[tuple[Phase, type], Reason] = {
    **{(p, CreateAuction): Reason.ALREADY_EXISTS for p in Phase if p is not Phase.NEW},
    **{(p, UpdateConfig): Reason.CONFIG_LOCKED for p in (*_LIVE, Phase.CLOSED)},
    (Phase.OPEN, ResumeAuction): Reason.NOT_PAUSED,
    (Phase.PAUSED, StartAuction): Reason.ALREADY_STARTED,
    (Phase.CLOSED, StartAuction): Reason.ALREADY_STARTED,
    (Phase.DRAFT, ResumeAuction): Reason.NOT_PAUSED,
    (Phase.CLOSED, ResumeAuction): Reason.NOT_PAUSED,
    (Phase.DRAFT, AwardLot): Reason.LOT_NOT_CLOSED,
}


def decide(state: AuctionState, command: Command) -> Decision:
    """Events the command causes, or why it is refused. Never mutates ``state``.

    First whether the sender's team roles allow the command at all (``actions``), then the
    checks of the side and the person, the phase and the rules."""
    refused = permission_refusal(command)
    if refused is not None:
        return refused
    kind = type(command)
    if kind in _BUYER_ONLY and state.phase is not Phase.NEW and not _is_buyer(state, command):
        return _no(Reason.FORBIDDEN, f"{kind.__name__} is for the auction's buyer")
    handler = _TABLE.get((state.phase, kind))
    if handler is None:
        reason = _MISS_BY_COMMAND.get((state.phase, kind), _MISS[state.phase])
        return _no(reason, f"{kind.__name__} is not possible while the auction is {state.phase}")
    return handler(state, command)


def refusal_record(
    state: AuctionState, command: Command, rejection: Rejection
) -> BidRefused | None:
    """The event that records a bid the rules refused, to be journalled with the decided events
    (the answer waits for it to be durable, like an acceptance). None for anything else: another
    command's refusal, a bid id already decided (a resend is answered from its first record; a
    reused id, ``duplicate_bid_id``, names another bid), or an auction that does not exist."""
    if type(command) is not PlaceBid or state.phase is Phase.NEW:
        return None
    if command.bid_id in state.bids or command.bid_id in state.refused:
        return None
    supplier, entered_by = _bidder(state, command)
    return BidRefused(
        at=command.at,
        bid_id=command.bid_id,
        lot_id=command.lot_id,
        amount=command.amount,
        supplier=supplier,
        role=command.actor.role,
        party=command.actor.party,
        reason=rejection.reason,
        detail=rejection.detail,
        max_amount=rejection.max_amount,
        entered_by=entered_by,
        user=user_of(command.actor),
    )
