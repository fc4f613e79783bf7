"""The registry's decisions: the issue's workflow end to end at the domain's level, every refusal
(data, with a reason and a human-readable detail), resends that change nothing, and who may do
what."""

from __future__ import annotations

import msgspec
import pytest

from bidserver.engine.admission import categories
from bidserver.engine.admission import events as ev
from bidserver.engine.admission.commands import (
    AnswerAppeal, LodgeAppeal, Rate, UpdateRegistration,
)
from bidserver.engine.admission.decide import decide
from bidserver.engine.admission.evolve import record_bytes, replay
from bidserver.engine.admission.standing import StandingReason, indexed, standing
from bidserver.engine.admission.values import (
    MAX_CATEGORIES, MAX_DOCUMENTS, MAX_OPEN_APPEALS, SYSTEM_USER, DecisionStatus, DocumentKind,
    RestrictionKind,
)
from bidserver.engine.rejections import Reason
from bidserver.engine.values import SYSTEM, Actor, Role

from .builders import (
    ADMISSION_REASONS, BUYER, CONSTRUCTION, DAY, HOUR, ISO_9001, ISO_9001_RENEWED, LICENCE,
    OBSERVER, OTHER_SUPPLIER, PIPES, REVIEWER, STEEL, SUPPLIER, SUPPLIER_ID, T0, USCC, YEAR, Run,
    apply, document, lift, qualify, register, registered, registration, reject, restrict, sha,
    sweep,
)

ISO_14001 = sha("iso-14001.pdf")


def appeal(at: int, about: str, appeal_id: str = "ap-1", text: str = "we hold the certificate",
           actor: Actor = SUPPLIER) -> LodgeAppeal:
    return LodgeAppeal(actor=actor, at=at, appeal_id=appeal_id, about=about, text=text)


def answer(at: int, appeal_id: str = "ap-1", upheld: bool = True,
           text: str = "the certificate is valid") -> AnswerAppeal:
    return AnswerAppeal(actor=REVIEWER, at=at, appeal_id=appeal_id, upheld=upheld, answer=text)


def rate(at: int, event_id: str = "tnd-1", marks: tuple[int, int, int] = (5, 4, 3),
         actor: Actor = BUYER, comment: str = "") -> Rate:
    delivery, quality, service = marks
    return Rate(actor=actor, at=at, event_id=event_id, delivery=delivery, quality=quality,
                service=service, comment=comment)


