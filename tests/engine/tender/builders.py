"""Builders for the sealed tender's engine tests: a configured tender, sealed bids made with the
real sealing suite (a fresh key per test session, split 2-of-3 among the officers), commands at
given times, and a tender brought to each stage."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from dataclasses import dataclass, field

import msgspec

from bidserver import sealing
from bidserver.engine.rejections import Reason, Rejection
from bidserver.engine.tender import FORMAT, TenderState, decide, evolve, state_bytes
from bidserver.engine.tender.commands import (
    AnswerQuestion, AskQuestion, CancelTender, ChangeDocuments, Complaint, ConfirmBid, CreateTender,
    DecideAward, DeclareInterests, InviteSupplier, PresentShare, Publish, Qualification, Qualify,
    ResolveComplaint, ReviseBid, Score, SetSupplierStanding, StartFollowOnAuction, SubmitBid, Tick,
    WithdrawBid,
)
from bidserver.engine.tender.decide import refusal_record
from bidserver.engine.reverse.values import Decrement, DecrementKind
from bidserver.engine.tender.values import (
    DAY_MS, AwardCriteria, AwardKind, Criterion, FollowOnRules, Procedure, Schedule, TenderConfig,
    TenderLot,
)
from bidserver.engine.values import SYSTEM, Actor, Role
from bidserver.sealing.bid import LotPrice, bid_content, seal_bid
from bidserver.sealing.bid_signature import BidStatement, sign_bid
from bidserver.sealing.shamir import share_to_text, split

SUITE = sealing.FIRST
PRIVATE, PUBLIC = SUITE.keypair()
SHARES = [share_to_text(s) for s in split(PRIVATE, 2, 3)]
OTHER_PRIVATE, OTHER_PUBLIC = SUITE.keypair()  # a key the tender does not publish
OTHER_SHARES = [share_to_text(s) for s in split(OTHER_PRIVATE, 2, 3)]

# The reasons only a sealed tender gives; the reverse auction's tests reach every other one.
TENDER_REASONS = (
    Reason.WRONG_PHASE, Reason.DEADLINE_PASSED, Reason.NOT_SEALED, Reason.COMMITMENT_MISMATCH,
    Reason.BAD_SIGNATURE, Reason.NO_SIGNING_KEY, Reason.SIGNATURE_REQUIRED,
    Reason.STALE_DOCUMENTS, Reason.ENQUIRIES_CLOSED, Reason.UNKNOWN_QUESTION,
    Reason.ALREADY_ANSWERED, Reason.OPENING_NOT_DUE, Reason.INVALID_SHARE,
    Reason.ALREADY_PRESENTED, Reason.INVALID_SCORE, Reason.EVALUATION_INCOMPLETE,
    Reason.UNKNOWN_COMPLAINT, Reason.DECLARATION_REQUIRED, Reason.CONFLICTED,
    Reason.ALREADY_DECLARED,
)

TENDER = "tnd-1"
T0 = 1_800_000_000_000  # publication
HOUR = 3_600_000
DAY = DAY_MS
ENQUIRY_END = T0 + 25 * DAY
DEADLINE = T0 + 40 * DAY
OPENING = DEADLINE + HOUR

ORG = "org-buyer"
BUYER = Actor(Role.BUYER, ORG, "clerk")
OTHER_BUYER = Actor(Role.BUYER, "org-other", "clerk")
OBSERVER = Actor(Role.OBSERVER, ORG)
OFFICERS = ("off-1", "off-2", "off-3")
EVALUATORS = ("ev-1", "ev-2")
SUPPLIERS = ("sup-a", "sup-b", "sup-c")
NAMES = {s: f"{s.upper()} Ltd" for s in SUPPLIERS}


def officer(user: str) -> Actor:
    return Actor(Role.BUYER, ORG, user)


def evaluator(user: str) -> Actor:
    return Actor(Role.BUYER, ORG, user)


def supplier(party: str) -> Actor:
    return Actor(Role.SUPPLIER, party, f"{party}-person")


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


DOCS = digest("documents v1")
DOCS_2 = digest("documents v2")


def lots(*specs: tuple[str, int | None]) -> tuple[TenderLot, ...]:
    return tuple(TenderLot(lot_id=lot_id, title=f"lot {lot_id}", estimated_value=value)
                 for lot_id, value in specs)


MEAT = AwardCriteria(kind=AwardKind.MEAT, criteria=(
    Criterion("price", 60), Criterion("quality", 30), Criterion("delivery", 10)))


def config(**overrides) -> TenderConfig:
    base = TenderConfig(
        title="Road salt, winter supply",
        currency="EUR",
        lots=lots(("L1", 5_000_000), ("L2", 2_000_000)),
        documents_hash=DOCS,
        public_key=PUBLIC,
        officers=OFFICERS,
        k=2,
        schedule=Schedule(enquiry_end_at=ENQUIRY_END, submission_deadline_at=DEADLINE,
                          opening_at=OPENING),
        evaluators=EVALUATORS,
    )
    return msgspec.structs.replace(base, **overrides)


# ------------------------------------------------------------------ a request for quotations

RFQ_SHARES = [share_to_text(s) for s in split(PRIVATE, 1, 2)]  # the buyer's team: any one opens
RFQ_DEADLINE = T0 + 2 * DAY  # no enquiry period: quotes from publication to the deadline


def rfq_config(**overrides) -> TenderConfig:
    """An RFQ for three line items, k = 1 of two officers, no enquiry period, no standstill."""
    return config(**{
        "title": "Office supplies Q3",
        "procedure": Procedure.RFQ,
        "lots": (TenderLot(lot_id="P1", title="A4 paper", quantity=Decimal(200), unit="ream"),
                 TenderLot(lot_id="P2", title="Toner", quantity=Decimal(3), unit="piece"),
                 TenderLot(lot_id="P3", title="Stapler", quantity=Decimal("2.5"), unit="box")),
        "officers": ("off-1", "off-2"),
        "k": 1,
        "evaluators": (),
        "schedule": Schedule(enquiry_end_at=0, submission_deadline_at=RFQ_DEADLINE,
                             opening_at=RFQ_DEADLINE),
        "standstill_ms": 0,
        "requested_certificates": ("ISO 9001", "ISO 14001"),
        **overrides,
    })


def quote(party: str, bid_id: str, prices: dict[str, int], at: int, *, delivery: int | None = 5,
          validity: int | None = 30, certificates: tuple[str, ...] = ()) -> SubmitBid:
    return bid(party, bid_id, prices, at, delivery_days=delivery, validity_days=validity,
               certificates=certificates)


def schedule(enquiry_end_at=ENQUIRY_END, deadline=DEADLINE, opening_at=OPENING) -> Schedule:
    return Schedule(enquiry_end_at=enquiry_end_at, submission_deadline_at=deadline,
                    opening_at=opening_at)


# ------------------------------------------------------------------ sealed bids


def sealed(party: str, prices: dict[str, int], *, tender: str = TENDER, currency: str = "EUR",
           security: str | None = None, public: bytes = PUBLIC, **quote) -> bytes:
    """A sealed bid; ``quote``: an RFQ's ``delivery_days``, ``validity_days``, ``certificates``."""
    content = bid_content(tender, party, currency,
                          tuple(LotPrice(lot_id=k, amount=v) for k, v in prices.items()), security,
                          **quote)
    return seal_bid(SUITE, public, content)


