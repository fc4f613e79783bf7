"""What each participant may see of a tender: views and redacted events. Pure.

Before the deadline nothing tells anyone, the buyer included, how many bids there are or who bid
(EU 2014/24/EU Annex IV (b); China, Measures for Electronic Bidding, Art. 31): no view counts or
names a submission, and a submission's events are listed to its author alone, with its commitment
and never its ciphertext or the ciphertext's size. The number of bids is told once the deadline
has passed, the bidders and their prices at the opening, to every participant at once (Art. 30).
The officers and evaluators are users of the buyer's organisation and see the buyer's view; an
evaluator's own scores are in its personal view, everyone's only once every evaluator has scored.

An RFQ (``Procedure.RFQ``) is opened for the buyer's organisation alone, as buyers' quotation
tools do: no supplier is shown another's quote, its qualification or its rank. A supplier sees
that the quotes were opened (the phase), its own opened quote (``BidderView.quote``) and the award
decision's winners; every supplier sees the same (the live room encodes one supplier view).
"""

from __future__ import annotations

from typing import Any

import msgspec

from .. import standing
from ..rejections import Reason
from ..terms import AcceptanceView, TermsView, acceptances, terms_view
from ..standing import RestrictionView
from ..values import Actor, Role
from . import conflicts, evaluation
from . import events as ev
from .events import FinalAward, LotDecision, OpenedBid, Shown
from .state import Phase, TenderState
from .values import AwardCriteria, Schedule, TenderLot

# ------------------------------------------------------------------ the views' types


class AnsweredQuestion(msgspec.Struct, frozen=True, kw_only=True):
    """A published answer: never who asked."""

    number: int
    question: str
    answer: str
    at: int


class BuyerQuestion(msgspec.Struct, frozen=True, kw_only=True):
    supplier: str
    question_id: str
    text: str
    asked_at: int
    number: int | None
    answer: str | None


class Invitee(msgspec.Struct, frozen=True, kw_only=True):
    supplier: str
    name: str
    invited_at: int
    signing_key: bytes | None = None  # its organisation's registered key: its bids may be signed
    # Restricted by the supplier registry during the tender: no new bid; its bid is yours to
    # disqualify (it cannot be qualified valid while restricted).
    restricted: RestrictionView | None = None


class OpeningView(msgspec.Struct, frozen=True, kw_only=True):
    opened_at: int
    private_key: bytes  # anyone may decrypt the journal's bids with it and check the record
    record: tuple[OpenedBid, ...]


class QualificationView(msgspec.Struct, frozen=True, kw_only=True):
    supplier: str
    status: str
    reason: str


class DecisionView(msgspec.Struct, frozen=True, kw_only=True):
    lots: tuple[LotDecision, ...]  # abnormally low flags: the buyer's only
    standstill_ends_at: int
    held: bool  # a complaint holds the standstill


class ComplaintView(msgspec.Struct, frozen=True, kw_only=True):
    supplier: str
    complaint_id: str
    text: str
    at: int
    resolved_at: int | None
    upheld: bool | None
    resolution: str


class Progress(msgspec.Struct, frozen=True):
    evaluator: str
    given: int
    expected: int


class GivenScore(msgspec.Struct, frozen=True):
    evaluator: str
    supplier: str
    criterion: str
    score: int


class Flagged(msgspec.Struct, frozen=True):
    lot_id: str
    suppliers: tuple[str, ...]  # abnormally low, among the valid bids so far (EU Art. 69)


class DecisionProposal(msgspec.Struct, frozen=True, kw_only=True):
    """An award decision awaiting another user's approval (``engine.approval``): the buyer's."""

    lots: tuple[LotDecision, ...]
    total: int  # what the approval threshold is compared with
    at: int
    proposed_by: str | None
class DeclarationView(msgspec.Struct, frozen=True, kw_only=True):
    """An officer's or evaluator's declaration of interests (``conflicts``)."""

    user: str
    conflict: bool
    statement: str
    at: int