def test_the_issues_workflow_register_certify_qualify_reject_expire_blacklist_and_return():
    run = Run()
    assert standing(None, STEEL, T0).reason is StandingReason.NOT_REGISTERED
    run.do(register(T0))
    assert standing(run.record, STEEL, T0).reason is StandingReason.PENDING_REVIEW
    assert standing(run.record, None, T0).eligible  # registered, not restricted
    assert standing(run.record, PIPES, T0).reason is StandingReason.NOT_QUALIFIED

    # two certificates; qualified in steel on both, rejected in construction with a reason
    run.do(document(ISO_9001, T0 + HOUR, expires_at=T0 + YEAR))
    run.do(document(ISO_14001, T0 + HOUR, expires_at=T0 + 3 * YEAR, title="ISO 14001"))
    run.do(qualify(T0 + DAY, STEEL, ISO_9001, ISO_14001, reason="certificates checked"))
    [rejected] = run.do(reject(T0 + DAY, CONSTRUCTION, "no construction licence"))
    assert (rejected.by, rejected.reason) == ("rita", "no construction licence")
    steel = standing(run.record, STEEL, T0 + DAY)
    assert (steel.eligible, steel.reason, steel.until) == (True, None, T0 + YEAR)
    construction = standing(run.record, CONSTRUCTION, T0 + DAY)
    assert (construction.reason, construction.detail) == (StandingReason.REJECTED,
                                                          "no construction licence")
    assert indexed(run.record, T0 + DAY).tags == {
        "status:qualified", f"cat:{STEEL}:qualified", f"cat:{CONSTRUCTION}:rejected"}

    # the ISO 9001 certificate expires: not eligible at that very instant, by time alone
    assert standing(run.record, STEEL, T0 + YEAR - 1).eligible
    lapsed = standing(run.record, STEEL, T0 + YEAR)
    assert (lapsed.eligible, lapsed.reason, lapsed.until) == (
        False, StandingReason.CERTIFICATE_EXPIRED, None)
    assert "ISO 9001" in lapsed.detail and "14001" not in lapsed.detail
    assert indexed(run.record, T0 + YEAR).tags == {
        "status:suspended", f"cat:{STEEL}:suspended", f"cat:{CONSTRUCTION}:rejected"}
    # the sweeper records it afterwards, once
    assert run.do(sweep(T0 + YEAR + 5)) == [
        ev.CertificateExpired(at=T0 + YEAR, by=SYSTEM_USER, sha256=ISO_9001)]
    assert run.do(sweep(T0 + YEAR + 6)) == []

    # a renewed certificate, a new qualification on it
    renewed_at = T0 + YEAR + HOUR
    run.do(document(ISO_9001_RENEWED, renewed_at, expires_at=T0 + 4 * YEAR))
    run.do(qualify(renewed_at + HOUR, STEEL, ISO_9001_RENEWED, ISO_14001))
    assert standing(run.record, STEEL, renewed_at + HOUR).eligible

    # blacklisted for 90 days: not eligible anywhere; eligible again when the period is over
    start = T0 + YEAR + DAY
    [restricted] = run.do(restrict(start, RestrictionKind.BLACKLISTED, end_at=start + 90 * DAY,
                                   reason="collusion found in tnd-7"))
    assert (restricted.restriction_id, restricted.by) == ("r1", "rita")
    for category in (STEEL, None):
        during = standing(run.record, category, start + 89 * DAY)
        assert (during.eligible, during.reason, during.until, during.detail) == (
            False, StandingReason.BLACKLISTED, start + 90 * DAY, "collusion found in tnd-7")
    assert "status:blacklisted" in indexed(run.record, start).tags
    after = standing(run.record, STEEL, start + 90 * DAY)
    assert (after.eligible, after.until) == (True, T0 + 3 * YEAR)
    assert "status:qualified" in indexed(run.record, start + 90 * DAY).tags
    assert run.do(sweep(start + 91 * DAY)) == [
        ev.RestrictionEnded(at=start + 90 * DAY, by=SYSTEM_USER, restriction_id="r1")]

    # every change is in the log with who and when; replaying it gives the same record
    assert all(e.by for e in run.log)
    assert record_bytes(replay(run.log)) == record_bytes(run.record)
    assert run.record.version == len(run.log)


# ------------------------------------------------------------------ each refusal


