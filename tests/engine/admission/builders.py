"""Builders for the supplier registry's domain tests: actors of each side, a valid registration
(a Chinese company with a real unified social credit code), documents, and a record driven
through ``decide`` and ``evolve`` as the service will drive it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import msgspec
from stdnum.cn import uscc

from bidserver.engine.admission.commands import (
    AddDocument, ApplyForCategories, Command, Lift, Qualify, Register, Reject, Restrict, Sweep,
)
from bidserver.engine.admission.decide import decide
from bidserver.engine.admission.events import Event
from bidserver.engine.admission.evolve import evolve, record_bytes
from bidserver.engine.admission.values import (
    Contact, DocumentKind, Registration, RestrictionKind, SupplierRecord,
)
from bidserver.engine.rejections import Reason, Rejection
from bidserver.engine.values import SYSTEM, Actor, Role

# The reasons only the registry gives; the reverse auction's and the tender's tests reach the rest.
ADMISSION_REASONS = (
    Reason.NOT_REGISTERED, Reason.ALREADY_REGISTERED, Reason.INVALID_REGISTRATION,
    Reason.INVALID_IDENTIFIER, Reason.UNKNOWN_CATEGORY, Reason.NOT_APPLIED,
    Reason.UNKNOWN_DOCUMENT, Reason.CERTIFICATE_EXPIRED, Reason.INVALID_PERIOD,
    Reason.UNKNOWN_RESTRICTION, Reason.ALREADY_LIFTED, Reason.UNKNOWN_APPEAL,
    Reason.INVALID_RATING, Reason.LIMIT_REACHED,
)
# The registry's service's (runtime/admission.py), reached by tests/runtime/test_admission.py.
SERVICE_REASONS = (Reason.IDENTIFIER_TAKEN, Reason.CONTENDED, Reason.SUPPLIER_NOT_ELIGIBLE)

T0 = 1_800_000_000_000
HOUR = 3_600_000
DAY = 24 * HOUR
YEAR = 365 * DAY

SUPPLIER_ID = "sup-1"
SUPPLIER = Actor(Role.SUPPLIER, SUPPLIER_ID, "li.wei")
OTHER_SUPPLIER = Actor(Role.SUPPLIER, "sup-2", "anna")
REVIEWER = Actor(Role.PLATFORM, "platform", "rita")
BUYER = Actor(Role.BUYER, "org-buyer", "bob")
OBSERVER = Actor(Role.OBSERVER, "org-buyer", "olga")

# A unified social credit code made with stdnum's own check character: 91 (enterprise) 110000
# (Beijing) and an organisation code.
USCC = "91110000802100433" + uscc.calc_check_digit("91110000802100433")
STEEL = "14622000-7"  # Steel
CONSTRUCTION = "45000000-7"  # Construction work
PIPES = "44163000-0"  # Pipes and fittings


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


ISO_9001 = sha("iso-9001.pdf")
ISO_9001_RENEWED = sha("iso-9001-2028.pdf")
LICENCE = sha("licence.pdf")


def registration(**changes) -> Registration:
    fields = dict(
        legal_name="Beijing Steel Works Co., Ltd.", country="CN", identifier=USCC,
        contacts=(Contact(name="Li Wei", email="li.wei@example.cn", phone="+86 10 1234 5678"),),
        categories=(STEEL, CONSTRUCTION),
    )
    return Registration(**(fields | changes))


def register(at: int = T0, actor: Actor = SUPPLIER, **changes) -> Register:
    return Register(actor=actor, at=at, registration=registration(**changes))


def document(sha256: str, at: int, *, expires_at: int | None = None,
             kind: DocumentKind = DocumentKind.CERTIFICATE, title: str = "ISO 9001",
             actor: Actor = SUPPLIER, valid_from: int | None = None) -> AddDocument:
    return AddDocument(
        actor=actor, at=at, sha256=sha256, kind=kind, title=title, issuer="CQC",
        number="00123Q45678R0M", valid_from=at - DAY if valid_from is None else valid_from,
        expires_at=expires_at, filename=f"{title}.pdf", size=123_456)


def apply(at: int, *codes: str, actor: Actor = SUPPLIER) -> ApplyForCategories:
    return ApplyForCategories(actor=actor, at=at, categories=codes)


def qualify(at: int, category: str, *certificates: str, actor: Actor = REVIEWER,
            reason: str = "") -> Qualify:
    return Qualify(actor=actor, at=at, category=category, certificates=certificates,
                   reason=reason)


def reject(at: int, category: str, reason: str = "no certificate of conformity",
           actor: Actor = REVIEWER) -> Reject:
    return Reject(actor=actor, at=at, category=category, reason=reason)


def restrict(at: int, kind: RestrictionKind = RestrictionKind.SUSPENDED, *,
             start_at: int | None = None, end_at: int | None = None,
             reason: str = "under investigation", actor: Actor = REVIEWER) -> Restrict:
    return Restrict(actor=actor, at=at, kind=kind, reason=reason, start_at=start_at,
                    end_at=end_at)


def lift(at: int, restriction_id: str = "r1", reason: str = "cleared",
         actor: Actor = REVIEWER) -> Lift:
    return Lift(actor=actor, at=at, restriction_id=restriction_id, reason=reason)


def sweep(at: int) -> Sweep:
    return Sweep(actor=SYSTEM, at=at)


@dataclass
class Run:
    """A record and its event log, driven the way the service drives it: decide, then evolve
    each event; a refusal changes nothing."""

    record: SupplierRecord | None = None
    log: list[Event] = field(default_factory=list)

    def do(self, command: Command) -> list[Event]:
        decided = decide(self.record, command)
        assert isinstance(decided, list), decided
        for event in decided:
            self.record = evolve(self.record, event)
        self.log.extend(decided)
        return decided

    def refused(self, command: Command) -> Rejection:
        before = None if self.record is None else record_bytes(self.record)
        decided = decide(self.record, command)
        assert isinstance(decided, Rejection), decided
        assert before == (None if self.record is None else record_bytes(self.record))
        assert decided.detail
        return decided


def registered(at: int = T0) -> Run:
    """A registered supplier (steel, construction) with an ISO 9001 certificate valid a year and
    a business licence."""
    run = Run()
    run.do(register(at))
    run.do(document(ISO_9001, at + 1, expires_at=at + YEAR))
    run.do(document(LICENCE, at + 2, kind=DocumentKind.LICENCE, title="Business licence"))
    return run


def encoded(record: SupplierRecord) -> bytes:
    return msgspec.json.encode(record)
