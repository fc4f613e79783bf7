"""The state of one tender: a fold of ``evolve`` over its events.

Mutable on purpose, like the reverse auction's: ``evolve`` applies one event in place and
``decide`` only reads. Everything a supplier names by its own id (bids, questions, complaints) is
kept per supplier, so no supplier's id is ever compared with another's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ..terms import TermsRecord
from .events import AwardDecided, AwardProposed, FinalAward, FollowOnAuctionStarted, OpenedBid
from ..standing import Restriction
from .values import TenderConfig


class Phase(enum.StrEnum):
    NEW = "new"  # before TenderCreated
    DRAFT = "draft"
    PUBLISHED = "published"  # questions and sealed bids
    SUBMISSION = "submission"  # sealed bids only: the enquiry period is over
    CLOSED = "closed"  # the deadline passed; the opening time has not come
    OPENING = "opening"  # the officers present their shares
    EVALUATION = "evaluation"  # qualification and scores
    AUCTION = "auction"  # final here: the award is made in the follow-on auction (``follow_on``)
    STANDSTILL = "standstill"  # the award decision is made; complaints may hold it
    AWARDED = "awarded"  # final
    UNSUCCESSFUL = "unsuccessful"  # final: no (or too few) valid bids
    CANCELLED = "cancelled"  # final


FINAL = frozenset({Phase.AWARDED, Phase.UNSUCCESSFUL, Phase.CANCELLED, Phase.AUCTION})
TAKING_BIDS = frozenset({Phase.PUBLISHED, Phase.SUBMISSION})


class BidStatus(enum.StrEnum):
    CURRENT = "current"
    REPLACED = "replaced"  # by a revision
    WITHDRAWN = "withdrawn"


@dataclass(slots=True)
class SupplierEntry:
    name: str
    invited_at: int
    signing_key: bytes | None = None  # registered with the invitation: its bids may be signed


@dataclass(slots=True)
class Confirmation:
    documents_hash: str
    at: int
    seq: int


@dataclass(slots=True)
class SealedBid:
    """One sealed bid as received, kept whatever became of it (the audit trail)."""

    bid_id: str
    supplier: str
    sealed: bytes
    commitment: str
    at: int  # the exact time of receipt
    seq: int
    documents_hash: str  # the documents it stands on: those current at receipt, or confirmed
    replaces: str | None = None
    status: BidStatus = BidStatus.CURRENT
    withdrawn_at: int | None = None
    withdrawn_seq: int | None = None
    confirmations: list[Confirmation] = field(default_factory=list)
    user: str = ""
    signature: bytes | None = None  # the supplier's, checked when it was received


@dataclass(slots=True)
class Refusal:
    """A refused submission, revision, withdrawal or confirmation (``events.SubmissionRefused``)."""

    kind: str
    supplier: str
    bid_id: str
    commitment: str
    reason: str
    detail: str
    role: str
    party: str
    user: str
    at: int
    seq: int


@dataclass(slots=True)
class Question:
    supplier: str
    question_id: str
    text: str
    at: int
    user: str = ""
    number: int | None = None  # once answered: its number among the published answers
    answer: str | None = None
    answered_at: int | None = None
    answered_by: str = ""


@dataclass(slots=True)
class ShareRecord:
    """An accepted share, as journaled: never the share (``shares``), its fingerprint and index."""

    fingerprint: str
    index: int
    at: int


@dataclass(slots=True)
class ShareAttempt:
    """A share refused by the rules (``events.ShareRefused``): who tried, when, and why."""

    officer: str
    party: str
    role: str
    reason: str
    detail: str
    at: int


@dataclass(slots=True)
class QualificationRecord:
    status: str
    reason: str
    at: int
    user: str = ""


@dataclass(slots=True)
class ComplaintRecord:
    supplier: str
    complaint_id: str
    text: str
    at: int
    user: str = ""
    resolved_at: int | None = None
    upheld: bool | None = None
    resolution: str = ""
    resolved_by: str = ""


@dataclass(slots=True)
class Declaration:
    """An officer's or evaluator's declaration of interests (``conflicts``)."""

    conflict: bool
    statement: str
    at: int


@dataclass(slots=True)
class TenderState:
    auction_id: str  # the tender's id (the runtime names every event by this attribute)
    buyer: str | None = None
    # As it stands: a change of the documents after publication replaces its documents' hash and
    # its schedule (``events.DocumentsChanged``); the journal keeps every version.
    config: TenderConfig | None = None
    phase: Phase = Phase.NEW
    seq: int = 0
    created_at: int | None = None
    # when the listing's fields (``records.listed``) last changed: the listing's ``updated_at``
    listed_at: int | None = None
    published_at: int | None = None
    suppliers: dict[str, SupplierEntry] = field(default_factory=dict)
    questions: dict[str, dict[str, Question]] = field(default_factory=dict)  # supplier -> id ->
    answered: int = 0
    bids: dict[str, dict[str, SealedBid]] = field(default_factory=dict)  # supplier -> bid id ->
    current: dict[str, str] = field(default_factory=dict)  # supplier -> its current bid's id
    refusals: list[Refusal] = field(default_factory=list)
    refused: dict[str, dict[str, int]] = field(default_factory=dict)  # supplier -> bid id -> index
    received: int | None = None  # current bids at the deadline
    shares: dict[str, ShareRecord] = field(default_factory=dict)  # officer -> its share's print
    share_attempts: list[ShareAttempt] = field(default_factory=list)
    mismatch: tuple[str, ...] = ()  # the officers whose shares last failed to combine
    opened_at: int | None = None
    private_key: bytes | None = None
    opened_by: tuple[str, ...] = ()
    record: list[OpenedBid] = field(default_factory=list)  # the opening record, in order
    qualifications: dict[str, QualificationRecord] = field(default_factory=dict)  # supplier ->
    scores: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # evaluator ->
    # supplier -> criterion -> score
    decision: AwardDecided | None = None
    standstill_ends_at: int | None = None  # as it stood when complaints last held it
    held_at: int | None = None  # since when open complaints hold the standstill (None: running)
    complaints: dict[str, dict[str, ComplaintRecord]] = field(default_factory=dict)
    awards: tuple[FinalAward, ...] = ()
    follow_on: FollowOnAuctionStarted | None = None  # the auction the award is made in
    ended_reason: str = ""  # why it was cancelled or unsuccessful
    ended_at: int | None = None  # when it was awarded (final), cancelled or found unsuccessful
    # the terms and who accepted which version (``engine.terms``)
    terms: TermsRecord = field(default_factory=TermsRecord)
    proposal: AwardProposed | None = None  # a decision awaiting approval (``engine.approval``)
    restricted: dict[str, Restriction] = field(default_factory=dict)  # supplier -> its restriction
    declarations: dict[str, Declaration] = field(default_factory=dict)  # user -> its declaration

    @classmethod
    def new(cls, tender_id: str) -> "TenderState":
        return cls(tender_id)

    @property
    def finished(self) -> bool:
        return self.phase in FINAL

    def current_bid(self, supplier: str) -> SealedBid | None:
        bid_id = self.current.get(supplier)
        return None if bid_id is None else self.bids[supplier][bid_id]

    def opened(self) -> dict[str, OpenedBid]:
        """The opening record's lines of the bids that opened, by supplier."""
        return {line.supplier: line for line in self.record if line.failed is None}

    def open_complaints(self) -> list[ComplaintRecord]:
        return [c for by in self.complaints.values() for c in by.values() if c.resolved_at is None]