def submit(party: str, bid_id: str, blob: bytes, at: int, commitment: str | None = None) -> SubmitBid:
    return SubmitBid(actor=supplier(party), at=at, bid_id=bid_id, sealed=blob,
                     commitment=commitment or SUITE.commitment(blob))


# Each supplier organisation's signing keypair (private, public), for the tests that register them.
SIGNING = {s: SUITE.signing_keypair() for s in SUPPLIERS}


def signature(party: str, bid_id: str, commitment: str, *, tender: str = TENDER,
              private: bytes | None = None) -> bytes:
    """``party``'s signature over its bid (with its own key unless ``private`` says another)."""
    statement = BidStatement(bid_id=bid_id, commitment=commitment, supplier=party,
                             tender_id=tender)
    return sign_bid(SUITE, private or SIGNING[party][0], statement)


def signed_bid(party: str, bid_id: str, prices: dict[str, int], at: int, **kw) -> SubmitBid:
    """A bid signed by ``party`` with its registered key (``signature``'s keywords in ``kw``)."""
    command = bid(party, bid_id, prices, at)
    return msgspec.structs.replace(
        command, signature=signature(party, bid_id, command.commitment, **kw))


def bid(party: str, bid_id: str, prices: dict[str, int], at: int, **kw) -> SubmitBid:
    return submit(party, bid_id, sealed(party, prices, **kw), at)


def revise(party: str, bid_id: str, replaces: str, prices: dict[str, int], at: int) -> ReviseBid:
    blob = sealed(party, prices)
    return ReviseBid(actor=supplier(party), at=at, bid_id=bid_id, replaces=replaces, sealed=blob,
                     commitment=SUITE.commitment(blob))