def _scenario(reason: Reason):
    def codes(n: int) -> tuple[str, ...]:
        return tuple(c for c in (code for code, _ in categories.search("0", 50)
                                 + categories.search("1", 50))
                     if c not in (STEEL, CONSTRUCTION))[:n]

    match reason:
        case Reason.NOT_REGISTERED:
            return Run(), apply(T0, STEEL)
        case Reason.ALREADY_REGISTERED:
            return registered(), register(T0 + 5, legal_name="Another name")
        case Reason.INVALID_REGISTRATION:
            return Run(), register(T0, legal_name="   ")
        case Reason.INVALID_IDENTIFIER:
            return Run(), register(T0, identifier=USCC[:-1] + ("0" if USCC[-1] != "0" else "1"))
        case Reason.UNKNOWN_CATEGORY:
            return Run(), register(T0, categories=(STEEL, "45000000-8"))
        case Reason.NOT_APPLIED:
            return registered(), qualify(T0 + DAY, PIPES)
        case Reason.UNKNOWN_DOCUMENT:
            return registered(), qualify(T0 + DAY, STEEL, LICENCE)  # a licence, not a certificate
        case Reason.CERTIFICATE_EXPIRED:
            return registered(), qualify(T0 + YEAR, STEEL, ISO_9001)
        case Reason.INVALID_PERIOD:
            return registered(), restrict(T0 + DAY, end_at=T0 + DAY)
        case Reason.UNKNOWN_RESTRICTION:
            return registered(), lift(T0 + DAY, "r9")
        case Reason.ALREADY_LIFTED:
            run = registered()
            run.do(restrict(T0 + DAY))
            run.do(lift(T0 + 2 * DAY))
            return run, lift(T0 + 3 * DAY)
        case Reason.UNKNOWN_APPEAL:
            return registered(), answer(T0 + DAY, "ap-9")
        case Reason.INVALID_RATING:
            return registered(), rate(T0 + DAY, marks=(6, 4, 3))
        case Reason.LIMIT_REACHED:
            return registered(), apply(T0 + DAY, *codes(MAX_CATEGORIES - 1))
    raise AssertionError(f"no scenario for {reason}")


@pytest.mark.parametrize("reason", ADMISSION_REASONS)
def test_every_reason_of_the_registry_is_reachable_and_machine_readable(reason):
    run, command = _scenario(reason)
    rejection = run.refused(command)
    assert rejection.reason is reason
    assert msgspec.json.decode(msgspec.json.encode(rejection))["reason"] == reason.value


@pytest.mark.parametrize(("command", "field"), [
    (reject(T0 + DAY, STEEL, reason="  "), "reason"),
    (restrict(T0 + DAY, reason=""), "reason"),
    (appeal(T0 + DAY, STEEL, text=" "), "text"),
])
def test_a_rejection_a_restriction_and_an_appeal_say_why(command, field):
    rejection = registered().refused(command)
    assert (rejection.reason, rejection.field) == (Reason.REASON_REQUIRED, field)


def test_lifting_a_restriction_and_answering_an_appeal_say_why():
    run = registered()
    run.do(restrict(T0 + DAY))
    run.do(appeal(T0 + DAY, "r1"))
    assert run.refused(lift(T0 + 2 * DAY, reason="")).reason is Reason.REASON_REQUIRED
    assert run.refused(answer(T0 + 2 * DAY, text="")).reason is Reason.REASON_REQUIRED


def test_a_qualification_rests_only_on_certificates_of_the_record_not_expired():
    run = registered()
    unknown = run.refused(qualify(T0 + DAY, STEEL, ISO_9001, sha("never-uploaded")))
    assert (unknown.reason, unknown.field) == (Reason.UNKNOWN_DOCUMENT, "certificates[1]")
    expired = run.refused(qualify(T0 + YEAR + 1, STEEL, ISO_9001))
    assert (expired.reason, expired.field) == (Reason.CERTIFICATE_EXPIRED, "certificates[0]")
    [qualified] = run.do(qualify(T0 + DAY, STEEL, ISO_9001, ISO_9001))
    assert qualified.certificates == (ISO_9001,)  # named once
    assert run.do(qualify(T0 + DAY, CONSTRUCTION)) != []  # on no certificate at all: the reviewer's call


def test_a_document_must_be_valid_before_it_expires_and_not_expired_already():
    run = registered()
    backwards = run.refused(document(sha("x"), T0 + DAY, valid_from=T0 + 2 * DAY,
                                     expires_at=T0 + 2 * DAY))
    assert (backwards.reason, backwards.field) == (Reason.INVALID_PERIOD, "expires_at")
    stale = run.refused(document(sha("x"), T0 + DAY, valid_from=T0 - YEAR, expires_at=T0 + DAY))
    assert (stale.reason, stale.field) == (Reason.CERTIFICATE_EXPIRED, "expires_at")


