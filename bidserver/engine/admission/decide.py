"""``decide``: check a command against one supplier's record and say which events it causes, or
why it is refused (a ``Rejection``: data, never an exception). Pure: the record is not changed,
and the time is the command's.

An empty list is a command already carried out: the same registration, document, appeal, rating or
decision sent again (a client resending after a lost answer) changes nothing and is not refused; a
different one under the same key is (``already_registered``, ``already_exists``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import msgspec

from .. import permissions
from ..permissions import Action
from ..rejections import Reason, Rejection
from ..values import Actor, Role
from . import categories
from .commands import (
    AddDocument, AnswerAppeal, ApplyForCategories, Command, Lift, LodgeAppeal, Qualify, Rate,
    Register, Reject, Restrict, Sweep, UpdateRegistration,
)
from .events import (
    AppealAnswered, AppealLodged, CategoriesApplied, CategoryQualified, CategoryRejected,
    CertificateExpired, DocumentAdded, Event, Rated, Registered, RegistrationUpdated, Restricted,
    RestrictionEnded, RestrictionLifted, RestrictionStarted,
)
from .identifiers import validate_identifier
from .standing import Change, ChangeKind, changes
from .values import (
    MAX_CATEGORIES, MAX_DOCUMENTS, MAX_OPEN_APPEALS, SYSTEM_USER, CategoryDecision,
    DecisionStatus, Document, DocumentKind, Registration, SupplierRecord,
)

Decision = list[Event] | Rejection
_CPV = re.compile(r"^\d{8}-\d$")


def _no(reason: Reason, detail: str, field: str | None = None) -> Rejection:
    return Rejection(reason=reason, detail=detail, field=field)


# ------------------------------------------------------------------ who may

# The action each command is, in the team-role permission table (``engine/permissions``): the
# one check of who may send it. The sweeper's ``Sweep`` is not an action: the system's alone.
_ACTIONS: dict[type, Action] = {
    Register: Action.REGISTER_SUPPLIER,
    UpdateRegistration: Action.REGISTER_SUPPLIER,
    AddDocument: Action.REGISTER_SUPPLIER,
    ApplyForCategories: Action.REGISTER_SUPPLIER,
    LodgeAppeal: Action.APPEAL,
    Qualify: Action.REVIEW_SUPPLIER,
    Reject: Action.REVIEW_SUPPLIER,
    Restrict: Action.RESTRICT_SUPPLIER,
    Lift: Action.RESTRICT_SUPPLIER,
    AnswerAppeal: Action.ANSWER_APPEAL,
    Rate: Action.RATE_SUPPLIER,
}
# A supplier acts on its own record only.
_OWN = frozenset({UpdateRegistration, AddDocument, ApplyForCategories, LodgeAppeal})


def _may(actor: Actor, what: Action) -> Rejection | None:
    """Whether the actor may do ``what``: the permission table (a team role of the right side);
    the server itself may do anything."""
    return permissions.refusal(actor, what)


# ------------------------------------------------------------------ the supplier's own


def _categories(codes: tuple[str, ...], field: str) -> tuple[str, ...] | Rejection:
    """The codes without repeats, in order, if every one is a CPV code."""
    unknown = [code for code in codes if not categories.is_code(code)]
    if unknown:
        return _no(Reason.UNKNOWN_CATEGORY, f"not CPV 2008 codes: {', '.join(unknown[:5])}", field)
    distinct = tuple(dict.fromkeys(codes))
    if not distinct:
        return _no(Reason.INVALID_REGISTRATION, "at least one category", field)
    if len(distinct) > MAX_CATEGORIES:
        return _no(Reason.LIMIT_REACHED, f"at most {MAX_CATEGORIES} categories", field)
    return distinct


def _registration(registration: Registration) -> Registration | Rejection:
    """The registration as it is recorded (legal name trimmed, identifier compact, categories
    without repeats), or why it is refused."""
    legal_name = registration.legal_name.strip()
    if not legal_name:
        return _no(Reason.INVALID_REGISTRATION, "a legal name is required",
                   "registration.legal_name")
    if not registration.contacts:
        return _no(Reason.INVALID_REGISTRATION, "at least one contact", "registration.contacts")
    identifier = validate_identifier(registration.country, registration.identifier)
    if isinstance(identifier, Rejection):
        return identifier
    codes = _categories(registration.categories, "registration.categories")
    if isinstance(codes, Rejection):
        return codes
    return msgspec.structs.replace(registration, legal_name=legal_name, identifier=identifier,
                                   categories=codes)


def _register(record: SupplierRecord | None, c: Register) -> Decision:
    registration = _registration(c.registration)
    if isinstance(registration, Rejection):
        return registration
    if record is not None:
        if record.registration == registration:
            return []
        return _no(Reason.ALREADY_REGISTERED, f"{record.supplier_id} is registered already: "
                   "update the registration instead")
    return [Registered(at=c.at, by=c.actor.user, supplier_id=c.actor.party,
                       registration=registration)]


def _update(record: SupplierRecord, c: UpdateRegistration) -> Decision:
    registration = _registration(c.registration)
    if isinstance(registration, Rejection):
        return registration
    if registration == record.registration:
        return []
    return [RegistrationUpdated(at=c.at, by=c.actor.user, registration=registration)]


def _add_document(record: SupplierRecord, c: AddDocument) -> Decision:
    document = Document(
        sha256=c.sha256, kind=c.kind, title=c.title, issuer=c.issuer, number=c.number,
        valid_from=c.valid_from, expires_at=c.expires_at, filename=c.filename, size=c.size,
        uploaded_at=c.at, by=c.actor.user,
    )
    known = record.document(c.sha256)
    if known is not None:
        if msgspec.structs.replace(known, uploaded_at=c.at, by=c.actor.user) == document:
            return []
        return _no(Reason.ALREADY_EXISTS, "this file is on record with other details", "sha256")
    if len(record.documents) >= MAX_DOCUMENTS:
        return _no(Reason.LIMIT_REACHED, f"at most {MAX_DOCUMENTS} documents")
    if c.expires_at is not None:
        if c.expires_at <= c.valid_from:
            return _no(Reason.INVALID_PERIOD, "it would expire before it is valid", "expires_at")
        if c.expires_at <= c.at:
            return _no(Reason.CERTIFICATE_EXPIRED, "it has expired already", "expires_at")
    return [DocumentAdded(at=c.at, by=c.actor.user, document=document)]


def _apply(record: SupplierRecord, c: ApplyForCategories) -> Decision:
    codes = _categories(c.categories, "categories")
    if isinstance(codes, Rejection):
        return codes
    decisions = {code: record.decision(code) for code in codes}
    if len(record.categories) + sum(d is None for d in decisions.values()) > MAX_CATEGORIES:
        return _no(Reason.LIMIT_REACHED, f"at most {MAX_CATEGORIES} categories", "categories")
    applied = tuple(code for code, d in decisions.items()
                    if d is None or d.status is DecisionStatus.REJECTED)
    if not applied:
        return []  # pending or qualified already
    return [CategoriesApplied(at=c.at, by=c.actor.user, categories=applied)]


def _lodge(record: SupplierRecord, c: LodgeAppeal) -> Decision:
    known = record.appeal(c.appeal_id)
    if known is not None:
        if (known.about, known.text) == (c.about, c.text):
            return []
        return _no(Reason.ALREADY_EXISTS, "this appeal id was used", "appeal_id")
    if record.decision(c.about) is None and record.restriction(c.about) is None:
        if _CPV.match(c.about):
            return _no(Reason.NOT_APPLIED, f"no application for {c.about} to appeal", "about")
        return _no(Reason.UNKNOWN_RESTRICTION, f"no restriction {c.about}", "about")
    if not c.text.strip():
        return _no(Reason.REASON_REQUIRED, "an appeal says why", "text")
    if sum(a.upheld is None for a in record.appeals) >= MAX_OPEN_APPEALS:
        return _no(Reason.LIMIT_REACHED, f"at most {MAX_OPEN_APPEALS} appeals open at once")
    return [AppealLodged(at=c.at, by=c.actor.user, appeal_id=c.appeal_id, about=c.about,
                         text=c.text)]


# ------------------------------------------------------------------ the platform's reviewers


def _applied(record: SupplierRecord, category: str) -> CategoryDecision | Rejection:
    decision = record.decision(category)
    if decision is not None:
        return decision
    if not categories.is_code(category):
        return _no(Reason.UNKNOWN_CATEGORY, f"{category} is not a CPV 2008 code", "category")
    return _no(Reason.NOT_APPLIED, f"{record.supplier_id} has not applied for {category}",
               "category")


def _qualify(record: SupplierRecord, c: Qualify) -> Decision:
    decision = _applied(record, c.category)
    if isinstance(decision, Rejection):
        return decision
    certificates = tuple(dict.fromkeys(c.certificates))
    for i, sha256 in enumerate(certificates):
        document = record.document(sha256)
        if document is None or document.kind is not DocumentKind.CERTIFICATE:
            return _no(Reason.UNKNOWN_DOCUMENT, f"{sha256} is not a certificate of the record",
                       f"certificates[{i}]")
        if document.expires_at is not None and document.expires_at <= c.at:
            return _no(Reason.CERTIFICATE_EXPIRED, f"{document.title} has expired",
                       f"certificates[{i}]")
    if (decision.status, decision.certificates, decision.reason) == (
            DecisionStatus.QUALIFIED, certificates, c.reason):
        return []
    return [CategoryQualified(at=c.at, by=c.actor.user, category=c.category,
                              certificates=certificates, reason=c.reason)]


def _reject(record: SupplierRecord, c: Reject) -> Decision:
    decision = _applied(record, c.category)
    if isinstance(decision, Rejection):
        return decision
    if not c.reason.strip():
        return _no(Reason.REASON_REQUIRED, "a rejection says why", "reason")
    if (decision.status, decision.reason) == (DecisionStatus.REJECTED, c.reason):
        return []
    return [CategoryRejected(at=c.at, by=c.actor.user, category=c.category, reason=c.reason)]


def _restrict(record: SupplierRecord, c: Restrict) -> Decision:
    if not c.reason.strip():
        return _no(Reason.REASON_REQUIRED, "a restriction says why", "reason")
    start_at = c.at if c.start_at is None else c.start_at
    if start_at < c.at:
        return _no(Reason.INVALID_PERIOD, "a restriction starts now or later", "start_at")
    if c.end_at is not None and c.end_at <= start_at:
        return _no(Reason.INVALID_PERIOD, "a restriction ends after it starts", "end_at")
    return [Restricted(at=c.at, by=c.actor.user, restriction_id=f"r{len(record.restrictions) + 1}",
                       kind=c.kind, reason=c.reason, start_at=start_at, end_at=c.end_at)]


def _lift(record: SupplierRecord, c: Lift) -> Decision:
    restriction = record.restriction(c.restriction_id)
    if restriction is None:
        return _no(Reason.UNKNOWN_RESTRICTION, f"no restriction {c.restriction_id}",
                   "restriction_id")
    if restriction.lifted_at is not None:
        return _no(Reason.ALREADY_LIFTED, f"lifted at {restriction.lifted_at}", "restriction_id")
    if restriction.end_at is not None and restriction.end_at <= c.at:
        return _no(Reason.ALREADY_LIFTED, f"it ended at {restriction.end_at}", "restriction_id")
    if not c.reason.strip():
        return _no(Reason.REASON_REQUIRED, "lifting a restriction says why", "reason")
    return [RestrictionLifted(at=c.at, by=c.actor.user, restriction_id=c.restriction_id,
                              reason=c.reason)]


def _answer(record: SupplierRecord, c: AnswerAppeal) -> Decision:
    appeal = record.appeal(c.appeal_id)
    if appeal is None:
        return _no(Reason.UNKNOWN_APPEAL, f"no appeal {c.appeal_id}", "appeal_id")
    if appeal.upheld is not None:
        return _no(Reason.ALREADY_ANSWERED, f"answered at {appeal.answered_at}", "appeal_id")
    if not c.answer.strip():
        return _no(Reason.REASON_REQUIRED, "an answer says why", "answer")
    return [AppealAnswered(at=c.at, by=c.actor.user, appeal_id=c.appeal_id, upheld=c.upheld,
                           answer=c.answer)]


# ------------------------------------------------------------------ buyers and time


def _rate(record: SupplierRecord, c: Rate) -> Decision:
    for field in ("delivery", "quality", "service"):
        if not 1 <= getattr(c, field) <= 5:
            return _no(Reason.INVALID_RATING, f"{field} is marked 1 to 5", field)
    known = next((r for r in record.ratings
                  if (r.event_id, r.buyer) == (c.event_id, c.actor.party)), None)
    if known is not None:
        if (known.delivery, known.quality, known.service, known.comment) == (
                c.delivery, c.quality, c.service, c.comment):
            return []
        return _no(Reason.ALREADY_EXISTS, f"{c.actor.party} has rated {c.event_id} already",
                   "event_id")
    return [Rated(at=c.at, by=c.actor.user, event_id=c.event_id, buyer=c.actor.party,
                  delivery=c.delivery, quality=c.quality, service=c.service, comment=c.comment)]


def _timed(change: Change) -> Event:
    if change.kind is ChangeKind.EXPIRY:
        return CertificateExpired(at=change.at, by=SYSTEM_USER, sha256=change.subject)
    kind = RestrictionStarted if change.kind is ChangeKind.START else RestrictionEnded
    return kind(at=change.at, by=SYSTEM_USER, restriction_id=change.subject)


def _sweep(record: SupplierRecord, c: Sweep) -> Decision:
    """Every change of standing by time up to ``at`` not recorded yet, at the instant it
    happened, in time order."""
    return [_timed(change) for change in changes(record)
            if not change.recorded and change.at <= c.at]


_HANDLERS: dict[type, Callable[[SupplierRecord, Command], Decision]] = {
    UpdateRegistration: _update,
    AddDocument: _add_document,
    ApplyForCategories: _apply,
    LodgeAppeal: _lodge,
    Qualify: _qualify,
    Reject: _reject,
    Restrict: _restrict,
    Lift: _lift,
    AnswerAppeal: _answer,
    Rate: _rate,
    Sweep: _sweep,
}


def decide(record: SupplierRecord | None, command: Command) -> Decision:
    """Events the command causes on the record (None: the supplier is not registered), or why it
    is refused."""
    if isinstance(command, Sweep):
        if command.actor.role is not Role.SYSTEM:
            return _no(Reason.FORBIDDEN, "the server's sweeper records what time did")
    else:
        refusal = _may(command.actor, _ACTIONS[type(command)])
        if refusal is not None:
            return refusal
    if isinstance(command, Register):
        return _register(record, command)
    if record is None:
        return _no(Reason.NOT_REGISTERED, "the supplier is not in the registry")
    if type(command) in _OWN and command.actor.party != record.supplier_id:
        return _no(Reason.FORBIDDEN, "a supplier acts on its own record only")
    return _HANDLERS[type(command)](record, command)
