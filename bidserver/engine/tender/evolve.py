"""``evolve``: apply one event to the tender's state, in place. No rule is re-checked: an event is a
fact ``decide`` validated (or the journal recorded), so replay is a plain fold.
"""

from __future__ import annotations

import msgspec

from . import events as ev
from .events import recorded
from ..format import listed
from ..standing import Restriction, restricted_since
from .state import (
    BidStatus, ComplaintRecord, Confirmation, Declaration, Phase, QualificationRecord, Question,
    Refusal, SealedBid, ShareAttempt, ShareRecord, SupplierEntry, TenderState,
)


def _created(state: TenderState, e: ev.TenderCreated) -> None:
    state.buyer = e.buyer
    state.config = e.config
    state.phase = Phase.DRAFT
    state.created_at = e.at
    state.terms.configure(e.config.terms)


def _updated(state: TenderState, e: ev.TenderUpdated) -> None:
    state.config = e.config
    state.terms.configure(e.config.terms)


def _invited(state: TenderState, e: ev.SupplierInvited) -> None:
    state.suppliers[e.supplier] = SupplierEntry(e.name, e.at, e.signing_key)


def _published(state: TenderState, e: ev.TenderPublished) -> None:
    state.phase = Phase.PUBLISHED
    state.published_at = e.at


def _documents(state: TenderState, e: ev.DocumentsChanged) -> None:
    """Bids already in stand on the documents they were made against: the views tell their
    suppliers to confirm them, and the opening does not open one that was not."""
    state.config = msgspec.structs.replace(state.config, documents_hash=e.documents_hash,
                                           schedule=e.schedule)


def _asked(state: TenderState, e: ev.QuestionAsked) -> None:
    state.questions.setdefault(e.supplier, {})[e.question_id] = Question(
        e.supplier, e.question_id, e.text, e.at, recorded(e.user))


def _answered(state: TenderState, e: ev.QuestionAnswered) -> None:
    question = state.questions[e.supplier][e.question_id]
    question.number = e.number
    question.answer = e.answer
    question.answered_at = e.at
    question.answered_by = recorded(e.user)
    state.answered = e.number


def _enquiries_closed(state: TenderState, e: ev.EnquiriesClosed) -> None:
    state.phase = Phase.SUBMISSION


def _submitted(state: TenderState, e: ev.BidSubmitted) -> None:
    if e.replaces is not None:
        state.bids[e.supplier][e.replaces].status = BidStatus.REPLACED
    state.bids.setdefault(e.supplier, {})[e.bid_id] = SealedBid(
        bid_id=e.bid_id, supplier=e.supplier, sealed=e.sealed, commitment=e.commitment, at=e.at,
        seq=state.seq + 1, documents_hash=state.config.documents_hash, replaces=e.replaces,
        user=recorded(e.user), signature=e.signature,
    )
    state.current[e.supplier] = e.bid_id


def _withdrawn(state: TenderState, e: ev.BidWithdrawn) -> None:
    bid = state.bids[e.supplier][e.bid_id]
    bid.status = BidStatus.WITHDRAWN
    bid.withdrawn_at = e.at
    bid.withdrawn_seq = state.seq + 1
    del state.current[e.supplier]


def _confirmed(state: TenderState, e: ev.BidConfirmed) -> None:
    bid = state.bids[e.supplier][e.bid_id]
    bid.documents_hash = e.documents_hash
    bid.confirmations.append(Confirmation(e.documents_hash, e.at, state.seq + 1))


def _refused(state: TenderState, e: ev.SubmissionRefused) -> None:
    state.refusals.append(Refusal(
        kind=str(e.kind), supplier=e.supplier, bid_id=e.bid_id, commitment=e.commitment,
        reason=str(e.reason), detail=e.detail, role=str(e.role), party=e.party,
        user=recorded(e.user), at=e.at, seq=state.seq + 1,
    ))
    if (e.kind in (ev.SubmissionKind.SUBMITTED, ev.SubmissionKind.REVISED)
            and e.reason not in ev.RESENDABLE_REFUSALS):
        state.refused.setdefault(e.supplier, {})[e.bid_id] = len(state.refusals) - 1


def _closed(state: TenderState, e: ev.SubmissionClosed) -> None:
    state.phase = Phase.CLOSED
    state.received = e.received


def _unsuccessful(state: TenderState, e: ev.TenderUnsuccessful) -> None:
    state.phase = Phase.UNSUCCESSFUL
    state.ended_reason = e.reason
    state.ended_at = e.at


def _opening(state: TenderState, e: ev.OpeningStarted) -> None:
    state.phase = Phase.OPENING


def _share(state: TenderState, e: ev.ShareAccepted) -> None:
    state.shares[e.officer] = ShareRecord(e.fingerprint, e.index, e.at)
    state.mismatch = ()


def _mismatch(state: TenderState, e: ev.SharesMismatch) -> None:
    state.mismatch = e.officers


def _share_refused(state: TenderState, e: ev.ShareRefused) -> None:
    state.share_attempts.append(ShareAttempt(e.officer, e.party, str(e.role), str(e.reason),
                                             e.detail, e.at))


def _opened(state: TenderState, e: ev.TenderOpened) -> None:
    """The shares are dropped: the key they combine to is in the record now."""
    state.phase = Phase.EVALUATION
    state.opened_at = e.at
    state.private_key = e.private_key
    state.opened_by = e.officers
    state.record = list(e.record)
    state.shares = {}
    state.mismatch = ()


def _qualified(state: TenderState, e: ev.BidQualified) -> None:
    state.qualifications[e.supplier] = QualificationRecord(str(e.status), e.reason, e.at,
                                                           recorded(e.user))