class BuyerDesk(msgspec.Struct, frozen=True, kw_only=True):
    """What the buyer's organisation alone sees (its officers and evaluators among it)."""

    officers: tuple[str, ...]
    evaluators: tuple[str, ...]
    abnormally_low_pct: int
    suppliers: tuple[Invitee, ...]
    questions: tuple[BuyerQuestion, ...]  # with who asked
    shares_from: tuple[str, ...]  # the officers whose shares are in
    mismatch: tuple[str, ...]  # officers whose shares, together, did not give the key
    opened_by: tuple[str, ...]
    progress: tuple[Progress, ...]  # scores given per evaluator, while they are hidden
    scores: tuple[GivenScore, ...] | None  # once every evaluator has scored
    flagged: tuple[Flagged, ...]
    complaints: tuple[ComplaintView, ...]
    acceptances: tuple[AcceptanceView, ...] = ()  # who accepted which version of the terms
    proposal: DecisionProposal | None = None  # an award decision awaiting approval
    declarations: tuple[DeclarationView, ...] = ()  # the officers' and evaluators', in order
    removed: tuple[str, ...] = ()  # those who declared a conflict: out of the tender's work
    # Fewer than k officers are left to open the bids (the others declared a conflict): the bids
    # can never be opened; cancel the tender and tender again.
    opening_short: bool = False


class EvaluatorDesk(msgspec.Struct, frozen=True, kw_only=True):
    """An evaluator's own scores (personal: never in the shared view of the buyer's people)."""

    evaluator: str
    scores: tuple[GivenScore, ...]


class TenderView(msgspec.Struct, frozen=True, kw_only=True):
    tender_id: str
    title: str
    buyer_name: str | None
    currency: str
    minor_units: int
    phase: str
    profile: str
    procedure: str  # "open" or "rfq" (a request for quotations: values.Procedure)
    requested_certificates: tuple[str, ...]  # an RFQ's: what "best certified" counts
    suite: str
    public_key: bytes
    k: int
    n: int
    documents_hash: str
    schedule: Schedule
    published_at: int | None
    lots: tuple[TenderLot, ...]
    award: AwardCriteria
    standstill_ms: int
    min_bidders: int
    bid_security: int | None
    your_role: str
    answers: tuple[AnsweredQuestion, ...] = ()
    received: int | None = None  # once the deadline has passed
    shares_presented: int | None = None  # during the opening
    opening: OpeningView | None = None
    qualifications: tuple[QualificationView, ...] | None = None  # the buyer; everyone once decided
    decision: DecisionView | None = None
    awards: tuple[FinalAward, ...] = ()
    ended_reason: str | None = None
    follow_on_auction: str | None = None  # phase auction: the auction the award is made in
    buyer: BuyerDesk | None = None
    evaluator: EvaluatorDesk | None = None  # personal
    terms: TermsView | None = None  # the terms to accept before bidding (``engine.terms``)
    category: str | None = None  # what the tender buys: a CPV code
    # Why the opened bids are not in your view (you are a named officer or evaluator who has
    # not declared "no conflict": ``declaration_required``, or ``conflicted``); None: they are.
    bids_withheld: str | None = None


class YourBid(msgspec.Struct, frozen=True, kw_only=True):
    bid_id: str
    commitment: str
    received_at: int
    documents_hash: str
    needs_confirmation: bool  # the documents changed since: confirm it, or it is not opened
    # Its signature (``sealing.bid_signature``): the author's alone until the opening record
    # shows it to all. Not the buyer's before then: nothing tells the buyer who bid.
    signature: bytes | None = None


class YourQuestion(msgspec.Struct, frozen=True, kw_only=True):
    question_id: str
    text: str
    asked_at: int
    number: int | None
    answer: str | None


class BidderView(msgspec.Struct, frozen=True, kw_only=True):
    """A supplier's own part: its bid, its questions, its qualification and complaints."""

    name: str
    bid: YourBid | None
    questions: tuple[YourQuestion, ...]
    qualification: QualificationView | None
    complaints: tuple[ComplaintView, ...]
    won: tuple[str, ...]  # the lots awarded to it (final)
    quote: OpenedBid | None = None  # its line of the opening record, once opened
    signing_key: bytes | None = None  # registered for it with the invitation: it may sign bids
    # False only while the tender has terms (``engine.terms``) whose current version you have not
    # accepted: your bids are refused ``terms_not_accepted`` until you do.
    terms_accepted: bool = True
    # The supplier registry restricted you: no new bid is taken until it restores you.
    restricted: RestrictionView | None = None


