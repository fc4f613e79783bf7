"""``evolve``: the record after one event. No rule is checked again: an event is a fact ``decide``
validated, so replaying a record's events is a plain fold (``replay``), and it gives the same
record, byte for byte, as the one built event by event when they happened.

The record is frozen (``values``): each event gives a new one and the one passed in is left as it
was, so a record once handed out (to the store, to an answer, to a cache) never changes under its
holder, and a refused or failed write leaves nothing half applied. Records are small, so copying
their tuples on a change is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec
from msgspec.structs import replace

from . import events as ev
from .values import (
    Appeal, CategoryDecision, DecisionStatus, Rating, Restriction, SupplierRecord,
)


def _pending(category: str, e: ev.Event) -> CategoryDecision:
    return CategoryDecision(category=category, status=DecisionStatus.PENDING, by=e.by, at=e.at)


def _with_decisions(record: SupplierRecord, decisions: tuple[CategoryDecision, ...]) -> SupplierRecord:
    """The decisions and the registration's categories are the same codes in the same order."""
    registration = replace(record.registration, categories=tuple(d.category for d in decisions))
    return replace(record, registration=registration, categories=decisions)


def _registered(e: ev.Registered) -> SupplierRecord:
    return SupplierRecord(
        supplier_id=e.supplier_id, registration=e.registration,
        categories=tuple(_pending(code, e) for code in e.registration.categories),
        version=1, registered_at=e.at,
    )


def _updated(record: SupplierRecord, e: ev.RegistrationUpdated) -> SupplierRecord:
    """Categories kept keep their decisions; new ones are pending; those left out are gone."""
    decisions = tuple(record.decision(code) or _pending(code, e) for code in e.registration.categories)
    return replace(record, registration=e.registration, categories=decisions)


def _applied(record: SupplierRecord, e: ev.CategoriesApplied) -> SupplierRecord:
    again = set(e.categories)
    kept = tuple(_pending(d.category, e) if d.category in again else d for d in record.categories)
    known = {d.category for d in record.categories}
    return _with_decisions(record, kept + tuple(_pending(code, e) for code in e.categories
                                                if code not in known))


def _decided(record: SupplierRecord, decision: CategoryDecision) -> SupplierRecord:
    return _with_decisions(record, tuple(decision if d.category == decision.category else d
                                         for d in record.categories))


def _qualified(record: SupplierRecord, e: ev.CategoryQualified) -> SupplierRecord:
    return _decided(record, CategoryDecision(
        category=e.category, status=DecisionStatus.QUALIFIED, reason=e.reason, by=e.by, at=e.at,
        certificates=e.certificates))


def _rejected(record: SupplierRecord, e: ev.CategoryRejected) -> SupplierRecord:
    return _decided(record, CategoryDecision(
        category=e.category, status=DecisionStatus.REJECTED, reason=e.reason, by=e.by, at=e.at))


def _document(record: SupplierRecord, e: ev.DocumentAdded) -> SupplierRecord:
    return replace(record, documents=(*record.documents, e.document))


def _expired(record: SupplierRecord, e: ev.CertificateExpired) -> SupplierRecord:
    return replace(record, documents=tuple(
        replace(d, expiry_recorded=True) if d.sha256 == e.sha256 else d for d in record.documents))


def _restricted(record: SupplierRecord, e: ev.Restricted) -> SupplierRecord:
    """A restriction in force at once has no start for the sweeper to record."""
    restriction = Restriction(
        restriction_id=e.restriction_id, kind=e.kind, reason=e.reason, start_at=e.start_at,
        end_at=e.end_at, by=e.by, at=e.at, start_recorded=e.start_at <= e.at)
    return replace(record, restrictions=(*record.restrictions, restriction))


def _restriction(record: SupplierRecord, restriction_id: str, **changes) -> SupplierRecord:
    return replace(record, restrictions=tuple(
        replace(r, **changes) if r.restriction_id == restriction_id else r
        for r in record.restrictions))


def _lifted(record: SupplierRecord, e: ev.RestrictionLifted) -> SupplierRecord:
    return _restriction(record, e.restriction_id, lifted_at=e.at, lifted_by=e.by,
                        lift_reason=e.reason)


def _started(record: SupplierRecord, e: ev.RestrictionStarted) -> SupplierRecord:
    return _restriction(record, e.restriction_id, start_recorded=True)


def _ended(record: SupplierRecord, e: ev.RestrictionEnded) -> SupplierRecord:
    return _restriction(record, e.restriction_id, end_recorded=True)


def _lodged(record: SupplierRecord, e: ev.AppealLodged) -> SupplierRecord:
    appeal = Appeal(appeal_id=e.appeal_id, about=e.about, text=e.text, lodged_at=e.at, by=e.by)
    return replace(record, appeals=(*record.appeals, appeal))


def _answered(record: SupplierRecord, e: ev.AppealAnswered) -> SupplierRecord:
    return replace(record, appeals=tuple(
        replace(a, answer=e.answer, upheld=e.upheld, answered_at=e.at, answered_by=e.by)
        if a.appeal_id == e.appeal_id else a for a in record.appeals))


def _rated(record: SupplierRecord, e: ev.Rated) -> SupplierRecord:
    rating = Rating(event_id=e.event_id, delivery=e.delivery, quality=e.quality,
                    service=e.service, comment=e.comment, by=e.by, buyer=e.buyer, at=e.at)
    return replace(record, ratings=(*record.ratings, rating))


_APPLY: dict[type, Callable[[SupplierRecord, ev.Event], SupplierRecord]] = {
    ev.RegistrationUpdated: _updated,
    ev.DocumentAdded: _document,
    ev.CategoriesApplied: _applied,
    ev.CategoryQualified: _qualified,
    ev.CategoryRejected: _rejected,
    ev.Restricted: _restricted,
    ev.RestrictionLifted: _lifted,
    ev.AppealLodged: _lodged,
    ev.AppealAnswered: _answered,
    ev.Rated: _rated,
    ev.CertificateExpired: _expired,
    ev.RestrictionStarted: _started,
    ev.RestrictionEnded: _ended,
}


def evolve(record: SupplierRecord | None, event: ev.Event) -> SupplierRecord:
    """The record after ``event``; its version counts the events folded in. An event that cannot
    follow (a second registration, anything before the first) is a bug, not a refusal."""
    if isinstance(event, ev.Registered):
        if record is not None:
            raise AssertionError(f"{record.supplier_id} is registered already")
        return _registered(event)
    if record is None:
        raise AssertionError(f"{type(event).__name__} before the registration")
    return replace(_APPLY[type(event)](record, event), version=record.version + 1)


def replay(events: Iterable[ev.Event]) -> SupplierRecord | None:
    record = None
    for event in events:
        record = evolve(record, event)
    return record


_record_encoder = msgspec.json.Encoder()
_record_decoder = msgspec.json.Decoder(SupplierRecord)


def record_bytes(record: SupplierRecord) -> bytes:
    """The record's canonical JSON (the store keeps it; replay checks compare it)."""
    return _record_encoder.encode(record)


def restore(data: bytes) -> SupplierRecord:
    return _record_decoder.decode(data)