def _scored(state: TenderState, e: ev.ScoreGiven) -> None:
    by_supplier = state.scores.setdefault(e.evaluator, {})
    by_supplier.setdefault(e.supplier, {})[e.criterion] = e.score


def _decided(state: TenderState, e: ev.AwardDecided) -> None:
    state.phase = Phase.STANDSTILL
    state.decision = e
    state.standstill_ends_at = e.standstill_ends_at
    state.held_at = None
    state.proposal = None


def _follow_on(state: TenderState, e: ev.FollowOnAuctionStarted) -> None:
    state.phase = Phase.AUCTION
    state.follow_on = e
    state.ended_at = e.at


def _complained(state: TenderState, e: ev.ComplaintFiled) -> None:
    state.complaints.setdefault(e.supplier, {})[e.complaint_id] = ComplaintRecord(
        e.supplier, e.complaint_id, e.text, e.at, recorded(e.user))
    if state.held_at is None:
        state.held_at = e.at


def _resolved(state: TenderState, e: ev.ComplaintResolved) -> None:
    """An upheld complaint withdraws the award decision, and with it every complaint still open
    about that decision; the evaluation goes on. A dismissed one lets the standstill run on once
    no complaint is open."""
    complaint = state.complaints[e.supplier][e.complaint_id]
    complaint.resolved_at = e.at
    complaint.upheld = e.upheld
    complaint.resolution = e.resolution
    complaint.resolved_by = recorded(e.user)
    if e.upheld:
        _withdraw_decision(state, e.at)
    elif e.standstill_ends_at is not None:
        state.standstill_ends_at = e.standstill_ends_at
        state.held_at = None


def _withdraw_decision(state: TenderState, at: int) -> None:
    """The award decision is withdrawn, and with it every complaint still open about it: the
    evaluation goes on."""
    for other in state.open_complaints():
        other.resolved_at = at
        other.resolution = "the award decision it was about was withdrawn"
    state.phase = Phase.EVALUATION
    state.decision = None
    state.standstill_ends_at = None
    state.held_at = None


def _final(state: TenderState, e: ev.AwardFinal) -> None:
    state.phase = Phase.AWARDED
    state.awards = e.awards
    state.ended_at = e.at


def _cancelled(state: TenderState, e: ev.TenderCancelled) -> None:
    state.phase = Phase.CANCELLED
    state.ended_reason = e.reason
    state.ended_at = e.at


def _terms_accepted(state: TenderState, e: ev.TermsAccepted) -> None:
    state.terms.accept(e.supplier, e.version, e.hash, e.at, recorded(e.user))


def _proposed(state: TenderState, e: ev.AwardProposed) -> None:
    state.proposal = e


def _declined(state: TenderState, e: ev.AwardDeclined) -> None:
    state.proposal = None
def _restricted(state: TenderState, e: ev.SupplierRestricted) -> None:
    since = restricted_since(state.restricted.get(e.supplier), e.at)
    state.restricted[e.supplier] = Restriction(e.reason, e.detail, since)
    if e.award_withdrawn:
        _withdraw_decision(state, e.at)


def _reinstated(state: TenderState, e: ev.SupplierReinstated) -> None:
    del state.restricted[e.supplier]


def _declared(state: TenderState, e: ev.InterestsDeclared) -> None:
    state.declarations[e.user] = Declaration(e.conflict, e.statement, e.at)


_APPLY = {
    ev.TenderCreated: _created,
    ev.TenderUpdated: _updated,
    ev.SupplierInvited: _invited,
    ev.TenderPublished: _published,
    ev.DocumentsChanged: _documents,
    ev.QuestionAsked: _asked,
    ev.QuestionAnswered: _answered,
    ev.EnquiriesClosed: _enquiries_closed,
    ev.BidSubmitted: _submitted,
    ev.BidWithdrawn: _withdrawn,
    ev.BidConfirmed: _confirmed,
    ev.SubmissionRefused: _refused,
    ev.SubmissionClosed: _closed,
    ev.TenderUnsuccessful: _unsuccessful,
    ev.OpeningStarted: _opening,
    ev.ShareAccepted: _share,
    ev.SharesMismatch: _mismatch,
    ev.ShareRefused: _share_refused,
    ev.TenderOpened: _opened,
    ev.BidQualified: _qualified,
    ev.ScoreGiven: _scored,
    ev.AwardDecided: _decided,
    ev.FollowOnAuctionStarted: _follow_on,
    ev.ComplaintFiled: _complained,
    ev.ComplaintResolved: _resolved,
    ev.AwardFinal: _final,
    ev.TenderCancelled: _cancelled,
    ev.AccessRefused: lambda state, e: None,  # the audit log's alone: nothing in the state
    ev.TermsAccepted: _terms_accepted,
    ev.AwardProposed: _proposed,
    ev.AwardDeclined: _declined,
    ev.SupplierRestricted: _restricted,
    ev.SupplierReinstated: _reinstated,
    ev.InterestsDeclared: _declared,
}


def evolve(state: TenderState, event: ev.Event) -> None:
    """Apply one event; the state's sequence number counts the events applied, and
    ``listed_at`` is the time of the last one that changed what the listing shows."""
    before = listed(state)
    _APPLY[type(event)](state, event)
    state.seq += 1
    if listed(state) != before:
        state.listed_at = event.at


_state_encoder = msgspec.json.Encoder(order="deterministic")
_state_decoder = msgspec.json.Decoder(TenderState)


def state_bytes(state: TenderState) -> bytes:
    """A canonical encoding of the whole state (replay checks and snapshots; ``restore``)."""
    return _state_encoder.encode(state)


def restore(data: bytes) -> TenderState:
    return _state_decoder.decode(data)