def test_a_restriction_starts_now_or_later_and_ends_after_it_starts():
    run = registered()
    assert run.refused(restrict(T0 + DAY, start_at=T0 + DAY - 1)).field == "start_at"
    assert run.refused(restrict(T0 + DAY, start_at=T0 + 2 * DAY, end_at=T0 + 2 * DAY)).field == "end_at"
    [later] = run.do(restrict(T0 + DAY, start_at=T0 + 2 * DAY, end_at=T0 + 3 * DAY))
    [now] = run.do(restrict(T0 + DAY, RestrictionKind.BLACKLISTED))
    assert (later.start_at, later.restriction_id, now.start_at, now.end_at, now.restriction_id) == (
        T0 + 2 * DAY, "r1", T0 + DAY, None, "r2")


def test_a_restriction_ended_by_time_cannot_be_lifted():
    run = registered()
    run.do(restrict(T0 + DAY, end_at=T0 + 2 * DAY))
    rejection = run.refused(lift(T0 + 2 * DAY))
    assert rejection.reason is Reason.ALREADY_LIFTED and "ended" in rejection.detail
    run.do(lift(T0 + 2 * DAY - 1))  # while it is still in force


def test_an_appeal_is_about_a_category_applied_for_or_a_restriction_and_answered_once():
    run = registered()
    assert run.refused(appeal(T0 + DAY, PIPES)).reason is Reason.NOT_APPLIED
    assert run.refused(appeal(T0 + DAY, "r1")).reason is Reason.UNKNOWN_RESTRICTION
    run.do(reject(T0 + DAY, STEEL))
    [lodged] = run.do(appeal(T0 + 2 * DAY, STEEL))
    assert (lodged.by, lodged.about) == ("li.wei", STEEL)
    assert run.refused(appeal(T0 + 2 * DAY, STEEL, text="other words")).reason is Reason.ALREADY_EXISTS
    [answered] = run.do(answer(T0 + 3 * DAY, upheld=True))
    assert (answered.by, answered.upheld) == ("rita", True)
    assert run.refused(answer(T0 + 4 * DAY, upheld=False)).reason is Reason.ALREADY_ANSWERED
    # upholding decides nothing by itself: the category is rejected until the reviewer qualifies
    assert run.record.decision(STEEL).status is DecisionStatus.REJECTED


def test_open_appeals_are_limited():
    run = registered()
    run.do(reject(T0 + DAY, STEEL))
    for i in range(MAX_OPEN_APPEALS):
        run.do(appeal(T0 + DAY, STEEL, appeal_id=f"ap-{i}"))
    assert run.refused(appeal(T0 + DAY, STEEL, appeal_id="ap-x")).reason is Reason.LIMIT_REACHED
    run.do(answer(T0 + 2 * DAY, "ap-0", upheld=False))
    run.do(appeal(T0 + 3 * DAY, STEEL, appeal_id="ap-x"))


def test_documents_are_limited():
    run = registered()
    for i in range(MAX_DOCUMENTS - len(run.record.documents)):
        run.do(document(sha(f"doc-{i}"), T0 + DAY))
    assert run.refused(document(sha("one-more"), T0 + DAY)).reason is Reason.LIMIT_REACHED


def test_one_rating_per_event_and_buyer():
    run = registered()
    [rated] = run.do(rate(T0 + DAY, comment="on time"))
    assert (rated.buyer, rated.by, rated.event_id) == ("org-buyer", "bob", "tnd-1")
    changed = run.refused(rate(T0 + DAY, marks=(1, 1, 1)))
    assert (changed.reason, changed.field) == (Reason.ALREADY_EXISTS, "event_id")
    run.do(rate(T0 + DAY, actor=Actor(Role.BUYER, "org-other", "eve")))  # another buyer
    run.do(rate(T0 + DAY, event_id="tnd-2"))  # another event
    for marks, field in (((0, 3, 3), "delivery"), ((3, 6, 3), "quality"), ((3, 3, -1), "service")):
        assert run.refused(rate(T0 + DAY, event_id="tnd-3", marks=marks)).field == field


