"""The sealed tender's configuration: what a buyer publishes, and the profile it is checked by.

Money is ``int`` minor units, times ``int`` ms since the epoch and weights ``int`` percentages, so
every rule computes in integers (or exact fractions, for the award formula) and replay is exact.
Bounds on single fields are enforced while decoding (msgspec); the rules across fields and the
profiles' rules are ``rules.config_fault`` and ``rules.profile_fault``.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

import msgspec

from ..reverse.values import BidRule, Decrement, SoftClose, TieRule, Visibility
from ..approval import ApprovalThreshold
from ..terms import TermsText
from ..values import Currency, Id, Name, Title, Unit
from ..values import Category, Currency, Id, Name, Title, Unit

# The first sealing suite's name (``bidserver.sealing``): HPKE (RFC 9180) X25519, HKDF-SHA256,
# AES-256-GCM, with Ed25519 signatures. A tender names its suite, so a national one is a new suite
# in the sealing package, never a change here.
FIRST_SUITE = "hpke-x25519-sha256-aes256gcm+ed25519"
PRICE = "price"  # the award criterion scored from the opened prices (MEAT)
DAY_MS = 86_400_000
MAX_CERTIFICATES = 20

# A certificate's name or id as a supplier claims it or the buyer asks for it ("ISO 9001",
# "CCC"); compared with ``certificate_key``.
Certificate = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


def certificate_key(name: str) -> str:
    """How certificates are matched: inner whitespace collapsed, case folded ("iso  9001" is
    "ISO 9001"); nothing looser, so "ISO 9001:2015" is not "ISO 9001" (versions differ)."""
    return " ".join(name.split()).casefold()

Positive = Annotated[int, msgspec.Meta(gt=0)]
NotNegative = Annotated[int, msgspec.Meta(ge=0)]
# A person of the buyer's organisation, as the tokens name them (``sub``): an opening officer or an
# evaluator. Not an ``Id``: identity providers' subjects are opaque strings (an email, a UUID).
UserId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# What JSON Schema says of base64 (RFC 4648, padded), so that a client generated from the OpenAPI
# document sends what msgspec decodes as bytes (``contentEncoding`` alone constrains nothing).
BASE64 = {"pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"}
Digest = Annotated[str, msgspec.Meta(pattern=r"^sha256:[0-9a-f]{64}$", description=(
    "A SHA-256 digest as `sha256:<64 lowercase hex digits>`"))]


class Profile(enum.StrEnum):
    """Whose law the tender is checked against when it is published (``rules.PROFILE_RULES``)."""

    EU = "eu"  # Directive 2014/24/EU, open procedure, electronic submission
    CHINA = "china"  # 招标投标法 and its Implementing Regulations
    NONE = "none"  # the engine's own rules only


class Procedure(enum.StrEnum):
    """One sealed-tender format, two procedures: the same sealing, opening, qualification, award
    and standstill, so an RFQ's quotes are as unreadable before the deadline as a tender's bids.

    A request for quotations (询价) is the lighter flow a buyer runs for a small purchase among
    suppliers it invites: no enquiry period is needed, the buyer's own team may hold the key alone
    (k = 1), the standstill may be short or none, the profile rules are the RFQ's
    (``rules.RFQ_PROFILE_RULES``), and the quotes (price per line item, delivery time, validity
    and certificates) are the buyer's to compare (``comparison``): unlike a tender's public
    opening, no supplier is shown another's quote. A procedure rather than a second format, so
    that every rule of the sealed tender holds for both and is tested once.
    """

    OPEN = "open"  # the sealed tender: public opening, enquiries, the profile's time limits
    RFQ = "rfq"  # request for quotations (询价): the buyer's side-by-side comparison (比价)


class AwardKind(enum.StrEnum):
    LOWEST_PRICE = "lowest_price"
    MEAT = "meat"  # most economically advantageous tender: price and quality, weighted


class Criterion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64, description=(
        "`price` is scored from the prices; any other name is a quality criterion the evaluators "
        "score from 0 to 100"))]
    weight: Annotated[int, msgspec.Meta(ge=1, le=100, description="Points out of 100")]


class AwardCriteria(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The published award formula (``evaluation``): lowest price, or MEAT with weighted criteria
    (the weights sum to 100, ``price`` among them, at least one quality criterion)."""

    kind: AwardKind = AwardKind.LOWEST_PRICE
    criteria: tuple[Criterion, ...] = ()


