"""The supplier registry's record: what a supplier declared, the documents it handed in, what the
platform's reviewers decided about it, and what buyers said of its work.

Every value is a frozen Struct of tuples, never a dict or a list: ``evolve`` returns a new record
for each event, so a record handed out (to the store as bytes, to an HTTP answer, to a cache) never
changes under its holder, and the JSON encoding of a record is a function of its events alone
(replay gives the same bytes). Records are small (bounded categories and documents), so copying on
write costs little.

Sizes are msgspec constraints: a body decoded into these types (HTTP, the store) is checked by
msgspec and they appear in the OpenAPI document's schemas; Structs built in code are not checked,
so ``decide`` checks what a rule of the registry depends on itself.
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

from ..values import Id, Name

# Names and numbers a supplier writes (titles of documents, issuers, numbers): shown to reviewers
# and buyers, never interpreted.
LegalName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", description=(
    "ISO 3166-1 alpha-2, upper case"))]
# As typed (spaces, dots, a VAT prefix or not): ``identifiers.validate_identifier`` compacts it.
RawIdentifier = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# No ``\s`` in a pattern: Python's includes \x1c-\x1f, JSON Schema's (ECMA 262) does not, and
# the OpenAPI document must refuse exactly what decoding refuses.
Email = Annotated[str, msgspec.Meta(max_length=254,
                                    pattern=r"^[^@ \t\r\n]+@[^@ \t\r\n]+\.[^@ \t\r\n]+$")]
Phone = Annotated[str, msgspec.Meta(max_length=32, pattern=r"^(\+?[0-9][0-9 ().-]{3,31})?$")]
CpvCode = Annotated[str, msgspec.Meta(pattern=r"^\d{8}-\d$", description=(
    "A CPV 2008 code with its check digit, e.g. `45000000-7`"))]
Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$", description=(
    "SHA-256 of the file's bytes, 64 lowercase hex digits"))]
DocumentTitle = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]  # "ISO 9001"
DocumentNumber = Annotated[str, msgspec.Meta(max_length=100)]
# A file's name as the supplier had it: shown and offered on download, never a path.
Filename = Annotated[str, msgspec.Meta(min_length=1, max_length=255,
                                       pattern=r"^[^/\\\x00-\x1f\x7f]+$")]
Size = Annotated[int, msgspec.Meta(ge=0)]
Mark = Annotated[int, msgspec.Meta(ge=1, le=5)]  # a rating's mark: 1 (poor) to 5 (excellent)

MAX_CONTACTS = 5
MAX_CATEGORIES = 50
MAX_CERTIFICATES = 20  # named in one qualification
MAX_DOCUMENTS = 100
MAX_OPEN_APPEALS = 10
SYSTEM_USER = "system"  # ``by`` of what time did (the sweeper's events)


class Contact(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: LegalName
    email: Email
    phone: Phone = ""


class Registration(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What a supplier declares of itself. On record, the identifier is the compact form
    ``identifiers.validate_identifier`` gives, and ``categories`` is every CPV code it has applied
    for, in the order it applied (the decisions are ``SupplierRecord.categories``, same order)."""

    legal_name: LegalName
    country: Country
    identifier: RawIdentifier
    contacts: Annotated[tuple[Contact, ...], msgspec.Meta(min_length=1, max_length=MAX_CONTACTS)]
    categories: Annotated[tuple[CpvCode, ...], msgspec.Meta(min_length=1, max_length=MAX_CATEGORIES)]


class DocumentKind(enum.StrEnum):
    LICENCE = "licence"  # a permit to trade (business licence, 营业执照)
    CERTIFICATE = "certificate"  # what a qualification may rest on (ISO 9001, CCC)


class Document(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A file the supplier handed in, named by the SHA-256 of its bytes (the file store keeps the
    bytes under that name), and what it says: who issued it, its number, when it is valid."""

    sha256: Sha256
    kind: DocumentKind
    title: DocumentTitle
    issuer: Name = ""
    number: DocumentNumber = ""
    valid_from: int
    expires_at: int | None = None  # ms; None: does not expire
    filename: Filename
    size: Size
    uploaded_at: int
    by: str
    # The sweeper has recorded its expiry (``CertificateExpired``). Bookkeeping of the history
    # only: standing reads ``expires_at`` against the time, never this.
    expiry_recorded: bool = False


class DecisionStatus(enum.StrEnum):
    PENDING = "pending"
    QUALIFIED = "qualified"
    REJECTED = "rejected"


class CategoryDecision(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The state of one category applied for: pending since the application, or the reviewer's
    last decision. ``by`` and ``at`` are the applicant's while pending."""

    category: CpvCode
    status: DecisionStatus
    reason: str = ""
    by: str
    at: int
    certificates: tuple[Sha256, ...] = ()  # the documents a qualification rests on


class RestrictionKind(enum.StrEnum):
    SUSPENDED = "suspended"  # for a time, e.g. while a complaint is examined
    BLACKLISTED = "blacklisted"  # debarred; outranks a suspension


class Restriction(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """In force while ``start_at <= now < end_at`` (no end: indefinite), unless lifted: a lifted
    restriction never counts again (``standing``)."""

    restriction_id: str  # "r1", "r2"...: given by ``decide``, never by a client
    kind: RestrictionKind
    reason: str
    start_at: int
    end_at: int | None = None
    by: str
    at: int
    lifted_at: int | None = None
    lifted_by: str = ""
    lift_reason: str = ""
    # The sweeper has recorded its start (only a restriction imposed to start later) and its end.
    start_recorded: bool = False
    end_recorded: bool = False


class Appeal(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    appeal_id: Id  # the supplier's own id: a resend of it never makes a second appeal
    about: str  # a category code (a rejection) or a restriction id
    text: str
    lodged_at: int
    by: str
    answer: str = ""
    upheld: bool | None = None  # None: not answered yet
    answered_at: int | None = None
    answered_by: str = ""


class Rating(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A buyer's marks for the supplier's work in one of its events, one per event and buyer."""

    event_id: Id
    delivery: Mark
    quality: Mark
    service: Mark
    comment: str = ""
    by: str  # the buyer's person
    buyer: str  # the buyer's organisation
    at: int


class SupplierRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    supplier_id: str  # the supplier token's organisation
    registration: Registration
    documents: tuple[Document, ...] = ()
    categories: tuple[CategoryDecision, ...] = ()
    restrictions: tuple[Restriction, ...] = ()
    appeals: tuple[Appeal, ...] = ()
    ratings: tuple[Rating, ...] = ()
    version: int  # the number of events folded in: the store's compare-and-set counter
    registered_at: int

    def document(self, sha256: str) -> Document | None:
        return next((d for d in self.documents if d.sha256 == sha256), None)

    def decision(self, category: str) -> CategoryDecision | None:
        return next((d for d in self.categories if d.category == category), None)

    def restriction(self, restriction_id: str) -> Restriction | None:
        return next((r for r in self.restrictions if r.restriction_id == restriction_id), None)

    def appeal(self, appeal_id: str) -> Appeal | None:
        return next((a for a in self.appeals if a.appeal_id == appeal_id), None)