# ------------------------------------------------------------------ resends change nothing


def test_the_same_command_sent_again_changes_nothing():
    run = registered()
    run.do(reject(T0 + DAY, CONSTRUCTION))
    run.do(qualify(T0 + DAY, STEEL, ISO_9001))
    run.do(appeal(T0 + DAY, CONSTRUCTION))
    run.do(rate(T0 + DAY))
    for command in (
        register(T0 + 5), register(T0 + 5, identifier=USCC.lower()),  # the same, typed otherwise
        UpdateRegistration(actor=SUPPLIER, at=T0 + 5, registration=registration()),
        document(ISO_9001, T0 + 5, expires_at=T0 + YEAR, valid_from=T0 + 1 - DAY),
        apply(T0 + 5, STEEL), qualify(T0 + 5, STEEL, ISO_9001), reject(T0 + 5, CONSTRUCTION),
        appeal(T0 + 5, CONSTRUCTION), rate(T0 + 5),
    ):
        assert decide(run.record, command) == [], command
    other = run.refused(document(ISO_9001, T0 + 5, expires_at=T0 + 2 * YEAR))
    assert (other.reason, other.field) == (Reason.ALREADY_EXISTS, "sha256")


# ------------------------------------------------------------------ the registration


def test_a_registration_is_recorded_compact_and_without_repeats():
    run = Run()
    [registered_] = run.do(register(T0, legal_name="  Beijing Steel Works  ",
                                    identifier=f"{USCC[:9]} {USCC[9:].lower()}",
                                    categories=(STEEL, CONSTRUCTION, STEEL)))
    assert registered_.supplier_id == SUPPLIER_ID
    assert registered_.registration.legal_name == "Beijing Steel Works"
    assert registered_.registration.identifier == USCC
    assert registered_.registration.categories == (STEEL, CONSTRUCTION)
    assert [(d.category, d.status, d.by) for d in run.record.categories] == [
        (STEEL, DecisionStatus.PENDING, "li.wei"), (CONSTRUCTION, DecisionStatus.PENDING, "li.wei")]
    assert run.refused(register(T0, legal_name="x")).reason is Reason.ALREADY_REGISTERED


def test_an_update_keeps_decisions_adds_pending_categories_and_withdraws_others():
    run = registered()
    run.do(qualify(T0 + DAY, STEEL, ISO_9001))
    update = UpdateRegistration(actor=SUPPLIER, at=T0 + 2 * DAY, registration=registration(
        legal_name="Beijing Steel Group", country="DE", identifier="de 136 695 976",
        categories=(PIPES, STEEL)))
    [updated] = run.do(update)
    assert updated.registration.identifier == "DE136695976"
    record = run.record
    assert record.registration.categories == (PIPES, STEEL)
    assert [(d.category, d.status) for d in record.categories] == [
        (PIPES, DecisionStatus.PENDING), (STEEL, DecisionStatus.QUALIFIED)]
    assert standing(record, CONSTRUCTION, T0 + 2 * DAY).reason is StandingReason.NOT_QUALIFIED
    bad = run.refused(UpdateRegistration(actor=SUPPLIER, at=T0 + 3 * DAY,
                                         registration=registration(identifier="136695977",
                                                                   country="DE")))
    assert (bad.reason, bad.field) == (Reason.INVALID_IDENTIFIER, "registration.identifier")


