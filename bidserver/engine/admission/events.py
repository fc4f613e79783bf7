"""Events: the facts of one supplier's record, in order (the record's version counts them).

"Every change recorded with who and why": each event has its time ``at`` and ``by``, the person
(the token's ``sub``; ``values.SYSTEM_USER`` for what time did), and a decision that changes a
supplier's standing carries its reason. An event holds everything ``evolve`` needs, decided once:
the compact identifier, the restriction's id and period, the document's size and upload time.

What time did (``CertificateExpired``, ``RestrictionStarted``, ``RestrictionEnded``) is recorded by
the sweeper at the instant it happened (their ``at``), possibly after later events: standing never
depends on them, only the history and the search indexes do.
"""

from __future__ import annotations

import msgspec

from .values import Document, Registration, RestrictionKind


class _Event(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type", gc=False
):
    at: int
    by: str


class Registered(_Event, tag="registered"):
    supplier_id: str
    registration: Registration  # identifier compact, categories without repeats


class RegistrationUpdated(_Event, tag="registration_updated"):
    registration: Registration


class DocumentAdded(_Event, tag="document_added"):
    document: Document


class CategoriesApplied(_Event, tag="categories_applied"):
    categories: tuple[str, ...]  # new, or rejected and applied for again: pending from now


class CategoryQualified(_Event, tag="category_qualified"):
    category: str
    certificates: tuple[str, ...]
    reason: str = ""


class CategoryRejected(_Event, tag="category_rejected"):
    category: str
    reason: str


class Restricted(_Event, tag="restricted"):
    restriction_id: str
    kind: RestrictionKind
    reason: str
    start_at: int
    end_at: int | None = None


class RestrictionLifted(_Event, tag="restriction_lifted"):
    restriction_id: str
    reason: str


class AppealLodged(_Event, tag="appeal_lodged"):
    appeal_id: str
    about: str
    text: str


class AppealAnswered(_Event, tag="appeal_answered"):
    appeal_id: str
    upheld: bool
    answer: str


class Rated(_Event, tag="rated"):
    event_id: str
    buyer: str
    delivery: int
    quality: int
    service: int
    comment: str = ""


class CertificateExpired(_Event, tag="certificate_expired"):
    """A certificate's ``expires_at`` passed: every qualification resting on it lapsed then."""

    sha256: str


class RestrictionStarted(_Event, tag="restriction_started"):
    """A restriction imposed to start later came into force."""

    restriction_id: str


class RestrictionEnded(_Event, tag="restriction_ended"):
    restriction_id: str


Event = (
    Registered
    | RegistrationUpdated
    | DocumentAdded
    | CategoriesApplied
    | CategoryQualified
    | CategoryRejected
    | Restricted
    | RestrictionLifted
    | AppealLodged
    | AppealAnswered
    | Rated
    | CertificateExpired
    | RestrictionStarted
    | RestrictionEnded
)

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_event(data: bytes) -> Event:
    return _decoder.decode(data)
