"""``decide``: validate a command against the tender's state and say which events it causes. Pure.

The transition table maps (phase, command type) to a handler; a miss is a Rejection naming the
command and the phase. Time moves the tender on (``transitions``: enquiries end, the deadline
passes, the opening time comes, the standstill ends), on the server's tick; a rule that depends on
a time checks the command's own time too, so nothing waits on the tick to be refused.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from ... import sealing
from ..approval import approval_refusal, needs_approval
from ..rejections import Reason, Rejection
from ..terms import acceptance
from ..values import Role
from . import conflicts, evaluation, follow_on, opening, restrictions, shares, submissions
from .actions import permission_refusal
from .commands import (
    AnswerQuestion, AskQuestion, CancelTender, ChangeDocuments, Command, Complaint, ConfirmBid,
    CreateTender, DecideAward, DeclareInterests, InviteSupplier, PresentShare, Publish,
    Qualification, Qualify, RecordAccessRefusal, ResolveComplaint, ReviseBid, Score,
    SetSupplierStanding, StartFollowOnAuction, SubmitBid, Tick, UpdateTender, WithdrawBid,
)
from .events import (
    AccessRefused, AwardDecided, AwardFinal, ComplaintFiled, ComplaintResolved, DocumentsChanged,
    EnquiriesClosed, Event, FinalAward, LotDecision, OpeningStarted, QuestionAnswered, QuestionAsked, ScoreGiven,
    ShareAccepted, ShareRefused, SharesMismatch, SubmissionClosed, SubmissionKind,
    SubmissionRefused, SupplierInvited, TenderCancelled, TenderCreated, TenderOpened,
    TenderPublished, TenderUnsuccessful, TenderUpdated, BidQualified, user_of,
)
from .commands import AcceptTerms, ApproveAward
from .events import AwardDeclined, AwardProposed, TermsAccepted, recorded
from .rules import change_fault, config_fault, profile_fault, schedule_fault
from .state import FINAL, TAKING_BIDS, Phase, TenderState

Decision = list[Event] | Rejection


def _no(reason: Reason, detail: str = "", field: str | None = None) -> Rejection:
    return Rejection(reason=reason, detail=detail, field=field)


def _is_buyer(state: TenderState, command: Command) -> bool:
    return command.actor.role is Role.BUYER and command.actor.party == state.buyer


def _config_refusal(config, published_at: int | None) -> Rejection | None:
    fault = config_fault(config) or profile_fault(config, published_at)
    if fault is None:
        return None
    return _no(Reason.INVALID_CONFIG, fault.message, fault.field)


# ------------------------------------------------------------------ preparation


def _create(state: TenderState, c: CreateTender) -> Decision:
    if c.actor.role is not Role.BUYER:
        return _no(Reason.FORBIDDEN, "only a buyer creates tenders")
    if c.tender_id != state.auction_id:
        return _no(Reason.INVALID_CONFIG, "tender id does not match")
    refusal = _config_refusal(c.config, None)
    if refusal is not None:
        return refusal
    return [TenderCreated(at=c.at, tender_id=c.tender_id, buyer=c.actor.party, config=c.config,
                          user=user_of(c.actor))]


def _update(state: TenderState, c: UpdateTender) -> Decision:
    return _config_refusal(c.config, None) or [
        TenderUpdated(at=c.at, config=c.config, user=user_of(c.actor))]


def _invite(state: TenderState, c: InviteSupplier) -> Decision:
    if state.phase is not Phase.DRAFT and c.at >= state.config.schedule.submission_deadline_at:
        return _no(Reason.DEADLINE_PASSED, "the submission deadline has passed")
    if not c.supplier.strip():
        return _no(Reason.UNKNOWN_SUPPLIER, "supplier id is empty")
    if c.supplier in state.suppliers:
        return _no(Reason.ALREADY_INVITED, f"{c.supplier} is already invited")
    size = sealing.suite(state.config.suite).signing_public_size
    if c.signing_key is not None and len(c.signing_key) != size:
        return _no(Reason.INVALID_CONFIG, f"a signing key of the tender's suite is {size} bytes, "
                   f"not {len(c.signing_key)}", "signing_key")
    return [SupplierInvited(at=c.at, supplier=c.supplier, name=c.name, user=user_of(c.actor),
                            signing_key=c.signing_key)]


def _publish(state: TenderState, c: Publish) -> Decision:
    schedule = state.config.schedule
    if state.config.rfq:  # no enquiry period needed: time to quote is
        if c.at >= schedule.submission_deadline_at:
            return _no(Reason.INVALID_CONFIG, "the deadline would be before publication",
                       "config.schedule.submission_deadline_at")
    elif c.at >= schedule.enquiry_end_at:
        return _no(Reason.INVALID_CONFIG, "the enquiry period would end before publication",
                   "config.schedule.enquiry_end_at")
    return _config_refusal(state.config, c.at) or [TenderPublished(at=c.at, user=user_of(c.actor))]


def _change_documents(state: TenderState, c: ChangeDocuments) -> Decision:
    config = state.config
    old = config.schedule
    if c.at >= old.submission_deadline_at:
        return _no(Reason.DEADLINE_PASSED, "the submission deadline has passed")
    if c.documents_hash == config.documents_hash:
        return _no(Reason.INVALID_CONFIG, "these are the current documents", "documents_hash")
    deadline = old.submission_deadline_at if c.submission_deadline_at is None else c.submission_deadline_at
    if deadline < old.submission_deadline_at:
        return _no(Reason.INVALID_CONFIG, "the deadline may only move later", "submission_deadline_at")
    opening_at = (old.opening_at + deadline - old.submission_deadline_at
                  if c.opening_at is None else c.opening_at)  # keeps the gap unless given
    schedule = msgspec.structs.replace(old, submission_deadline_at=deadline, opening_at=opening_at)
    changed = msgspec.structs.replace(config, schedule=schedule)
    fault = (schedule_fault(schedule) or profile_fault(changed, state.published_at)
             or change_fault(changed, schedule, c.at))
    if fault is not None:
        return _no(Reason.INVALID_CONFIG, fault.message, fault.field.removeprefix("config.schedule."))
    return [DocumentsChanged(at=c.at, documents_hash=c.documents_hash, schedule=schedule,
                             user=user_of(c.actor))]


# ------------------------------------------------------------------ enquiries


def _ask(state: TenderState, c: AskQuestion) -> Decision:
    if c.actor.role is not Role.SUPPLIER:
        return _no(Reason.FORBIDDEN, "suppliers ask questions")
    if c.actor.party not in state.suppliers:
        return _no(Reason.NOT_INVITED, "not invited to this tender")
    known = state.questions.get(c.actor.party, {}).get(c.question_id)
    if known is not None:
        return [] if known.text == c.text else _no(Reason.ALREADY_EXISTS, "this question id was used")
    if c.at >= state.config.schedule.enquiry_end_at:
        return _no(Reason.ENQUIRIES_CLOSED, "the enquiry period has ended")
    if not c.text.strip():
        return _no(Reason.REASON_REQUIRED, "a question needs words")
    return [QuestionAsked(at=c.at, supplier=c.actor.party, question_id=c.question_id, text=c.text,
                          user=user_of(c.actor))]


def _answer(state: TenderState, c: AnswerQuestion) -> Decision:
    question = state.questions.get(c.supplier, {}).get(c.question_id)
    if question is None:
        return _no(Reason.UNKNOWN_QUESTION, f"no question {c.question_id} of {c.supplier}")
    if question.answer is not None:
        return _no(Reason.ALREADY_ANSWERED, "the question is answered already")
    if c.at >= state.config.schedule.submission_deadline_at:
        return _no(Reason.DEADLINE_PASSED, "the submission deadline has passed")
    if not c.answer.strip():
        return _no(Reason.REASON_REQUIRED, "an answer needs words")
    return [QuestionAnswered(at=c.at, number=state.answered + 1, supplier=c.supplier,
                             question_id=c.question_id, question=question.text, answer=c.answer,
                             user=user_of(c.actor))]


# ------------------------------------------------------------------ time


def transitions(state: TenderState, at: int) -> tuple[list[Event], Phase]:
    """What the passing of time up to ``at`` does, in order, and the phase it leaves."""
    schedule = state.config.schedule
    events: list[Event] = []
    phase = state.phase
    if phase is Phase.PUBLISHED and at >= schedule.enquiry_end_at:
        events.append(EnquiriesClosed(at=at))
        phase = Phase.SUBMISSION
    if phase in TAKING_BIDS and at >= schedule.submission_deadline_at:
        received = len(state.current)
        events.append(SubmissionClosed(at=at, received=received))
        phase = Phase.CLOSED
        standing = len([b for b in opening.to_open(state)
                        if b.documents_hash == state.config.documents_hash])
        if standing < state.config.min_bidders:
            events.append(TenderUnsuccessful(at=at, reason=(
                f"{standing} bid(s) at the deadline, fewer than the {state.config.min_bidders} "
                "the tender needs")))
            return events, Phase.UNSUCCESSFUL
    if phase is Phase.CLOSED and at >= schedule.opening_at:
        events.append(OpeningStarted(at=at))
        phase = Phase.OPENING
    if phase is Phase.STANDSTILL and state.held_at is None and at >= state.standstill_ends_at:
        events.append(_final(state, at))
        phase = Phase.AWARDED
    return events, phase


def _final(state: TenderState, at: int) -> AwardFinal:
    return AwardFinal(at=at, awards=tuple(
        FinalAward(lot_id=lot.lot_id, award_id=f"{state.auction_id}:{lot.lot_id}",
                   supplier=lot.winner, price=lot.price)
        for lot in state.decision.lots if lot.winner is not None
    ))


def _tick(state: TenderState, c: Tick) -> Decision:
    if c.actor.role is not Role.SYSTEM:
        return _no(Reason.FORBIDDEN, "ticks come from the server")
    if state.phase is Phase.DRAFT:
        return []
    return transitions(state, c.at)[0]


# ------------------------------------------------------------------ the opening


def _present_share(state: TenderState, c: PresentShare) -> Decision:
    """A share is checked, journaled by its fingerprint alone, and combined with the shares the
    room holds (``c.held``, see ``shares``). An officer whose share is journaled but not held
    (the room restarted since) presents the same share again: nothing new is journaled, it is
    held again, and it may be the one that opens; any other share from that officer is refused."""
    config = state.config
    officer = c.actor.user
    if not _is_buyer(state, c) or officer not in config.officers:
        return _no(Reason.FORBIDDEN, "only the tender's opening officers present key shares")
    due, phase = transitions(state, c.at)
    if phase is not Phase.OPENING:
        if phase in (Phase.PUBLISHED, Phase.SUBMISSION, Phase.CLOSED):
            return _no(Reason.OPENING_NOT_DUE, "the opening time has not come")
        return _no(Reason.WRONG_PHASE, f"PresentShare is not possible while the tender is {phase}")
    share = shares.parse_share(c.share)
    if share is None:
        return _no(Reason.INVALID_SHARE, "not a key share")
    if share.threshold != config.k:
        return _no(Reason.INVALID_SHARE, f"a share of a {share.threshold}-of-n key, not {config.k}")
    fingerprint = shares.fingerprint(share)
    held = shares.held(state, c)  # the room's memory, as far as the journal vouches for it
    own = held.pop(officer, None)
    known = state.shares.get(officer)
    events: list[Event] = [*due]
    if known is not None:  # journaled: held already, or presented again after a restart
        if known.fingerprint != fingerprint:
            return _no(Reason.ALREADY_PRESENTED, "you presented another share: this is not it")
        if own is not None:
            return _no(Reason.ALREADY_PRESENTED, "your share is in already")
    elif any(record.index == share.index for record in state.shares.values()):
        return _no(Reason.INVALID_SHARE, f"share {share.index} was presented already")
    else:
        events.append(ShareAccepted(at=c.at, officer=officer, index=share.index,
                                    fingerprint=fingerprint, presented=len(state.shares) + 1))
    found = opening.find_key(state, officer, share, held)
    if found is None:
        if len(held) + 1 >= config.k:
            events.append(SharesMismatch(at=c.at, officers=tuple(sorted((*held, officer)))))
        return events
    key, officers = found
    record = opening.opening_record(state, key)
    events.append(TenderOpened(at=c.at, private_key=key, officers=officers, record=record))
    if all(line.failed is not None for line in record):
        events.append(TenderUnsuccessful(at=c.at, reason="no bid opened"))
    return events


# ------------------------------------------------------------------ evaluation and award


def _qualify(state: TenderState, c: Qualify) -> Decision:
    if c.supplier not in state.opened():
        return _no(Reason.UNKNOWN_BID, f"{c.supplier} has no opened bid")
    if c.status is Qualification.DISQUALIFIED and not c.reason.strip():
        return _no(Reason.REASON_REQUIRED, "a disqualification needs a reason")
    refusal = restrictions.qualify_refusal(state, c)
    if refusal is not None:
        return refusal
    return [BidQualified(at=c.at, supplier=c.supplier, status=c.status, reason=c.reason,
                         user=user_of(c.actor))]


def _score(state: TenderState, c: Score) -> Decision:
    config = state.config
    evaluator = c.actor.user
    if not _is_buyer(state, c) or evaluator not in config.evaluators:
        return _no(Reason.FORBIDDEN, "only the tender's evaluators score")
    if c.supplier not in evaluation.valid_suppliers(state):
        return _no(Reason.UNKNOWN_BID, f"{c.supplier} has no valid opened bid")
    if c.criterion not in {criterion.name for criterion in config.quality_criteria}:
        return _no(Reason.INVALID_SCORE, f"{c.criterion!r} is not a quality criterion")
    if not 0 <= c.score <= 100:
        return _no(Reason.INVALID_SCORE, "a score is from 0 to 100")
    given = state.scores.get(evaluator, {}).get(c.supplier, {}).get(c.criterion)
    if given == c.score:
        return []
    if evaluation.scoring_complete(state):
        return _no(Reason.INVALID_SCORE, "every evaluator has scored: the scores are final")
    return [ScoreGiven(at=c.at, evaluator=evaluator, supplier=c.supplier, criterion=c.criterion,
                       score=c.score)]


def _decide_award(state: TenderState, c: DecideAward) -> Decision:
    if not evaluation.qualification_complete(state):
        return _no(Reason.EVALUATION_INCOMPLETE, "every opened bid must be qualified first")
    if not evaluation.scoring_complete(state):
        return _no(Reason.EVALUATION_INCOMPLETE, "every evaluator must score every valid bid first")
    if state.config.quality_criteria and not conflicts.active_evaluators(state):
        return _no(Reason.EVALUATION_INCOMPLETE, "every evaluator declared a conflict: nobody is "
                   "left to score the quality criteria; cancel the tender and tender again")
    if not evaluation.valid_suppliers(state):
        return [TenderUnsuccessful(at=c.at, reason="no valid bid")]
    refusal = restrictions.award_refusal(state)
    if refusal is not None:
        return refusal
    lots = []
    for lot in state.config.lots:
        ranking = evaluation.rank_lot(state, lot.lot_id)
        best = ranking[0] if ranking else None
        lots.append(LotDecision(lot_id=lot.lot_id, winner=best.supplier if best else None,
                                price=best.price if best else None, ranking=ranking))
    total = sum(lot.price for lot in lots if lot.price is not None)
    if needs_approval(state.config.approval_threshold, total):
        return [AwardProposed(at=c.at, lots=tuple(lots), total=total, proposed_by=user_of(c.actor))]
    return [AwardDecided(at=c.at, lots=tuple(lots), standstill_ends_at=c.at + state.config.standstill_ms,
                         user=user_of(c.actor))]


# ------------------------------------------------------------------ terms and approval


def _accept_terms(state: TenderState, c: AcceptTerms) -> Decision:
    """A supplier accepts the current terms (``engine.terms``); again: done already."""
    found = acceptance(state.terms, c.actor, c.actor.party in state.suppliers, c.terms_hash)
    if isinstance(found, Rejection):
        return found
    return [] if found is None else [TermsAccepted(at=c.at, user=user_of(c.actor), **found)]


def _approve_award(state: TenderState, c: ApproveAward) -> Decision:
    """The proposed decision made (the standstill starting now, naming who approved it) or
    declined (the evaluation goes on: the award is decided again)."""
    proposal = state.proposal
    if proposal is None:
        return _no(Reason.NOTHING_TO_APPROVE, "no award decision awaits approval")
    refusal = approval_refusal(recorded(proposal.proposed_by), c.actor, c.approve, c.reason)
    if refusal is not None:
        return refusal
    if not c.approve:
        return [AwardDeclined(at=c.at, reason=c.reason, user=user_of(c.actor))]
    return [AwardDecided(at=c.at, lots=proposal.lots,
                         standstill_ends_at=c.at + state.config.standstill_ms,
                         user=proposal.proposed_by, approved_by=user_of(c.actor))]


# While a proposed award decision awaits approval, nothing changes what it rests on, and no
# other decision is made: it is approved or declined first.
_HELD_BY_A_PROPOSAL = frozenset({Qualify, Score, DecideAward, StartFollowOnAuction})


def _held(state: TenderState, kind: type) -> Rejection | None:
    if kind in _HELD_BY_A_PROPOSAL and state.proposal is not None:
        return _no(Reason.APPROVAL_PENDING, "the award decision awaits approval: approve or "
                   "decline it first")
    return None


def _complaint(state: TenderState, c: Complaint) -> Decision:
    if c.actor.role is not Role.SUPPLIER or not any(
            line.supplier == c.actor.party for line in state.record):
        return _no(Reason.FORBIDDEN, "only bidders complain")
    known = state.complaints.get(c.actor.party, {}).get(c.complaint_id)
    if known is not None:
        return [] if known.text == c.text else _no(Reason.ALREADY_EXISTS, "this complaint id was used")
    if state.held_at is None and c.at >= state.standstill_ends_at:
        return _no(Reason.WRONG_PHASE, "the standstill has ended")
    if not c.text.strip():
        return _no(Reason.REASON_REQUIRED, "a complaint needs words")
    return [ComplaintFiled(at=c.at, supplier=c.actor.party, complaint_id=c.complaint_id,
                           text=c.text, user=user_of(c.actor))]


def _resolve(state: TenderState, c: ResolveComplaint) -> Decision:
    complaint = state.complaints.get(c.supplier, {}).get(c.complaint_id)
    if complaint is None or complaint.resolved_at is not None:
        return _no(Reason.UNKNOWN_COMPLAINT, f"no open complaint {c.complaint_id} of {c.supplier}")
    if not c.resolution.strip():
        return _no(Reason.REASON_REQUIRED, "a resolution needs a reason")
    ends_at = None
    if not c.upheld and len(state.open_complaints()) == 1:  # the standstill goes on for its rest
        ends_at = state.standstill_ends_at + c.at - state.held_at
    return [ComplaintResolved(at=c.at, supplier=c.supplier, complaint_id=c.complaint_id,
                              upheld=c.upheld, resolution=c.resolution, standstill_ends_at=ends_at,
                              user=user_of(c.actor))]


def _cancel(state: TenderState, c: CancelTender) -> Decision:
    if not c.reason.strip():
        return _no(Reason.REASON_REQUIRED, "a cancellation needs a reason")
    return [TenderCancelled(at=c.at, reason=c.reason, user=user_of(c.actor))]


# ------------------------------------------------------------------ the table

_BUYER_ONLY = (
    UpdateTender, InviteSupplier, Publish, ChangeDocuments, AnswerQuestion, Qualify, DecideAward,
    ResolveComplaint, CancelTender, StartFollowOnAuction, ApproveAward,
)
_LIVE = tuple(p for p in Phase if p is not Phase.NEW and p not in FINAL)
_ANY = tuple(p for p in Phase if p is not Phase.NEW)
def _access_refused(state: TenderState, c: RecordAccessRefusal) -> Decision:
    return [AccessRefused(at=c.at, role=c.actor.role, party=c.actor.party,
                          user=c.actor.user or "", what=c.what[:200], reason=c.reason[:64])]


_TABLE: dict[tuple[Phase, type], Callable[[TenderState, Command], Decision]] = {
    (Phase.NEW, CreateTender): _create,
    (Phase.DRAFT, UpdateTender): _update,
    **{(p, InviteSupplier): _invite for p in (Phase.DRAFT, *TAKING_BIDS)},
    (Phase.DRAFT, Publish): _publish,
    **{(p, ChangeDocuments): _change_documents for p in TAKING_BIDS},
    (Phase.PUBLISHED, AskQuestion): _ask,
    **{(p, AnswerQuestion): _answer for p in TAKING_BIDS},
    # Every phase: a resend is answered as first decided, a late one refused as late (recorded).
    **{(p, SubmitBid): submissions.submit for p in _ANY},
    **{(p, ReviseBid): submissions.revise for p in _ANY},
    **{(p, WithdrawBid): submissions.withdraw for p in _ANY},
    **{(p, ConfirmBid): submissions.confirm for p in _ANY},
    **{(p, Tick): _tick for p in _ANY},
    # Before the opening too, so that an early share is refused as early (and recorded).
    **{(p, PresentShare): _present_share for p in (*TAKING_BIDS, Phase.CLOSED, Phase.OPENING)},
    (Phase.EVALUATION, Qualify): _qualify,
    (Phase.EVALUATION, Score): _score,
    (Phase.EVALUATION, DecideAward): _decide_award,
    (Phase.EVALUATION, StartFollowOnAuction): follow_on.start,
    (Phase.STANDSTILL, Complaint): _complaint,
    (Phase.STANDSTILL, ResolveComplaint): _resolve,
    **{(p, CancelTender): _cancel for p in _LIVE},
    **{(p, RecordAccessRefusal): _access_refused for p in _ANY if p is not Phase.NEW},
    **{(p, AcceptTerms): _accept_terms for p in TAKING_BIDS},
    (Phase.EVALUATION, ApproveAward): _approve_award,
    **{(p, SetSupplierStanding): restrictions.set_standing for p in _LIVE},
    **{(p, DeclareInterests): conflicts.declare for p in _LIVE},
}

_MISS_BY_COMMAND: dict[tuple[Phase, type], Reason] = {
    **{(p, CreateTender): Reason.ALREADY_EXISTS for p in _ANY},
    **{(p, UpdateTender): Reason.CONFIG_LOCKED for p in _ANY if p is not Phase.DRAFT},
    **{(p, AskQuestion): Reason.ENQUIRIES_CLOSED for p in _ANY
       if p not in (Phase.DRAFT, Phase.PUBLISHED)},
    **{(p, ApproveAward): Reason.NOTHING_TO_APPROVE for p in _ANY if p is not Phase.EVALUATION},
}


def decide(state: TenderState, command: Command) -> Decision:
    """Events the command causes, or why it is refused. Never mutates ``state``.

    First whether the sender's team roles allow the command at all (``actions``), then the
    checks of the side and the person, the phase and the rules."""
    refused = permission_refusal(command)
    if refused is not None:
        return refused
    kind = type(command)
    if kind in _BUYER_ONLY and state.phase is not Phase.NEW and not _is_buyer(state, command):
        return _no(Reason.FORBIDDEN, f"{kind.__name__} is for the tender's buyer")
    held = _held(state, kind)
    if held is not None:
        return held
    if kind in conflicts.GUARDED:
        refusal = conflicts.refusal(state, command.actor)
        if refusal is not None:
            return refusal
    handler = _TABLE.get((state.phase, kind))
    if handler is None:
        if state.phase is Phase.NEW:
            return _no(Reason.UNKNOWN_AUCTION, f"{kind.__name__}: there is no such tender")
        reason = _MISS_BY_COMMAND.get((state.phase, kind), Reason.WRONG_PHASE)
        return _no(reason, f"{kind.__name__} is not possible while the tender is {state.phase}")
    return handler(state, command)


_KINDS = {SubmitBid: SubmissionKind.SUBMITTED, ReviseBid: SubmissionKind.REVISED,
          WithdrawBid: SubmissionKind.WITHDRAWN, ConfirmBid: SubmissionKind.CONFIRMED}


def refusal_record(
    state: TenderState, command: Command, rejection: Rejection
) -> SubmissionRefused | ShareRefused | None:
    """The event recording a refused submission (a late bid among them) or key share, journalled
    before the refusal is answered; None for anything else: another command's refusal, a tender
    that does not exist, a bid id already decided, or a sender who is not a supplier (a buyer's
    or observer's token is refused by the edges before any bid reaches here)."""
    kind = type(command)
    if state.phase is Phase.NEW:
        return None
    if kind is PresentShare:
        return ShareRefused(at=command.at, officer=command.actor.user, party=command.actor.party,
                            role=command.actor.role, reason=rejection.reason,
                            detail=rejection.detail)
    if kind not in _KINDS or command.actor.role is not Role.SUPPLIER:
        return None
    supplier = command.actor.party
    if kind in (SubmitBid, ReviseBid) and (
            command.bid_id in state.bids.get(supplier, {})
            or command.bid_id in state.refused.get(supplier, {})):
        return None
    return SubmissionRefused(
        at=command.at, kind=_KINDS[kind], supplier=supplier, bid_id=command.bid_id,
        commitment=getattr(command, "commitment", ""), reason=rejection.reason,
        detail=rejection.detail, role=command.actor.role, party=command.actor.party,
        user=user_of(command.actor),
    )
