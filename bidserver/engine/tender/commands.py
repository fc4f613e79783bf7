"""Commands: what an actor asks of one tender. Each carries its actor and the time ``at`` (ms).

Ids a supplier chooses (bid ids, question ids, complaint ids) are its own: they are scoped to the
supplier, so one supplier's id never collides with, and so never tells of, another's.
"""

from __future__ import annotations

import enum

import msgspec

from ..standing import ReasonCode
from ..values import Actor, Id, Text
from .values import Digest, FollowOnRules, TenderConfig


class _Command(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type", gc=False
):
    actor: Actor
    at: int


# ------------------------------------------------------------------ the buyer's preparation


class CreateTender(_Command, tag="create_tender"):
    tender_id: str
    config: TenderConfig


class UpdateTender(_Command, tag="update_tender"):
    """Replaces the configuration of a draft."""

    config: TenderConfig


class InviteSupplier(_Command, tag="invite_supplier"):
    supplier: Id
    name: str = ""  # the legal name: the buyer's until the opening, then every bidder's
    # The public signing key registered for the supplier's organisation, raw bytes of the
    # tender's suite (Ed25519: 32), as the platform knows it: the key its bids may be signed with
    # (``sealing.bid_signature``). None: the supplier cannot sign its bids in this tender.
    signing_key: bytes | None = None


class Publish(_Command, tag="publish"):
    """Publication: the time limits of the profile run from now (``rules.profile_fault``)."""


class ChangeDocuments(_Command, tag="change_documents"):
    """New tender documents after publication: every bid already in must be confirmed against
    them, and the deadline and the opening may move later with them."""

    documents_hash: Digest
    submission_deadline_at: int | None = None
    opening_at: int | None = None


# ------------------------------------------------------------------ enquiries


class AskQuestion(_Command, tag="ask_question"):
    question_id: Id
    text: Text


class AnswerQuestion(_Command, tag="answer_question"):
    """Published to every participant without the asker's name."""

    supplier: Id  # who asked: the buyer knows it, nobody else is told
    question_id: Id
    answer: Text


# ------------------------------------------------------------------ sealed bids


class SubmitBid(_Command, tag="submit_bid"):
    bid_id: Id  # resending it never makes a second bid
    sealed: bytes  # the bid sealed to the tender's key (base64 in JSON)
    commitment: str  # "sha256:<hex>" of ``sealed``, as the supplier computed it
    # The supplier's signature with its registered key over the tender, itself, the bid id and
    # the commitment (``sealing.bid_signature``); None: an unsigned bid.
    signature: bytes | None = None


class ReviseBid(_Command, tag="revise_bid"):
    """A new sealed bid replacing the supplier's current one."""

    bid_id: Id
    replaces: Id
    sealed: bytes
    commitment: str
    signature: bytes | None = None  # as ``SubmitBid``'s, over the new bid


class WithdrawBid(_Command, tag="withdraw_bid"):
    bid_id: Id


class ConfirmBid(_Command, tag="confirm_bid"):
    """After the documents changed: the supplier's current bid stands on these documents."""

    bid_id: Id
    documents_hash: Digest


class Tick(_Command, tag="tick"):
    """The shell's timer: enquiries end, the deadline passes, the opening time comes, the
    standstill ends."""


# ------------------------------------------------------------------ opening and evaluation


class PresentShare(_Command, tag="present_share"):
    """An opening officer's key share (the sealing package's share text).

    ``held`` is the room's memory of the shares accepted before this one (officer -> share
    text), attached by the room's one writer just before it decides (``shares.with_memory``):
    presented shares are never journaled, only their fingerprints, so the engine combines what
    the room holds. The edges never fill it (their body is the share alone), and the writer
    replaces whatever came with the command."""

    share: str
    held: dict[str, str] = msgspec.field(default_factory=dict)


class Qualification(enum.StrEnum):
    VALID = "valid"
    DISQUALIFIED = "disqualified"


class Qualify(_Command, tag="qualify"):
    supplier: Id  # whose opened bid
    status: Qualification
    reason: Text = ""  # required to disqualify


class Score(_Command, tag="score"):
    """An evaluator's score (0-100) of one bid on one quality criterion; the evaluator is the
    actor's user."""

    supplier: Id
    criterion: str
    score: int


class DecideAward(_Command, tag="decide_award"):
    """Ranks every lot by the published formula, names each lot's best valid bid and starts the
    standstill."""


class StartFollowOnAuction(_Command, tag="start_follow_on_auction"):
    """Instead of deciding the award: a live reverse auction among the qualified bidders, their
    sealed prices as opening bids (EU Art. 35; ``follow_on``)."""

    rules: FollowOnRules


class Complaint(_Command, tag="complaint"):
    complaint_id: Id
    text: Text


class ResolveComplaint(_Command, tag="resolve_complaint"):
    """``upheld``: the award decision is withdrawn and the evaluation goes on; otherwise the
    standstill goes on for the time it had left."""

    supplier: Id  # who complained
    complaint_id: Id
    upheld: bool
    resolution: Text


class CancelTender(_Command, tag="cancel_tender"):
    reason: Text


class RecordAccessRefusal(_Command, tag="record_access_refusal"):
    """A read the edge refused (another's file, a receipt, the comparison before the opening),
    for the audit log (EU Annex IV (g): an attempt is recorded, not only refused). Built by the
    edge from what it refused, never decoded from a client."""

    what: str  # the route asked, as the edge names it
    reason: str  # the refusal's machine-readable reason


class AcceptTerms(_Command, tag="accept_terms"):
    """A supplier accepts the tender's terms (``engine.terms``), named by their hash."""

    terms_hash: str


class ApproveAward(_Command, tag="approve_award"):
    """Another user of the buyer approves the proposed award decision, or declines it with a
    reason (``engine.approval``)."""

    approve: bool
    reason: Text = ""
# ------------------------------------------------------------------ standing and conflicts


class SetSupplierStanding(_Command, tag="set_supplier_standing"):
    """The supplier registry's word on an invited supplier (``engine.standing``): from the
    server alone (the system actor), never from a client."""

    supplier: str
    restricted: bool
    reason: ReasonCode  # the registry's code: suspended, blacklisted, certificate_expired...
    detail: Text = ""


class DeclareInterests(_Command, tag="declare_interests"):
    """An officer's or evaluator's declaration of interests (``conflicts``), once: ``conflict``
    removes them from the tender's work; none lets them open, qualify, score and see the bids."""

    conflict: bool
    statement: Text


Command = (
    CreateTender
    | UpdateTender
    | InviteSupplier
    | Publish
    | ChangeDocuments
    | AskQuestion
    | AnswerQuestion
    | SubmitBid
    | ReviseBid
    | WithdrawBid
    | ConfirmBid
    | Tick
    | PresentShare
    | Qualify
    | Score
    | DecideAward
    | StartFollowOnAuction
    | Complaint
    | ResolveComplaint
    | RecordAccessRefusal
    | CancelTender
    | AcceptTerms
    | ApproveAward
    | SetSupplierStanding
    | DeclareInterests
)