class TenderLot(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    lot_id: Annotated[Id, msgspec.Meta(description="The lot's id, unique in the tender")]
    title: Name
    quantity: Annotated[Decimal, msgspec.Meta(
        description="How much is bought, in `unit`s: a positive finite decimal, as a string",
        extra_json_schema={"type": ["string", "number"]},
    )] = Decimal(1)
    unit: Unit = "lot"
    estimated_value: Annotated[Positive | None, msgspec.Meta(
        description="The estimated price in minor units (published; the China profile caps the "
        "bid security at 2% of the estimated total)"
    )] = None


class Schedule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The tender's dates (ms since the epoch, UTC); publication is when ``Publish`` is decided."""

    enquiry_end_at: Annotated[NotNegative, msgspec.Meta(
        description="Questions are taken until then (exclusive); before the deadline. An RFQ "
        "needs no enquiry period: 0 (or any time before publication) takes no questions")] = 0
    submission_deadline_at: Annotated[NotNegative, msgspec.Meta(
        description="Sealed bids are taken until then (exclusive): a bid at the deadline is late")]
    opening_at: Annotated[NotNegative, msgspec.Meta(
        description="The officers present their key shares from then on: the deadline or later")]


class TenderConfig(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    kw_only=True,
    tag_field="format",
    tag="sealed_tender",
):
    """A sealed tender's configuration: one member of the formats' configurations
    (``engine.formats``)."""

    title: Title
    currency: Annotated[Currency, msgspec.Meta(pattern="^[A-Z]{3}$")]
    lots: Annotated[tuple[TenderLot, ...], msgspec.Meta(min_length=1)]
    documents_hash: Annotated[Digest, msgspec.Meta(
        description="The tender documents' digest: what every bid is made against")]
    public_key: Annotated[bytes, msgspec.Meta(
        description="The tender's public key for sealing bids (base64; X25519: 32 bytes). Its "
        "private key exists only as the officers' shares", extra_json_schema=BASE64)]
    officers: Annotated[tuple[UserId, ...], msgspec.Meta(
        min_length=1, description="The opening officers (users of the buyer's organisation); "
        "n is their number")]
    k: Annotated[Positive, msgspec.Meta(description="How many officers' shares open the bids")]
    schedule: Schedule
    profile: Profile = Profile.NONE
    suite: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = FIRST_SUITE
    award: AwardCriteria = AwardCriteria()
    standstill_ms: Annotated[NotNegative, msgspec.Meta(
        description="After the award decision, how long bidders may complain before it is final "
        "(ms)")] = 10 * DAY_MS
    evaluators: Annotated[tuple[UserId, ...], msgspec.Meta(
        description="The evaluation committee (users of the buyer's organisation)")] = ()
    min_bidders: Annotated[Positive, msgspec.Meta(
        description="Fewer bids at the deadline make the tender unsuccessful")] = 1
    bid_security: Annotated[Positive | None, msgspec.Meta(
        description="A required bid security (投标保证金) in minor units; a bid must name its "
        "guarantee's reference")] = None
    # EU Art. 69 leaves the threshold to the buyer: a bid below this percentage of the average of
    # the other valid bids on its lot is flagged to the buyer as abnormally low.
    abnormally_low_pct: Annotated[int, msgspec.Meta(ge=1, le=100, description=(
        "A price below this percentage of the average of the other valid prices on its lot is "
        "flagged to the buyer as abnormally low"))] = 80
    minor_units: Annotated[int, msgspec.Meta(ge=0, le=4)] = 2
    buyer_name: Name | msgspec.UnsetType = msgspec.UNSET
    procedure: Annotated[Procedure, msgspec.Meta(description=(
        "`open`: the sealed tender; `rfq`: a request for quotations, whose quotes carry delivery "
        "time, validity and certificates and are compared for the buyer alone"))] = Procedure.OPEN
    signed_bids_required: Annotated[bool, msgspec.Meta(description=(
        "Every bid must be signed by its supplier with the signing key registered for it in "
        "its invitation: an unsigned bid is refused (`signature_required`), and a supplier "
        "invited without a key cannot bid"))] = False
    requested_certificates: Annotated[tuple[Certificate, ...], msgspec.Meta(
        max_length=MAX_CERTIFICATES, description=(
            "RFQ: the certificates the buyer asks for (e.g. `ISO 9001`); the comparison "
            "highlights the quotes that claim most of them"))] = ()
    # Terms a supplier accepts before it bids (``engine.terms``), and the total above which an
    # award decision needs another user's approval (``engine.approval``). UNSET, like
    # ``buyer_name``, so that configurations without them keep their bytes.
    terms: TermsText | msgspec.UnsetType = msgspec.UNSET
    approval_threshold: ApprovalThreshold | msgspec.UnsetType = msgspec.UNSET
    # What the tender buys (a CPV code): public, and in the OCDS releases' items. UNSET, like
    # ``buyer_name``, so that configurations without one keep their bytes.
    category: Category | msgspec.UnsetType = msgspec.UNSET

    @property
    def n(self) -> int:
        """How many officers hold a share."""
        return len(self.officers)

    @property
    def rfq(self) -> bool:
        return self.procedure is Procedure.RFQ

    @property
    def quality_criteria(self) -> tuple[Criterion, ...]:
        """The criteria the evaluators score (all but price); none for lowest price."""
        if self.award.kind is AwardKind.LOWEST_PRICE:
            return ()
        return tuple(c for c in self.award.criteria if c.name != PRICE)


class FollowOnRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The live rules of a follow-on auction (EU 2014/24/EU Art. 35), announced with the
    invitations and fixed once it runs: the reverse auction's own settings (``AuctionConfig``),
    the rest of its configuration being the tender's (lots, currency) and the qualified bids'
    (ceilings, opening bids: ``follow_on.auction_config``)."""

    duration_ms: Annotated[Positive, msgspec.Meta(
        description="Bidding time of the auction's lots, milliseconds")]
    decrement: Decrement
    bid_rule: BidRule = BidRule.IMPROVE_OWN
    tie_rule: TieRule = TieRule.REJECT
    visibility: Visibility = Visibility.RANK_ONLY
    soft_close: SoftClose | None = None
    start_at: Annotated[NotNegative | None, msgspec.Meta(
        description="When the auction opens (ms since the epoch); null: at once. EU Art. 35(4) "
        "asks for two working days after the invitations: the buyer's to schedule")] = None