# ------------------------------------------------------------------ who, when


def may_see(state: TenderState, actor: Actor) -> bool:
    """The buyer's organisation and its observers see its tenders; an invited supplier sees one
    once it is published (the time limits run from publication, for every supplier alike)."""
    if state.buyer is None:
        return False
    if actor.role is Role.SUPPLIER:
        return actor.party in state.suppliers and state.phase is not Phase.DRAFT
    if actor.role in (Role.BUYER, Role.OBSERVER):
        return state.buyer == actor.party
    return False


def sees_seq(role: Role) -> bool:
    """Nobody may know how many events a tender has had: before the deadline the count includes
    the submissions. Every participant's cursor counts what it is listed (``runtime.cursors``)."""
    return False


def next_deadline(state: TenderState) -> int | None:
    """When the shell must send a Tick: the end of the enquiries, the deadline, the opening time,
    the standstill's end (unless a complaint holds it)."""
    schedule = state.config.schedule if state.config is not None else None
    match state.phase:
        case Phase.PUBLISHED:
            return schedule.enquiry_end_at
        case Phase.SUBMISSION:
            return schedule.submission_deadline_at
        case Phase.CLOSED:
            return schedule.opening_at
        case Phase.STANDSTILL if state.held_at is None:
            return state.standstill_ends_at
    return None


# ------------------------------------------------------------------ views


def _complaint_view(c) -> ComplaintView:
    return ComplaintView(supplier=c.supplier, complaint_id=c.complaint_id, text=c.text, at=c.at,
                         resolved_at=c.resolved_at, upheld=c.upheld, resolution=c.resolution)


def _qualifications(state: TenderState, buyer: bool) -> tuple[QualificationView, ...]:
    """Every bid's qualification; the reasons are the buyer's (a bidder is told its own, in its
    own part of the view)."""
    return tuple(QualificationView(supplier=s, status=q.status, reason=q.reason if buyer else "")
                 for s, q in sorted(state.qualifications.items()))


def _scores(state: TenderState, evaluators) -> tuple[GivenScore, ...]:
    return tuple(
        GivenScore(evaluator, supplier, criterion, score)
        for evaluator in evaluators
        for supplier, by_criterion in sorted(state.scores.get(evaluator, {}).items())
        for criterion, score in sorted(by_criterion.items())
    )


def _flagged(state: TenderState) -> tuple[Flagged, ...]:
    if state.phase is not Phase.EVALUATION:
        return ()
    valid = evaluation.valid_suppliers(state)
    return tuple(
        Flagged(lot.lot_id, tuple(sorted(evaluation.abnormally_low(
            state.config.abnormally_low_pct, evaluation.lot_prices(state, lot.lot_id, valid)))))
        for lot in state.config.lots
    )