def withdraw(party: str, bid_id: str, at: int) -> WithdrawBid:
    return WithdrawBid(actor=supplier(party), at=at, bid_id=bid_id)


def confirm(party: str, bid_id: str, at: int, documents_hash: str = DOCS_2) -> ConfirmBid:
    return ConfirmBid(actor=supplier(party), at=at, bid_id=bid_id, documents_hash=documents_hash)


def share(user: str, index: int, at: int, shares=SHARES) -> PresentShare:
    return PresentShare(actor=officer(user), at=at, share=shares[index])


def tick(at: int) -> Tick:
    return Tick(actor=SYSTEM, at=at)


def declare(user: str, at: int, conflict: bool = False,
            statement: str = "no interest in any supplier") -> DeclareInterests:
    return DeclareInterests(actor=officer(user), at=at, conflict=conflict, statement=statement)


def standing(party: str, at: int, restricted: bool = True, reason: str = "suspended",
             detail: str = "suspended by the registry", actor: Actor = SYSTEM) -> SetSupplierStanding:
    """The supplier registry's word on ``party``, pushed in by the server."""
    return SetSupplierStanding(actor=actor, at=at, supplier=party, restricted=restricted,
                               reason=reason, detail=detail)


def ask(party: str, question_id: str, text: str, at: int) -> AskQuestion:
    return AskQuestion(actor=supplier(party), at=at, question_id=question_id, text=text)


def answer(party: str, question_id: str, text: str, at: int, actor: Actor = BUYER) -> AnswerQuestion:
    return AnswerQuestion(actor=actor, at=at, supplier=party, question_id=question_id, answer=text)


def qualify(party: str, at: int, reason: str = "", valid: bool = True, actor: Actor = BUYER) -> Qualify:
    status = Qualification.VALID if valid else Qualification.DISQUALIFIED
    return Qualify(actor=actor, at=at, supplier=party, status=status, reason=reason)


def score(user: str, party: str, criterion: str, value: int, at: int) -> Score:
    return Score(actor=evaluator(user), at=at, supplier=party, criterion=criterion, score=value)


def decide_award(at: int, actor: Actor = BUYER) -> DecideAward:
    return DecideAward(actor=actor, at=at)


RULES = FollowOnRules(duration_ms=HOUR, decrement=Decrement(DecrementKind.AMOUNT, 10_000))


def follow_on(at: int, actor: Actor = BUYER, rules: FollowOnRules = RULES) -> StartFollowOnAuction:
    return StartFollowOnAuction(actor=actor, at=at, rules=rules)


def complain(party: str, complaint_id: str, at: int,
             text: str = "the winner's price is too low") -> Complaint:
    return Complaint(actor=supplier(party), at=at, complaint_id=complaint_id, text=text)


def resolve(party: str, complaint_id: str, at: int, upheld: bool = False,
            resolution: str = "dismissed: the price was explained") -> ResolveComplaint:
    return ResolveComplaint(actor=BUYER, at=at, supplier=party, complaint_id=complaint_id,
                            upheld=upheld, resolution=resolution)


def cancel(at: int, reason: str = "budget withdrawn", actor: Actor = BUYER) -> CancelTender:
    return CancelTender(actor=actor, at=at, reason=reason)


def change(at: int, documents_hash: str = DOCS_2, **kw) -> ChangeDocuments:
    return ChangeDocuments(actor=BUYER, at=at, documents_hash=documents_hash, **kw)


# ------------------------------------------------------------------ deciding


@dataclass(slots=True)
class Outcome:
    events: list = field(default_factory=list)
    rejection: Rejection | None = None


def handle(state: TenderState, command, memory: dict | None = None) -> Outcome:
    """Decide, then apply each event; a refusal's record is applied too, as the room journals it.
    ``memory``: the room's memory of presented shares (``shares``), used and kept as the room
    does; None: a fresh one (a room just started)."""
    memory = {} if memory is None else memory
    decision = decide(state, FORMAT.with_memory(command, memory))
    if isinstance(decision, Rejection):
        record = refusal_record(state, command, decision)
        if record is not None:
            evolve(state, record)
        return Outcome(events=[record] if record is not None else [], rejection=decision)
    FORMAT.remember(memory, command, decision)
    for event in decision:
        evolve(state, event)
    return Outcome(events=decision)


def ok(state: TenderState, command, memory: dict | None = None) -> list:
    outcome = handle(state, command, memory)
    assert outcome.rejection is None, outcome.rejection
    return outcome.events


