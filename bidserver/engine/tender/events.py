"""Events: facts that happened to one tender, in one total order (their sequence number).

Events are what the journal stores; the state is a fold of ``evolve`` over them, so an event
carries everything needed to apply it without re-running a rule: the opening record (every bid
decrypted at the opening, with the key that opened them), the ranking behind an award decision and
the standstill's end are computed in ``decide`` and recorded here.

What an event is and who is listed it never depends on what happened after it (the live room's
cursors count listed events: ``runtime.cursors``), so before the deadline a submission is listed to
its author alone, never to the buyer, and after it the opening record tells everyone at once.
"""

from __future__ import annotations

import enum

import msgspec
from msgspec import UNSET, UnsetType

from ..format import Delivery
from ..rejections import Reason
from ..reverse.values import AuctionConfig
from ..values import Actor, Role
from .commands import Qualification
from .values import Schedule, TenderConfig

Audit = str | UnsetType  # the acting person (the token's ``sub``); UNSET: the server, or unknown


def user_of(actor: Actor) -> Audit:
    return actor.user or UNSET


def recorded(value: Audit) -> str:
    return "" if value is UNSET else value


class _Event(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type", gc=False
):
    at: int  # ms epoch, from the command that caused it


# ------------------------------------------------------------------ preparation and enquiries


class TenderCreated(_Event, tag="tender_created"):
    tender_id: str
    buyer: str
    config: TenderConfig
    user: Audit = UNSET


class TenderUpdated(_Event, tag="tender_updated"):
    config: TenderConfig
    user: Audit = UNSET


class SupplierInvited(_Event, tag="supplier_invited"):
    supplier: str
    name: str = ""
    user: Audit = UNSET
    signing_key: bytes | None = None  # the organisation's registered public signing key


class TenderPublished(_Event, tag="tender_published"):
    """Its ``at`` is the publication time the profile's time limits count from."""

    user: Audit = UNSET


class DocumentsChanged(_Event, tag="documents_changed"):
    documents_hash: str
    schedule: Schedule  # the schedule from now on (the deadline and the opening may be later)
    user: Audit = UNSET


class QuestionAsked(_Event, tag="question_asked"):
    supplier: str
    question_id: str
    text: str
    user: Audit = UNSET


class QuestionAnswered(_Event, tag="question_answered"):
    number: int  # 1, 2, ...: how the published answers are numbered (never the asker)
    supplier: str
    question_id: str
    question: str
    answer: str
    user: Audit = UNSET


class EnquiriesClosed(_Event, tag="enquiries_closed"):
    pass


# ------------------------------------------------------------------ sealed bids


class BidSubmitted(_Event, tag="bid_submitted"):
    """A sealed bid, as received: the journal keeps the ciphertext, which no view or listed event
    ever carries (nor its size): only its author is told, and only its commitment."""

    supplier: str
    bid_id: str
    sealed: bytes
    commitment: str
    replaces: str | None = None  # a revision: the supplier's bid it replaces
    user: Audit = UNSET
    # The supplier's signature over the bid (``sealing.bid_signature``), checked with its
    # registered key before this event was decided; None: unsigned.
    signature: bytes | None = None


class BidWithdrawn(_Event, tag="bid_withdrawn"):
    supplier: str
    bid_id: str
    user: Audit = UNSET


class BidConfirmed(_Event, tag="bid_confirmed"):
    supplier: str
    bid_id: str
    documents_hash: str
    user: Audit = UNSET


class SubmissionKind(enum.StrEnum):
    SUBMITTED = "submitted"
    REVISED = "revised"
    WITHDRAWN = "withdrawn"
    CONFIRMED = "confirmed"


class SubmissionRefused(_Event, tag="submission_refused"):
    """A submission, revision, withdrawal or confirmation the rules refused, with its exact time:
    the record of attempts (a late bid among them) and what answers a resend of its bid id.
    Listed to its author; to the buyer only when it was refused as late (after the deadline, when
    telling it tells nothing of the bids)."""

    kind: SubmissionKind
    supplier: str
    bid_id: str
    reason: Reason
    role: Role  # who sent it: role, party and person, from the token
    party: str
    commitment: str = ""  # what the supplier sent (never the sealed bytes)
    detail: str = ""
    user: Audit = UNSET


class SubmissionClosed(_Event, tag="submission_closed"):
    received: int  # current bids at the deadline: told only now that it has passed


class TenderUnsuccessful(_Event, tag="tender_unsuccessful"):
    reason: str


# ------------------------------------------------------------------ the opening