def test_applying_again_after_a_rejection_is_pending_again():
    run = registered()
    run.do(reject(T0 + DAY, STEEL))
    run.do(qualify(T0 + DAY, CONSTRUCTION))
    [applied] = run.do(apply(T0 + 2 * DAY, PIPES, STEEL, CONSTRUCTION))
    assert applied.categories == (PIPES, STEEL)  # construction stands qualified
    assert [(d.category, d.status, d.at) for d in run.record.categories] == [
        (STEEL, DecisionStatus.PENDING, T0 + 2 * DAY),
        (CONSTRUCTION, DecisionStatus.QUALIFIED, T0 + DAY),
        (PIPES, DecisionStatus.PENDING, T0 + 2 * DAY)]
    assert run.record.registration.categories == (STEEL, CONSTRUCTION, PIPES)
    assert run.refused(apply(T0 + 2 * DAY, "45000000-8")).reason is Reason.UNKNOWN_CATEGORY


# ------------------------------------------------------------------ who may


@pytest.mark.parametrize(("command", "allowed"), [
    (register(T0 + 5), Role.SUPPLIER),
    (document(sha("x"), T0 + 5), Role.SUPPLIER),
    (apply(T0 + 5, PIPES), Role.SUPPLIER),
    (appeal(T0 + 5, STEEL), Role.SUPPLIER),
    (qualify(T0 + 5, STEEL), Role.PLATFORM),
    (reject(T0 + 5, STEEL), Role.PLATFORM),
    (restrict(T0 + 5), Role.PLATFORM),
    (answer(T0 + 5), Role.PLATFORM),
    (rate(T0 + 5), Role.BUYER),
])
def test_each_command_belongs_to_one_side(command, allowed):
    run = registered()
    for actor in (SUPPLIER, REVIEWER, BUYER, OBSERVER):
        sent = msgspec.structs.replace(command, actor=actor)
        result = decide(run.record, sent)
        if actor.role is allowed:
            assert not (hasattr(result, "reason") and result.reason is Reason.FORBIDDEN)
        else:
            assert result.reason is Reason.FORBIDDEN, (actor, result)


def test_a_supplier_acts_on_its_own_record_only():
    run = registered()
    for command in (document(sha("x"), T0 + 5, actor=OTHER_SUPPLIER),
                    apply(T0 + 5, PIPES, actor=OTHER_SUPPLIER),
                    appeal(T0 + 5, STEEL, actor=OTHER_SUPPLIER),
                    UpdateRegistration(actor=OTHER_SUPPLIER, at=T0 + 5,
                                       registration=registration())):
        assert run.refused(command).reason is Reason.FORBIDDEN


def test_only_the_server_sweeps_and_it_may_review():
    run = registered()
    assert run.refused(msgspec.structs.replace(sweep(T0), actor=REVIEWER)).reason is Reason.FORBIDDEN
    assert Run().refused(sweep(T0)).reason is Reason.NOT_REGISTERED
    assert run.do(qualify(T0 + DAY, STEEL, actor=SYSTEM))[0].by == ""


def test_a_future_restriction_starts_by_time_and_the_sweeper_records_it():
    run = registered()
    run.do(qualify(T0 + DAY, STEEL))
    run.do(restrict(T0 + DAY, start_at=T0 + 10 * DAY, end_at=T0 + 20 * DAY))
    before = standing(run.record, STEEL, T0 + DAY)
    assert (before.eligible, before.until) == (True, T0 + 10 * DAY)
    assert standing(run.record, STEEL, T0 + 10 * DAY).reason is StandingReason.SUSPENDED
    assert run.do(sweep(T0 + 9 * DAY)) == []
    assert run.do(sweep(T0 + 25 * DAY)) == [
        ev.RestrictionStarted(at=T0 + 10 * DAY, by=SYSTEM_USER, restriction_id="r1"),
        ev.RestrictionEnded(at=T0 + 20 * DAY, by=SYSTEM_USER, restriction_id="r1")]
    assert run.do(sweep(T0 + 26 * DAY)) == []


def test_a_licence_expiring_is_no_change_of_standing():
    run = Run()
    run.do(register(T0))
    run.do(document(LICENCE, T0, kind=DocumentKind.LICENCE, expires_at=T0 + DAY))
    assert run.do(sweep(T0 + 2 * DAY)) == []