def refused(state: TenderState, command) -> Rejection:
    """The rejection ``command`` gets; asserts deciding it changed nothing."""
    before = state_bytes(state)
    decision = decide(state, command)
    assert isinstance(decision, Rejection), f"accepted: {decision}"
    assert state_bytes(state) == before
    return decision


def of_type(events, kind) -> list:
    return [e for e in events if isinstance(e, kind)]


# ------------------------------------------------------------------ a tender at each stage


class Run:
    """A tender driven step by step, keeping every event (for replays and listings)."""

    def __init__(self, cfg: TenderConfig | None = None, suppliers=SUPPLIERS,
                 signing: tuple[str, ...] = (), declared: bool = True) -> None:
        """``signing``: the suppliers invited with their organisation's signing key;
        ``declared``: every officer and evaluator has declared "no conflict" (``conflicts``)."""
        self.state = TenderState.new(TENDER)
        self.log: list = []
        self.memory: dict[str, str] = {}  # the room's: the shares presented, never journaled
        cfg = cfg or config()
        self.do(CreateTender(actor=BUYER, at=T0 - 2 * DAY, tender_id=TENDER, config=cfg))
        for party in suppliers:
            self.do(InviteSupplier(actor=BUYER, at=T0 - DAY, supplier=party, name=NAMES.get(party, party),
                                   signing_key=SIGNING[party][1] if party in signing else None))
        if declared:
            for user in dict.fromkeys(cfg.officers + cfg.evaluators):
                self.do(declare(user, T0 - DAY))

    def do(self, command) -> list:
        events = ok(self.state, command, self.memory)
        self.log += events
        return events

    def try_(self, command) -> Outcome:
        outcome = handle(self.state, command, self.memory)
        self.log += outcome.events
        return outcome

    def publish(self, at: int = T0) -> "Run":
        self.do(Publish(actor=BUYER, at=at))
        return self

    def close(self) -> "Run":
        self.do(tick(DEADLINE))
        return self

    def restart(self) -> "Run":
        """The room restarts: its state is the journal's, its memory empty."""
        self.memory = {}
        return self

    def start_opening(self) -> "Run":
        self.do(tick(OPENING))
        return self

    def open(self, officers=(0, 1)) -> "Run":
        for i in officers:
            self.do(share(OFFICERS[i], i, OPENING + 1 + i))
        return self


def published(cfg: TenderConfig | None = None, suppliers=SUPPLIERS, signing=()) -> Run:
    return Run(cfg, suppliers, signing).publish()


PRICES = {"sup-a": {"L1": 4_000_000, "L2": 1_500_000},
          "sup-b": {"L1": 3_800_000},
          "sup-c": {"L1": 4_200_000, "L2": 1_400_000}}


def with_bids(cfg: TenderConfig | None = None, prices=None) -> Run:
    run = published(cfg)
    for i, (party, offer) in enumerate((prices or PRICES).items()):
        run.do(bid(party, f"{party}-1", offer, T0 + DAY + i))
    return run


def opened(cfg: TenderConfig | None = None, prices=None) -> Run:
    return with_bids(cfg, prices).close().start_opening().open()


def then(run: Run, command) -> Run:
    run.do(command)
    return run


def qualified(run: Run, at: int = OPENING + DAY) -> Run:
    """Every opened bid qualified as valid."""
    for party in ("sup-a", "sup-b", "sup-c"):
        run.do(qualify(party, at))
    return run


def decided(**cfg) -> Run:
    """The award decided (every bid valid) and the standstill running until ``STANDSTILL_END``."""
    return then(qualified(opened(config(**cfg))), decide_award(OPENING + 2 * DAY))


STANDSTILL_END = OPENING + 12 * DAY  # the default standstill's end after ``decided``

# A tender at each stage, by the name of its phase.
STAGES = {
    "new": lambda: None,
    "draft": Run,
    "published": with_bids,
    "submission": lambda: then(with_bids(), tick(ENQUIRY_END)),
    "closed": lambda: with_bids().close(),
    "opening": lambda: with_bids().close().start_opening(),
    "evaluation": opened,
    "standstill": decided,
    "awarded": lambda: then(decided(), tick(STANDSTILL_END)),
    "auction": lambda: then(qualified(opened()), follow_on(OPENING + 2 * DAY)),
    "unsuccessful": lambda: published(config(min_bidders=2)).close(),
    "cancelled": lambda: then(Run(), cancel(T0)),
}


def stage(name: str) -> TenderState:
    return TenderState.new(TENDER) if name == "new" else STAGES[name]().state