def _buyer_desk(state: TenderState, withheld: bool) -> BuyerDesk:
    """``withheld``: for a user from whom the opened bids are withheld (``conflicts``)."""
    config = state.config
    opened = state.opened_at is not None and not withheld
    complete = opened and evaluation.scoring_complete(state)
    questions = sorted((q for by in state.questions.values() for q in by.values()),
                       key=lambda q: (q.at, q.supplier, q.question_id))
    return BuyerDesk(
        officers=config.officers,
        evaluators=config.evaluators,
        abnormally_low_pct=config.abnormally_low_pct,
        suppliers=tuple(
            Invitee(supplier=s, name=entry.name, invited_at=entry.invited_at,
                    signing_key=entry.signing_key,
                    restricted=standing.shown(state.restricted.get(s)))
            for s, entry in sorted(state.suppliers.items(), key=lambda i: (i[1].invited_at, i[0]))
        ),
        questions=tuple(BuyerQuestion(supplier=q.supplier, question_id=q.question_id, text=q.text,
                                      asked_at=q.at, number=q.number, answer=q.answer)
                        for q in questions),
        shares_from=tuple(sorted(state.shares)),
        mismatch=state.mismatch,
        opened_by=state.opened_by,
        progress=tuple(
            Progress(e, evaluation.scores_given(state, e), evaluation.expected_scores(state))
            for e in conflicts.active_evaluators(state)
        ) if opened and not complete else (),
        scores=_scores(state, conflicts.active_evaluators(state)) if complete else None,
        flagged=() if withheld else _flagged(state),
        complaints=() if withheld else tuple(
            _complaint_view(c) for by in sorted(state.complaints.items())
            for _, c in sorted(by[1].items())),
        acceptances=acceptances(state.terms),
        proposal=_proposal_view(state),
        declarations=tuple(
            DeclarationView(user=user, conflict=d.conflict, statement=d.statement, at=d.at)
            for user, d in sorted(state.declarations.items(), key=lambda i: (i[1].at, i[0]))),
        removed=conflicts.removed(state),
        opening_short=conflicts.opening_short(state),
    )


def _proposal_view(state: TenderState) -> DecisionProposal | None:
    p = state.proposal
    if p is None:
        return None
    return DecisionProposal(lots=p.lots, total=p.total, at=p.at,
                            proposed_by=None if p.proposed_by is msgspec.UNSET else p.proposed_by)


def _private(state: TenderState, actor: Actor) -> bool:
    """Whether the quotes are kept from this actor: a supplier, in an RFQ."""
    return actor.role is Role.SUPPLIER and state.config.rfq


def _ranking_shown(ranking: tuple, buyer: bool, private: bool) -> tuple:
    """A lot's ranking as shown: the abnormally low flags are the buyer's (EU Art. 69: the
    flag is the buyer's question to ask, not a label for all); in an RFQ a supplier is shown the
    winner's line only."""
    if buyer:
        return ranking
    return tuple(msgspec.structs.replace(r, abnormally_low=False) for r in ranking
                 if not private or r.rank == 1)


def _decision(state: TenderState, buyer: bool, private: bool) -> DecisionView | None:
    decision = state.decision
    if decision is None:
        return None
    lots = tuple(msgspec.structs.replace(lot, ranking=_ranking_shown(lot.ranking, buyer, private))
                 for lot in decision.lots)
    # The standstill's end as it stands now: a complaint held it, and its resolution moved it.
    return DecisionView(lots=lots, standstill_ends_at=state.standstill_ends_at,
                        held=state.held_at is not None)


def _record_shown(state: TenderState, actor: Actor) -> tuple[OpenedBid, ...]:
    """The opening record: every bidder sees the names and prices (Art. 30), but which documents
    each bid holds only the buyer's organisation, who reads them (``bid_files``); a supplier
    sees its own in ``you.quote``."""
    if actor.role in (Role.BUYER, Role.OBSERVER):
        return tuple(state.record)
    return tuple(msgspec.structs.replace(line, documents=()) if line.documents else line
                 for line in state.record)


