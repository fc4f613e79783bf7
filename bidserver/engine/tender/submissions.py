"""Deciding sealed bids: submission, revision, withdrawal and confirmation, until the deadline.

A bid id is the supplier's own and is decided once: a resend of a decided submission (or of a
withdrawal, or a confirmation) is answered as it was the first time, whatever the phase, so a
supplier whose answer to a last-second bid was lost hears "received", not "late"; a refused id
gets its refusal again; the same id for another bid is ``duplicate_bid_id``. What the server
checks without any key: the bytes have the shape of a bid sealed with the tender's suite and are
not text (a plaintext bid is refused), and the commitment is theirs.

A signed bid's signature is checked here too, with the key registered for its supplier in the
invitation and the tender's suite (computation, not I/O: the engine stays pure). A bad signature,
or one from a supplier with no registered key, is refused and recorded like any refused
submission, so a forged signature never stands with a bid; where the tender requires signed bids,
an unsigned one is refused. Only the author is told (the refusal is listed to it alone), so nothing
tells the buyer before the opening who tried to bid.

A supplier the registry restricted (``engine.standing``) makes no new bid: its submissions and
revisions are refused ``supplier_restricted``; it may still withdraw its bid, or confirm it against
changed documents (its bid stands, for the buyer to qualify: ``restrictions``).
"""

from __future__ import annotations

from ... import sealing
from ...sealing.bid import check_sealed_bid
from ...sealing.bid_signature import BidStatement, verify_bid_signature
from .. import standing
from ..rejections import Reason, Rejection
from ..terms import bid_refusal
from ..values import Role
from .commands import ConfirmBid, ReviseBid, SubmitBid, WithdrawBid
from .events import BidConfirmed, BidSubmitted, BidWithdrawn, Event, user_of
from .state import TAKING_BIDS, BidStatus, Phase, TenderState
from .values import Profile

Decision = list[Event] | Rejection


def _no(reason: Reason, detail: str) -> Rejection:
    return Rejection(reason=reason, detail=detail)


def _bidder(state: TenderState, command) -> Rejection | None:
    if command.actor.role is not Role.SUPPLIER:
        return _no(Reason.FORBIDDEN, "only suppliers submit sealed bids")
    if command.actor.party not in state.suppliers:
        return _no(Reason.NOT_INVITED, "not invited to this tender")
    return None


def taking_bids(state: TenderState, at: int) -> Rejection | None:
    """Why a bid cannot be handed in at ``at``: before publication, or at or after the deadline
    (the end is exclusive, and holds before the tick that closes the submission)."""
    if state.phase in TAKING_BIDS and at < state.config.schedule.submission_deadline_at:
        return None
    if state.phase is Phase.DRAFT:
        return _no(Reason.WRONG_PHASE, "the tender is not published yet")
    if state.phase is Phase.CANCELLED:
        return _no(Reason.WRONG_PHASE, "the tender is cancelled")
    return _no(Reason.DEADLINE_PASSED, "the submission deadline has passed")


def once_only(state: TenderState) -> Rejection | None:
    """政府采购法 Art. 40(3): in a Chinese RFQ (询价) a supplier quotes once, a price it may not
    change, so its quote is neither revised nor withdrawn (withdrawing and quoting again would
    change it)."""
    config = state.config
    if config.rfq and config.profile is Profile.CHINA:
        return _no(Reason.ALREADY_EXISTS, "China: a quote is given once and not changed "
                   "(Government Procurement Law Art. 40)")
    return None


def _decided(state: TenderState, c: SubmitBid | ReviseBid) -> Decision | None:
    """The answer to a bid id this supplier used before, or None for a new id."""
    supplier = c.actor.party
    replaces = c.replaces if type(c) is ReviseBid else None
    known = state.bids.get(supplier, {}).get(c.bid_id)
    if known is not None:
        if (known.commitment, known.replaces) == (c.commitment, replaces):
            return []
        return _no(Reason.DUPLICATE_BID_ID, "this bid id was used for another bid")
    index = state.refused.get(supplier, {}).get(c.bid_id)
    if index is not None:
        first = state.refusals[index]
        if first.commitment == c.commitment:
            return Rejection(reason=Reason(first.reason), detail=first.detail)
        return _no(Reason.DUPLICATE_BID_ID, "this bid id was used for another bid")
    return None


def _sealed_fault(state: TenderState, c: SubmitBid | ReviseBid) -> Rejection | None:
    suite = sealing.suite(state.config.suite)
    try:
        check_sealed_bid(suite, c.sealed)
    except sealing.SealError as exc:
        return _no(Reason.NOT_SEALED, str(exc))
    if suite.commitment(c.sealed) != c.commitment:
        return _no(Reason.COMMITMENT_MISMATCH, "the commitment is not the sealed bytes' digest")
    return None