class OpeningStarted(_Event, tag="opening_started"):
    pass


class ShareAccepted(_Event, tag="share_accepted"):
    """An officer's share was accepted. Only its fingerprint is journaled, never the share: with
    the Redis dump and k - 1 other officers' shares, a journaled share would open the bids before
    the remaining officers agree. The share itself lives in the writing room's memory until the
    opening (``shares``); after a restart the officer presents it again, and the fingerprint
    tells that it is the same one. Its index (which of the n shares: public, 1 to n) lets a
    second share of one index be refused whatever the room holds."""

    officer: str
    index: int
    fingerprint: str  # ``shares.fingerprint``: sha256 of the share's canonical text
    presented: int  # shares presented so far, this one included


class SharesMismatch(_Event, tag="shares_mismatch"):
    """The shares presented do not combine to the tender's key: one at least is not what was
    handed out. More officers may present theirs; any k good ones open the bids."""

    officers: tuple[str, ...]


class ShareRefused(_Event, tag="share_refused"):
    """A share the rules refused (too early, not an officer's, malformed), without the share."""

    officer: str  # the user who presented it
    party: str
    role: Role
    reason: Reason
    detail: str = ""


class AccessRefused(_Event, tag="access_refused"):
    """A refused attempt to read something of the tender (a file, a receipt, the comparison):
    who, what and why, in the tamper-evident log for the auditor; shown to nobody in the views
    (an attempt must not become a way to learn about others)."""

    role: Role
    party: str
    user: str
    what: str
    reason: str


