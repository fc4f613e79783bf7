"""A supplier's standing: whether it may take part in an event of a category at a time, and why
not. The one home of eligibility: invitations, submissions, the pickers, the search indexes and
the sweeper all ask here.

Standing is a function of the record and the time passed in, so it changes by time alone, at once,
with no one to record it first: a qualification lapses the instant a certificate it rests on
expires, a restriction counts from its start to its end. The sweeper's events
(``CertificateExpired``...) only record it afterwards. ``now`` is meant to be the present: a
record's decisions are read as they are now (a lifted restriction never counts, even at a time
before it was lifted), so asking about the past is replaying the events up to then.

Beside eligibility, what the shell shows and indexes of a record at a time: the status, the
search fields the store keeps, the documents close to expiry, the buyers' ratings summed up.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

import msgspec

from .values import (
    CategoryDecision, DecisionStatus, Document, DocumentKind, Restriction, RestrictionKind,
    SupplierRecord,
)


class StandingReason(enum.StrEnum):
    NOT_REGISTERED = "not_registered"
    PENDING_REVIEW = "pending_review"  # applied for, not decided yet
    NOT_QUALIFIED = "not_qualified"  # never applied for (or withdrawn)
    REJECTED = "rejected"
    CERTIFICATE_EXPIRED = "certificate_expired"  # qualified on a certificate that has expired
    SUSPENDED = "suspended"
    BLACKLISTED = "blacklisted"


class Standing(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    eligible: bool
    reason: StandingReason | None = None  # None exactly when eligible
    # The first instant the eligibility or its reason changes by time alone (a certificate's
    # expiry, a restriction's start or end); None: only a decision changes them.
    until: int | None = None
    detail: str = ""  # the restriction's or the rejection's reason, the expired certificates


class Status(enum.StrEnum):
    """A supplier's status at a glance (and the status of each of its categories): the search
    indexes' tags and the registry's lists."""

    PENDING = "pending"
    QUALIFIED = "qualified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"  # restricted, or (a category) qualified on an expired certificate
    BLACKLISTED = "blacklisted"


class ChangeKind(enum.StrEnum):
    EXPIRY = "expiry"  # a certificate expires
    START = "start"  # a restriction comes into force
    END = "end"  # a restriction ends


class Change(NamedTuple):
    """An instant at which time alone changes a record's standing, and whether the sweeper has
    recorded it yet."""

    at: int
    kind: ChangeKind
    subject: str  # the certificate's sha256 or the restriction's id
    recorded: bool


def changes(record: SupplierRecord) -> tuple[Change, ...]:
    """Every change of standing by time the record holds, in time order: certificates' expiries
    and the starts and ends of restrictions not lifted. A licence's expiry changes no standing
    (nothing rests on a licence) and is not one."""
    out = [Change(d.expires_at, ChangeKind.EXPIRY, d.sha256, d.expiry_recorded)
           for d in record.documents
           if d.kind is DocumentKind.CERTIFICATE and d.expires_at is not None]
    for r in record.restrictions:
        if r.lifted_at is None:
            out.append(Change(r.start_at, ChangeKind.START, r.restriction_id, r.start_recorded))
            if r.end_at is not None:
                out.append(Change(r.end_at, ChangeKind.END, r.restriction_id, r.end_recorded))
    return tuple(sorted(out))


def next_change_at(record: SupplierRecord | None, after: int) -> int | None:
    """The first instant after ``after`` at which the record's standing may change by time alone
    (in any category): before it, ``standing`` answers the same whatever the time."""
    if record is None:
        return None
    return min((c.at for c in changes(record) if c.at > after), default=None)


def due_at(record: SupplierRecord | None) -> int | None:
    """When the sweeper next has something to record (possibly already past: a change not yet
    recorded); None: nothing until a decision adds something."""
    if record is None:
        return None
    return min((c.at for c in changes(record) if not c.recorded), default=None)


def in_force(record: SupplierRecord, now: int) -> Restriction | None:
    """The restriction that counts at ``now``: a blacklisting before a suspension, then the first
    imposed."""
    active = [r for r in record.restrictions
              if r.lifted_at is None and r.start_at <= now and (r.end_at is None or now < r.end_at)]
    return min(active, key=lambda r: r.kind is not RestrictionKind.BLACKLISTED, default=None)


def lapsed(record: SupplierRecord, decision: CategoryDecision, now: int) -> tuple[str, ...]:
    """The certificates a qualification rests on that have expired at ``now``."""
    out = []
    for sha256 in decision.certificates:
        document = record.document(sha256)
        if document is None:
            raise AssertionError(f"{record.supplier_id}: qualified on unknown document {sha256}")
        if document.expires_at is not None and document.expires_at <= now:
            out.append(sha256)
    return tuple(out)


def _at(record: SupplierRecord, category: str | None, now: int) -> Standing:
    """Standing at ``now`` without ``until``."""
    restriction = in_force(record, now)
    if restriction is not None:
        reason = (StandingReason.BLACKLISTED if restriction.kind is RestrictionKind.BLACKLISTED
                  else StandingReason.SUSPENDED)
        return Standing(eligible=False, reason=reason, detail=restriction.reason)
    if category is None:
        return Standing(eligible=True)
    decision = record.decision(category)
    if decision is None:
        return Standing(eligible=False, reason=StandingReason.NOT_QUALIFIED,
                        detail=f"not applied for {category}")
    if decision.status is DecisionStatus.PENDING:
        return Standing(eligible=False, reason=StandingReason.PENDING_REVIEW)
    if decision.status is DecisionStatus.REJECTED:
        return Standing(eligible=False, reason=StandingReason.REJECTED, detail=decision.reason)
    expired = lapsed(record, decision, now)
    if expired:
        titles = ", ".join(record.document(sha256).title for sha256 in expired)
        return Standing(eligible=False, reason=StandingReason.CERTIFICATE_EXPIRED,
                        detail=f"expired: {titles}")
    return Standing(eligible=True)


def _reason(found: Standing) -> tuple[bool, StandingReason | None]:
    return found.eligible, found.reason


def standing(record: SupplierRecord | None, category: str | None, now: int) -> Standing:
    """Whether the supplier is eligible at ``now`` for an event of ``category`` (None: any
    event, no category named: registered and not restricted), and until when that holds."""
    if record is None:
        return Standing(eligible=False, reason=StandingReason.NOT_REGISTERED,
                        detail="not in the registry")
    found = _at(record, category, now)
    until = next((c.at for c in changes(record) if c.at > now and _reason(
        _at(record, category, c.at)) != _reason(found)), None)
    return msgspec.structs.replace(found, until=until)


def category_status(record: SupplierRecord, decision: CategoryDecision, now: int) -> Status:
    """A category's status in the indexes: its decision's, or suspended where a qualification
    lapsed with a certificate (restrictions show in the supplier's status, not here)."""
    if decision.status is DecisionStatus.QUALIFIED and lapsed(record, decision, now):
        return Status.SUSPENDED
    return Status(decision.status.value)


# The supplier's status when no restriction is in force: the best of its categories'.
_BEST_FIRST = (Status.QUALIFIED, Status.PENDING, Status.SUSPENDED, Status.REJECTED)


def overall_status(record: SupplierRecord, now: int) -> Status:
    """Blacklisted or suspended while a restriction is in force; otherwise qualified if it is in
    one category at least, pending if a category awaits review, suspended if its only
    qualifications lapsed with their certificates, rejected if every category was."""
    restriction = in_force(record, now)
    if restriction is not None:
        return Status(restriction.kind.value)
    statuses = {category_status(record, d, now) for d in record.categories}
    return next((s for s in _BEST_FIRST if s in statuses), Status.PENDING)


# ------------------------------------------------------------------ what the shell shows and indexes


REVIEW_QUEUE = "review:pending"


class Indexed(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The fields the store indexes a supplier by (it knows nothing else of the record):
    ``name`` is the legal name case folded (searched by prefix, sorted by), ``code`` the compact
    identifier (unique), and ``tags`` ``status:<overall>`` and ``cat:<code>:<status>`` for every
    category applied for, so that "eligible in 45000000-7" is the two tags
    ``cat:45000000-7:qualified`` and ``status:qualified`` together; ``review:pending`` while a
    category awaits a reviewer's decision (the reviewers' queue)."""

    name: str
    code: str
    tags: frozenset[str]


def indexed(record: SupplierRecord, now: int) -> Indexed:
    """The index fields at ``now``; they change with time (``next_change_at``), which is
    why the sweeper records every such change: each write re-indexes."""
    tags = {f"status:{overall_status(record, now)}"}
    tags |= {f"cat:{d.category}:{category_status(record, d, now)}" for d in record.categories}
    if any(d.status is DecisionStatus.PENDING for d in record.categories):
        tags.add(REVIEW_QUEUE)
    return Indexed(name=record.registration.legal_name.casefold(),
                   code=record.registration.identifier, tags=frozenset(tags))


def expiring(record: SupplierRecord, now: int, within_ms: int) -> tuple[Document, ...]:
    """Documents (certificates and licences) still valid at ``now`` that expire within
    ``within_ms``, soonest first: what the supplier and its reviewers are warned of."""
    return tuple(sorted(
        (d for d in record.documents
         if d.expires_at is not None and now < d.expires_at <= now + within_ms),
        key=lambda d: (d.expires_at, d.sha256)))


class RatingSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Average marks in hundredths (425 is 4.25 out of 5), exact integers like money, rounded
    half up; None with no rating."""

    count: int
    delivery: int | None = None
    quality: int | None = None
    service: int | None = None
    overall: int | None = None  # of the three together


def _average(total: int, count: int) -> int:
    return (200 * total + count) // (2 * count)


def rating_summary(record: SupplierRecord) -> RatingSummary:
    count = len(record.ratings)
    if not count:
        return RatingSummary(count=0)
    delivery = sum(r.delivery for r in record.ratings)
    quality = sum(r.quality for r in record.ratings)
    service = sum(r.service for r in record.ratings)
    return RatingSummary(
        count=count, delivery=_average(delivery, count), quality=_average(quality, count),
        service=_average(service, count), overall=_average(delivery + quality + service, 3 * count))