def _signature_fault(state: TenderState, c: SubmitBid | ReviseBid) -> Rejection | None:
    """Why the bid's signature (or its lack) is refused, after the sealed bytes were checked."""
    key = state.suppliers[c.actor.party].signing_key
    if c.signature is None:
        if state.config.signed_bids_required:
            detail = ("the tender requires signed bids: sign it with your organisation's "
                      "registered key" if key is not None else
                      "the tender requires signed bids, and no signing key is registered for you")
            return _no(Reason.SIGNATURE_REQUIRED, detail)
        return None
    if key is None:
        return _no(Reason.NO_SIGNING_KEY, "no signing key is registered for you in this tender")
    statement = BidStatement(bid_id=c.bid_id, commitment=c.commitment, supplier=c.actor.party,
                             tender_id=state.auction_id)
    if not verify_bid_signature(sealing.suite(state.config.suite), key, statement, c.signature):
        return _no(Reason.BAD_SIGNATURE, "the signature is not your registered key's over this "
                   "tender, supplier, bid id and commitment")
    return None


def _terms_fault(state: TenderState, c: SubmitBid | ReviseBid) -> Rejection | None:
    """A bid (a quote) before the current terms were accepted (``engine.terms``): refused, and
    the bid id stays free for the same bid once they are (``events.RESENDABLE_REFUSALS``)."""
    return bid_refusal(state.terms, c.actor.party, phoned_in=False)


def submit(state: TenderState, c: SubmitBid) -> Decision:
    refusal = _bidder(state, c)
    if refusal is not None:
        return refusal
    answer = _decided(state, c)
    if answer is not None:
        return answer
    refusal = (taking_bids(state, c.at) or standing.bid_refusal(state.restricted, c.actor.party)
               or _terms_fault(state, c) or _sealed_fault(state, c) or _signature_fault(state, c))
    if refusal is not None:
        return refusal
    if c.actor.party in state.current:
        return _no(Reason.ALREADY_EXISTS, "you have a bid in: revise or withdraw it")
    return [BidSubmitted(at=c.at, supplier=c.actor.party, bid_id=c.bid_id, sealed=c.sealed,
                         commitment=c.commitment, user=user_of(c.actor), signature=c.signature)]


def revise(state: TenderState, c: ReviseBid) -> Decision:
    refusal = _bidder(state, c)
    if refusal is not None:
        return refusal
    answer = _decided(state, c)
    if answer is not None:
        return answer
    refusal = (taking_bids(state, c.at) or standing.bid_refusal(state.restricted, c.actor.party)
               or once_only(state) or _terms_fault(state, c))
    if refusal is not None:
        return refusal
    if state.current.get(c.actor.party) != c.replaces:
        return _no(Reason.UNKNOWN_BID, f"{c.replaces} is not your current bid")
    refusal = _sealed_fault(state, c) or _signature_fault(state, c)
    if refusal is not None:
        return refusal
    return [BidSubmitted(at=c.at, supplier=c.actor.party, bid_id=c.bid_id, sealed=c.sealed,
                         commitment=c.commitment, replaces=c.replaces, user=user_of(c.actor),
                         signature=c.signature)]


def withdraw(state: TenderState, c: WithdrawBid) -> Decision:
    refusal = _bidder(state, c)
    if refusal is not None:
        return refusal
    bid = state.bids.get(c.actor.party, {}).get(c.bid_id)
    if bid is None:
        return _no(Reason.UNKNOWN_BID, f"you have no bid {c.bid_id}")
    if bid.status is BidStatus.WITHDRAWN:
        return []  # decided once: a resend of the withdrawal
    if bid.status is BidStatus.REPLACED:
        return _no(Reason.UNKNOWN_BID, f"{c.bid_id} was replaced by a revision")
    refusal = taking_bids(state, c.at) or once_only(state)
    if refusal is not None:
        return refusal
    return [BidWithdrawn(at=c.at, supplier=c.actor.party, bid_id=c.bid_id, user=user_of(c.actor))]


def confirm(state: TenderState, c: ConfirmBid) -> Decision:
    refusal = _bidder(state, c)
    if refusal is not None:
        return refusal
    bid = state.current_bid(c.actor.party)
    if bid is None or bid.bid_id != c.bid_id:
        return _no(Reason.UNKNOWN_BID, f"{c.bid_id} is not your current bid")
    if bid.documents_hash == c.documents_hash == state.config.documents_hash:
        return []  # it stands on the documents already (or a resend of the confirmation)
    refusal = taking_bids(state, c.at)
    if refusal is not None:
        return refusal
    if c.documents_hash != state.config.documents_hash:
        return _no(Reason.STALE_DOCUMENTS, "these are not the tender's current documents")
    return [BidConfirmed(at=c.at, supplier=c.actor.party, bid_id=c.bid_id,
                         documents_hash=c.documents_hash, user=user_of(c.actor))]