class LotPrice(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    lot_id: str
    price: int


class Document(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A document the opened bid names: its name and ``sha256:<hex>`` of its sealed file, which
    the file store holds apart from the journal (``http.bid_files``)."""

    name: str
    digest: str


class OpenedBid(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One line of the opening record: a bidder's name and prices, or why its bid did not open
    (China, Measures for Electronic Bidding, Art. 31: such a bid counts as revoked)."""

    supplier: str
    name: str
    bid_id: str
    commitment: str
    received_at: int
    prices: tuple[LotPrice, ...] = ()
    bid_security_ref: str | None = None
    failed: str | None = None
    # An RFQ's quote: days to delivery, days it stays binding, the certificates it claims.
    delivery_days: int | None = None
    validity_days: int | None = None
    certificates: tuple[str, ...] = ()
    documents: tuple[Document, ...] = ()  # the sealed files it names (any procedure)
    # A signed bid's signature and the key that checks it (the supplier's registered key), so that
    # anyone can re-check from the record who handed the sealed bid in; None for an unsigned bid.
    signature: bytes | None = None
    signing_key: bytes | None = None


class TenderOpened(_Event, tag="tender_opened"):
    """The opening record, to every participant at once, with the key that opened the bids: anyone
    can decrypt the journal's ciphertexts with it and check the record."""

    private_key: bytes
    officers: tuple[str, ...]  # whose shares combined to the key
    record: tuple[OpenedBid, ...]


# ------------------------------------------------------------------ evaluation and award


class BidQualified(_Event, tag="bid_qualified"):
    supplier: str
    status: Qualification
    reason: str = ""
    user: Audit = UNSET


class ScoreGiven(_Event, tag="score_given"):
    evaluator: str
    supplier: str
    criterion: str
    score: int


class Points(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    criterion: str
    points: int  # hundredths of a point, out of the criterion's weight


class Ranked(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    rank: int
    supplier: str
    price: int
    total: int | None = None  # MEAT: hundredths of a point out of 100
    points: tuple[Points, ...] = ()  # MEAT: per criterion
    abnormally_low: bool = False


class LotDecision(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    lot_id: str
    winner: str | None  # None: no valid bid on the lot
    price: int | None
    ranking: tuple[Ranked, ...]


class AwardDecided(_Event, tag="award_decided"):
    lots: tuple[LotDecision, ...]
    standstill_ends_at: int
    user: Audit = UNSET
    # Who approved it, when its total was above the approval threshold (``engine.approval``): it
    # was proposed first (``AwardProposed``, by ``user``); UNSET: no approval was needed.
    approved_by: Audit = UNSET


class AuctionInvitee(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    supplier: str
    name: str


class FollowOnAuctionStarted(_Event, tag="follow_on_auction_started"):
    """The tender goes on as a reverse auction (``follow_on``): the auction's id and its whole
    configuration (the opening bids among it) and invitees are decided here, so the edge that
    creates it only carries them out, as often as it must, to the same auction."""

    auction_id: str
    config: AuctionConfig
    suppliers: tuple[AuctionInvitee, ...]
    user: Audit = UNSET


class ComplaintFiled(_Event, tag="complaint_filed"):
    supplier: str
    complaint_id: str
    text: str
    user: Audit = UNSET


class ComplaintResolved(_Event, tag="complaint_resolved"):
    supplier: str
    complaint_id: str
    upheld: bool
    resolution: str
    standstill_ends_at: int | None  # the standstill's end once no complaint is open; None: held
    user: Audit = UNSET


class FinalAward(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    lot_id: str
    award_id: str  # f"{tender_id}:{lot_id}": stable across retries and replays
    supplier: str
    price: int


class AwardFinal(_Event, tag="award_final"):
    """The standstill ended with no complaint open: the awards the awards stream carries."""

    awards: tuple[FinalAward, ...]


class TenderCancelled(_Event, tag="tender_cancelled"):
    reason: str
    user: Audit = UNSET


class TermsAccepted(_Event, tag="terms_accepted"):
    """A supplier accepted the tender's terms (``engine.terms``): their version and hash."""

    supplier: str
    hash: str
    version: int
    user: Audit = UNSET


class AwardProposed(_Event, tag="award_proposed"):
    """An award decision whose total is above the approval threshold (``engine.approval``), not
    made yet: another user of the buyer approves it (``AwardDecided`` with these lots, the
    standstill starting then) or declines it. The buyer's alone."""

    lots: tuple[LotDecision, ...]
    total: int  # the winners' prices over the lots: what the threshold is compared with
    proposed_by: Audit = UNSET


class AwardDeclined(_Event, tag="award_declined"):
    """A proposed award decision declined, with the reason: the evaluation goes on."""

    reason: str
    user: Audit = UNSET
# ------------------------------------------------------------------ standing and conflicts


class SupplierRestricted(_Event, tag="supplier_restricted"):
    """The supplier registry restricted an invited supplier (``engine.standing``): its new bids
    are refused, its bid stands for the buyer to qualify, and no award becomes final to it. Written
    again when the reason changes. ``award_withdrawn``: it had won a lot of the award decision,
    which is withdrawn (the evaluation goes on, as after an upheld complaint)."""

    supplier: str
    reason: str  # the registry's code: suspended, blacklisted, certificate_expired...
    detail: str = ""
    award_withdrawn: bool = False


class SupplierReinstated(_Event, tag="supplier_reinstated"):
    """The supplier's restriction ended: it may bid again, and its bid may be qualified."""

    supplier: str
    reason: str = ""
    detail: str = ""


class InterestsDeclared(_Event, tag="interests_declared"):
    """An officer's or evaluator's declaration of interests (``conflicts``): its ``user``."""

    user: str
    conflict: bool
    statement: str


Event = (
    TenderCreated
    | TenderUpdated
    | SupplierInvited
    | TenderPublished
    | DocumentsChanged
    | QuestionAsked
    | QuestionAnswered
    | EnquiriesClosed
    | BidSubmitted
    | BidWithdrawn
    | BidConfirmed
    | SubmissionRefused
    | SubmissionClosed
    | TenderUnsuccessful
    | OpeningStarted
    | ShareAccepted
    | SharesMismatch
    | ShareRefused
    | AccessRefused
    | TenderOpened
    | BidQualified
    | ScoreGiven
    | AwardDecided
    | FollowOnAuctionStarted
    | ComplaintFiled
    | ComplaintResolved
    | AwardFinal
    | TenderCancelled
    | TermsAccepted
    | AwardProposed
    | AwardDeclined
    | SupplierRestricted
    | SupplierReinstated
    | InterestsDeclared
)


class Shown(enum.Enum):
    """Who is shown an event (``views.redact`` says in which form)."""

    PUBLIC = "public"  # everyone; buyer-side people (``user``, officers) only to the buyer
    BUYER = "buyer"  # the buyer's organisation only
    AUTHOR = "author"  # the supplier it is about only: not the buyer, not before the opening
    REDACTED = "redacted"  # per event: ``views.redact``
    NOBODY = "nobody"  # the journal's: its effect shows in the views when it may


# The one table of event types beside the union: how the live room delivers each one and who is
# shown it. Unlike the reverse auction, the buyer is listed events by this table too
# (``Format.sees_every_event``): a buyer must not learn of a submission before the opening.
EVENT_TABLE: dict[type, tuple[Delivery, Shown]] = {
    TenderCreated: (Delivery.LISTED, Shown.REDACTED),  # officers and evaluators: the buyer's
    TenderUpdated: (Delivery.LISTED, Shown.REDACTED),
    SupplierInvited: (Delivery.LISTED, Shown.BUYER),  # who may bid is the buyer's to know
    TenderPublished: (Delivery.URGENT, Shown.PUBLIC),
    DocumentsChanged: (Delivery.URGENT, Shown.PUBLIC),
    QuestionAsked: (Delivery.LISTED, Shown.REDACTED),  # the buyer and the asker
    QuestionAnswered: (Delivery.URGENT, Shown.REDACTED),  # everyone, the asker named to the buyer
    EnquiriesClosed: (Delivery.URGENT, Shown.PUBLIC),
    BidSubmitted: (Delivery.TO_AUTHOR, Shown.AUTHOR),  # never the ciphertext
    BidWithdrawn: (Delivery.TO_AUTHOR, Shown.AUTHOR),
    BidConfirmed: (Delivery.TO_AUTHOR, Shown.AUTHOR),
    SubmissionRefused: (Delivery.LISTED, Shown.REDACTED),  # the author; the buyer if late
    SubmissionClosed: (Delivery.URGENT, Shown.PUBLIC),
    TenderUnsuccessful: (Delivery.URGENT, Shown.PUBLIC),
    OpeningStarted: (Delivery.URGENT, Shown.PUBLIC),
    ShareAccepted: (Delivery.URGENT, Shown.REDACTED),  # never the share; the officer to the buyer
    SharesMismatch: (Delivery.URGENT, Shown.REDACTED),
    ShareRefused: (Delivery.LISTED, Shown.BUYER),
    AccessRefused: (Delivery.FOLDED, Shown.NOBODY),  # the audit log's
    TenderOpened: (Delivery.URGENT, Shown.REDACTED),  # the record and the key to all
    BidQualified: (Delivery.LISTED, Shown.REDACTED),  # the buyer, and the bidder it is about
    ScoreGiven: (Delivery.FOLDED, Shown.NOBODY),  # in the views once every evaluator has scored
    AwardDecided: (Delivery.URGENT, Shown.REDACTED),  # abnormally low flags: the buyer's
    # Its opening bids are prices an RFQ shows the buyer alone; the views name the auction to all.
    FollowOnAuctionStarted: (Delivery.URGENT, Shown.BUYER),
    ComplaintFiled: (Delivery.URGENT, Shown.REDACTED),  # others: that the standstill is held
    ComplaintResolved: (Delivery.URGENT, Shown.REDACTED),
    AwardFinal: (Delivery.URGENT, Shown.PUBLIC),
    TenderCancelled: (Delivery.URGENT, Shown.PUBLIC),
    TermsAccepted: (Delivery.LISTED, Shown.REDACTED),  # the buyer and the supplier who accepted
    AwardProposed: (Delivery.LISTED, Shown.BUYER),  # not a decision until approved
    AwardDeclined: (Delivery.LISTED, Shown.BUYER),
    # At once to the buyer and to the supplier it is about, to nobody else (``views.redact``).
    SupplierRestricted: (Delivery.URGENT, Shown.REDACTED),
    SupplierReinstated: (Delivery.URGENT, Shown.REDACTED),
    InterestsDeclared: (Delivery.LISTED, Shown.BUYER),  # the buyer's people's own affair
}


# Refusals of a submission that ask for the very same bid again (once the terms are accepted:
# ``engine.terms``): they do not use up its bid id. Every other refusal is the bid id's answer.
RESENDABLE_REFUSALS = frozenset({Reason.TERMS_NOT_ACCEPTED, Reason.SUPPLIER_RESTRICTED})


# The events that move the tender from one phase to another (or withdraw its award decision):
# each is covered by a signed tree head of the audit log as soon as it is durable
# (``Format.seals_head``), not only at the interval; the last of a tender is final, and a tender
# that is finished is not loaded again to sign a tail left unsigned.
PHASE_CHANGES = frozenset({
    TenderPublished, EnquiriesClosed, SubmissionClosed, TenderUnsuccessful, OpeningStarted,
    TenderOpened, AwardDecided, ComplaintResolved, AwardFinal, TenderCancelled,
})


def seals_head(event: Event) -> bool:
    return type(event) in PHASE_CHANGES or (
        type(event) is SupplierRestricted and event.award_withdrawn)  # back to the evaluation


def delivery(event: Event) -> Delivery:
    return EVENT_TABLE[type(event)][0]


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_event(data: bytes) -> Event:
    return _decoder.decode(data)