def _view(state: TenderState, actor: Actor, personal: bool) -> TenderView:
    config = state.config
    buyer = actor.role is Role.BUYER
    withholding = conflicts.refusal(state, actor)
    # What a named officer or evaluator who has not declared "no conflict" is not shown: the
    # opened bids, as if they were not opened (the phase says they are).
    private = _private(state, actor) or withholding is not None
    answered = sorted((q for by in state.questions.values() for q in by.values()
                       if q.number is not None), key=lambda q: q.number)
    evaluator = None
    if personal and buyer and actor.user in config.evaluators and state.opened_at is not None:
        evaluator = EvaluatorDesk(evaluator=actor.user, scores=_scores(state, (actor.user,)))
    return TenderView(
        tender_id=state.auction_id,
        title=config.title,
        buyer_name=None if config.buyer_name is msgspec.UNSET else config.buyer_name,
        currency=config.currency,
        minor_units=config.minor_units,
        phase=state.phase.value,
        profile=config.profile.value,
        procedure=config.procedure.value,
        requested_certificates=config.requested_certificates,
        suite=config.suite,
        public_key=config.public_key,
        k=config.k,
        n=config.n,
        documents_hash=config.documents_hash,
        schedule=config.schedule,
        published_at=state.published_at,
        lots=config.lots,
        award=config.award,
        standstill_ms=config.standstill_ms,
        min_bidders=config.min_bidders,
        bid_security=config.bid_security,
        your_role=actor.role.value,
        answers=tuple(AnsweredQuestion(number=q.number, question=q.text, answer=q.answer,
                                       at=q.answered_at) for q in answered),
        received=state.received,
        shares_presented=len(state.shares) if state.phase is Phase.OPENING else None,
        opening=OpeningView(opened_at=state.opened_at, private_key=state.private_key,
                            record=_record_shown(state, actor))
        if state.opened_at is not None and not private else None,
        qualifications=(_qualifications(state, buyer)
                        if (buyer and withholding is None)
                        or (state.decision is not None and not private) else None),
        decision=None if withholding is not None else _decision(state, buyer, private),
        awards=state.awards,
        ended_reason=state.ended_reason or None,
        follow_on_auction=None if state.follow_on is None else state.follow_on.auction_id,
        buyer=_buyer_desk(state, withholding is not None) if buyer else None,
        evaluator=evaluator,
        terms=terms_view(state.terms, config.terms),
        category=None if config.category is msgspec.UNSET else config.category,
        bids_withheld=None if withholding is None else withholding.reason.value,
    )


def view_for(state: TenderState, actor: Actor) -> TenderView:
    """Everything ``actor`` may see, its personal part (an evaluator's own scores) included."""
    if not may_see(state, actor):
        raise ValueError(f"a {actor.role} of {actor.party!r} has no view of this tender")
    return _view(state, actor, personal=True)


def audience_view(state: TenderState, role: Role) -> TenderView:
    """The view every participant of ``role`` shares (the live room encodes it once)."""
    if role is Role.SYSTEM:
        raise ValueError("the system has no view")
    return _view(state, Actor(role, state.buyer if role is Role.BUYER else ""), personal=False)


def you(state: TenderState, actor: Actor) -> BidderView | None:
    """A supplier's own part; None for everyone else (the buyer's people share one audience in
    the live room, so nothing personal to one of them travels there)."""
    if actor.role is not Role.SUPPLIER or actor.party not in state.suppliers:
        return None
    supplier = actor.party
    bid = state.current_bid(supplier)
    qualification = state.qualifications.get(supplier)
    return BidderView(
        name=state.suppliers[supplier].name,
        bid=YourBid(bid_id=bid.bid_id, commitment=bid.commitment, received_at=bid.at,
                    documents_hash=bid.documents_hash,
                    needs_confirmation=bid.documents_hash != state.config.documents_hash,
                    signature=bid.signature)
        if bid is not None else None,
        questions=tuple(
            YourQuestion(question_id=q.question_id, text=q.text, asked_at=q.at, number=q.number,
                         answer=q.answer)
            for q in sorted(state.questions.get(supplier, {}).values(), key=lambda q: q.at)
        ),
        qualification=QualificationView(supplier=supplier, status=qualification.status,
                                        reason=qualification.reason) if qualification else None,
        complaints=tuple(_complaint_view(c) for _, c in sorted(state.complaints.get(supplier, {}).items())),
        won=tuple(a.lot_id for a in state.awards if a.supplier == supplier),
        quote=next((line for line in state.record if line.supplier == supplier), None),
        signing_key=state.suppliers[supplier].signing_key,
        terms_accepted=state.terms.accepted_now(supplier),
        restricted=standing.shown(state.restricted.get(supplier)),
    )


# ------------------------------------------------------------------ redacted events


def personal_to(state: TenderState, event: ev.Event) -> str | None:
    """The supplier who sees this event differently from every other supplier, if any."""
    match event:
        case (ev.BidSubmitted() | ev.BidWithdrawn() | ev.BidConfirmed() | ev.SubmissionRefused()
              | ev.QuestionAsked() | ev.QuestionAnswered() | ev.BidQualified()
              | ev.ComplaintFiled() | ev.ComplaintResolved() | ev.TermsAccepted()
              | ev.SupplierRestricted() | ev.SupplierReinstated()):
            return event.supplier
    return None


