"""``evolve``: apply one event to the state, in place. No rule is re-checked here: an event is a
fact that ``decide`` already validated (or that the journal recorded), so replay is a plain fold.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from . import events as ev
from .events import RESENDABLE_REFUSALS, recorded
from ..format import listed
from .state import (
    AuctionState, Award, BidRecord, LotPhase, LotState, Phase, Proposal, Refusal, SupplierEntry,
)
from ..standing import Restriction, restricted_since


def _created(state: AuctionState, e: ev.AuctionCreated) -> None:
    state.buyer = e.buyer
    state.config = e.config
    state.phase = Phase.DRAFT
    state.created_at = e.at
    state.lots = {spec.lot_id: LotState(spec.lot_id) for spec in e.config.lots}
    state.terms.configure(e.config.terms)


def _config(state: AuctionState, e: ev.ConfigUpdated) -> None:
    state.config = e.config
    state.lots = {spec.lot_id: LotState(spec.lot_id) for spec in e.config.lots}
    state.terms.configure(e.config.terms)


def _invited(state: AuctionState, e: ev.SupplierInvited) -> None:
    state.suppliers[e.supplier] = SupplierEntry(e.alias, e.name, e.at)


def _opened(state: AuctionState, e: ev.AuctionOpened) -> None:
    state.phase = Phase.OPEN
    state.opened_at = e.at
    for end in e.lot_ends:
        lot = state.lots[end.lot_id]
        lot.phase = LotPhase.OPEN
        lot.end_at = end.end_at


def _bid(state: AuctionState, e: ev.BidAccepted) -> None:
    record = BidRecord(
        bid_id=e.bid_id,
        lot_id=e.lot_id,
        supplier=e.supplier,
        amount=e.amount,
        at=e.at,
        seq=state.seq + 1,
        entered_by=e.entered_by,
        user=recorded(e.user),
    )
    state.bids[e.bid_id] = record
    state.last_bid_at[e.supplier] = e.at
    lot = state.lots[e.lot_id]
    lot.last[e.supplier] = record
    best = lot.best.get(e.supplier)
    if best is None or record.key < best.key:
        lot.set_best(e.supplier, record)


def _extended(state: AuctionState, e: ev.LotExtended) -> None:
    lot = state.lots[e.lot_id]
    lot.end_at = e.end_at
    lot.extensions = e.extensions


def _paused(state: AuctionState, e: ev.AuctionPaused) -> None:
    state.phase = Phase.PAUSED
    state.paused_at = e.at


def _resumed(state: AuctionState, e: ev.AuctionResumed) -> None:
    state.phase = Phase.OPEN
    state.paused_at = None
    for end in e.lot_ends:
        state.lots[end.lot_id].end_at = end.end_at


def _cancelled(state: AuctionState, e: ev.AuctionCancelled) -> None:
    state.phase = Phase.CANCELLED
    state.cancel_reason = e.reason
    state.cancelled_at = e.at


def _voided(state: AuctionState, e: ev.BidVoided) -> None:
    record = state.bids[e.bid_id]
    record.voided = True
    record.void_reason = e.reason
    record.void_user = recorded(e.user)
    lot = state.lots[e.lot_id]
    remaining = [
        b for b in state.bids.values()
        if b.supplier == record.supplier and b.lot_id == e.lot_id and not b.voided
    ]
    lot.set_best(record.supplier, min(remaining, key=lambda b: b.key) if remaining else None)
    if remaining:
        lot.last[record.supplier] = max(remaining, key=lambda b: b.seq)
    else:
        lot.last.pop(record.supplier, None)


def _lot_closed(state: AuctionState, e: ev.LotClosed) -> None:
    state.lots[e.lot_id].phase = LotPhase.CLOSED


def _awarded(state: AuctionState, e: ev.LotAwarded) -> None:
    lot = state.lots[e.lot_id]
    lot.phase = LotPhase.AWARDED
    lot.award = Award(e.award_id, e.bid_id, e.supplier, e.amount, str(e.basis), e.reason, e.at,
                      recorded(e.user), recorded(e.approved_by))
    lot.proposal = None


def _closed(state: AuctionState, e: ev.AuctionClosed) -> None:
    state.phase = Phase.CLOSED


def _refused(state: AuctionState, e: ev.BidRefused) -> None:
    state.refusals.append(Refusal(
        bid_id=e.bid_id, lot_id=e.lot_id, amount=e.amount, supplier=e.supplier, role=str(e.role),
        party=e.party, reason=str(e.reason), detail=e.detail, max_amount=e.max_amount,
        entered_by=e.entered_by, user=recorded(e.user), at=e.at, seq=state.seq + 1,
    ))
    if e.reason not in RESENDABLE_REFUSALS:  # the id is used up: its resends get this answer
        state.refused[e.bid_id] = len(state.refusals) - 1


def _terms_accepted(state: AuctionState, e: ev.TermsAccepted) -> None:
    state.terms.accept(e.supplier, e.version, e.hash, e.at, recorded(e.user))


def _proposed(state: AuctionState, e: ev.AwardProposed) -> None:
    state.lots[e.lot_id].proposal = Proposal(e.bid_id, e.supplier, e.amount, str(e.basis),
                                             e.reason, e.at, recorded(e.proposed_by))


def _declined(state: AuctionState, e: ev.AwardDeclined) -> None:
    state.lots[e.lot_id].proposal = None
def _restricted(state: AuctionState, e: ev.SupplierRestricted) -> None:
    since = restricted_since(state.restricted.get(e.supplier), e.at)
    state.restricted[e.supplier] = Restriction(e.reason, e.detail, since)


def _reinstated(state: AuctionState, e: ev.SupplierReinstated) -> None:
    del state.restricted[e.supplier]


_APPLY = {
    ev.AuctionCreated: _created,
    ev.ConfigUpdated: _config,
    ev.SupplierInvited: _invited,
    ev.AuctionOpened: _opened,
    ev.BidAccepted: _bid,
    ev.LotExtended: _extended,
    ev.AuctionPaused: _paused,
    ev.AuctionResumed: _resumed,
    ev.AuctionCancelled: _cancelled,
    ev.BidVoided: _voided,
    ev.LotClosed: _lot_closed,
    ev.LotAwarded: _awarded,
    ev.AuctionClosed: _closed,
    ev.BidRefused: _refused,
    ev.TermsAccepted: _terms_accepted,
    ev.AwardProposed: _proposed,
    ev.AwardDeclined: _declined,
    ev.SupplierRestricted: _restricted,
    ev.SupplierReinstated: _reinstated,
}


def evolve(state: AuctionState, event: ev.Event) -> None:
    """Apply one event; the state's sequence number counts the events applied, and
    ``listed_at`` is the time of the last one that changed what the listing shows."""
    before = listed(state)
    _APPLY[type(event)](state, event)
    state.seq += 1
    if listed(state) != before:
        state.listed_at = event.at


def replay(auction_id: str, events: Iterable[ev.Event]) -> AuctionState:
    state = AuctionState(auction_id)
    for event in events:
        evolve(state, event)
    return state


_state_encoder = msgspec.json.Encoder(order="deterministic")
_state_decoder = msgspec.json.Decoder(AuctionState)


def state_bytes(state: AuctionState) -> bytes:
    """A canonical encoding of the whole state, for "replay gives the same state, byte for byte"
    and for snapshots (``restore`` reads it back)."""
    return _state_encoder.encode(state)


def restore(data: bytes) -> AuctionState:
    """The state ``state_bytes`` encoded. A lot's best and last bids are the very records of
    ``state.bids`` (voiding one marks it everywhere), so they are linked back to them."""
    state = _state_decoder.decode(data)
    for lot in state.lots.values():
        lot.best = {supplier: state.bids[bid.bid_id] for supplier, bid in lot.best.items()}
        lot.last = {supplier: state.bids[bid.bid_id] for supplier, bid in lot.last.items()}
    return state