def _without(event: ev.Event, *names: str) -> dict[str, Any]:
    data = msgspec.to_builtins(event)
    for name in names:
        data.pop(name, None)
    return data


def _public_config(config) -> dict[str, Any]:
    data = msgspec.to_builtins(config)
    for name in ("officers", "evaluators", "abnormally_low_pct"):  # the buyer's people and check
        data.pop(name, None)
    return data


# Events the buyer is not shown as they are: an accepted share without its fingerprint; a refused submission only when it was
# late (one refused earlier would tell of a supplier bidding before the deadline).
_NOT_AS_IS_TO_THE_BUYER = frozenset({ev.ShareAccepted, ev.SubmissionRefused})


def redact(state: TenderState, event: ev.Event, actor: Actor) -> Any | None:
    """The event as ``actor`` may see it (the event, or a JSON-ready dict with "type"), or None.
    Who is shown each event type is in ``events.EVENT_TABLE``; what is shown never depends on
    anything that happened after the event."""
    buyer = actor.role is Role.BUYER
    author = actor.role is Role.SUPPLIER and personal_to(state, event) == actor.party
    shown = ev.EVENT_TABLE[type(event)][1]
    if shown is Shown.NOBODY:
        return None
    if shown is Shown.BUYER:
        return event if buyer else None
    if shown is Shown.AUTHOR:
        return _without(event, "sealed") if author else None
    if shown is Shown.PUBLIC:
        return event if buyer or getattr(event, "user", msgspec.UNSET) is msgspec.UNSET \
            else msgspec.structs.replace(event, user=msgspec.UNSET)
    if buyer and type(event) not in _NOT_AS_IS_TO_THE_BUYER:
        return event
    match event:
        case ev.TenderCreated() | ev.TenderUpdated():
            data = _without(event, "buyer", "user")
            data["config"] = _public_config(event.config)
            return data
        case ev.QuestionAsked():
            return event if author else None
        case ev.QuestionAnswered():
            data = _without(event, "supplier", "question_id", "user")
            if author:
                data |= {"question_id": event.question_id, "yours": True}
            return data
        case ev.SubmissionRefused():
            if buyer:
                return event if event.reason is Reason.DEADLINE_PASSED else None
            return _without(event, "role", "party") if author else None
        case ev.ShareAccepted():
            return (_without(event, "fingerprint", "index") if buyer
                    else _without(event, "fingerprint", "index", "officer"))
        case ev.SharesMismatch():
            return {"type": "shares_mismatch", "at": event.at, "presented": len(event.officers)}
        case ev.TenderOpened():
            if _private(state, actor):  # its own line is in its ``you``
                return {"type": "tender_opened", "at": event.at}
            # The record is in the view that comes with the event (``opening``): sent twice, a
            # thousand bids' record would be twice the bytes on every bidder's socket at once.
            return {"type": "tender_opened", "at": event.at, "private_key": event.private_key,
                    "bids": len(event.record)}
        case ev.BidQualified():
            return _without(event, "user") if author else None
        case ev.AwardDecided():
            data = _without(event, "user", "approved_by")  # the buyer's people
            private = _private(state, actor)
            for lot in data["lots"]:
                lot["ranking"] = [entry | {"abnormally_low": False} for entry in lot["ranking"]
                                  if not private or entry["rank"] == 1]
            return data
        case ev.ComplaintFiled():
            return _without(event, "user") if author else {"type": "complaint_filed", "at": event.at}
        case ev.ComplaintResolved():
            if author:
                return _without(event, "user")
            return _without(event, "supplier", "complaint_id", "user")
        case ev.TermsAccepted():  # its author's, besides the buyer's
            return event if author else None
        case ev.SupplierRestricted() | ev.SupplierReinstated():
            return event if author else None  # no other supplier learns who
    raise TypeError(f"no redaction rule for {type(event).__name__}")
