"""The record as a fold of its events: replay through the event codec gives the same bytes, a
record handed out never changes, and every event type has its one way to apply. And the bodies
the edges decode into these types are checked by msgspec."""

from __future__ import annotations

import typing

import msgspec
import pytest

from bidserver.engine.admission import events as ev
from bidserver.engine.admission.commands import (
    AddDocument, AnswerAppeal, LodgeAppeal, Rate, UpdateRegistration,
)
from bidserver.engine.admission.evolve import _APPLY, evolve, record_bytes, replay, restore
from bidserver.engine.admission.values import Registration, RestrictionKind

from .builders import (
    BUYER, CONSTRUCTION, DAY, ISO_9001, PIPES, REVIEWER, STEEL, SUPPLIER, T0, YEAR, apply,
    document, encoded, lift, qualify, registered, registration, reject, restrict, sweep,
)


def busy():
    """A record with every kind of event in it."""
    run = registered()
    run.do(UpdateRegistration(actor=SUPPLIER, at=T0 + DAY, registration=registration(
        legal_name="Beijing Steel Group")))
    run.do(apply(T0 + DAY, PIPES))
    run.do(qualify(T0 + DAY, STEEL, ISO_9001, reason="ok"))
    run.do(reject(T0 + DAY, CONSTRUCTION))
    run.do(LodgeAppeal(actor=SUPPLIER, at=T0 + 2 * DAY, appeal_id="ap-1", about=CONSTRUCTION,
                       text="we have the licence"))
    run.do(AnswerAppeal(actor=REVIEWER, at=T0 + 3 * DAY, appeal_id="ap-1", upheld=False,
                        answer="it is not a construction licence"))
    run.do(restrict(T0 + 3 * DAY, RestrictionKind.SUSPENDED, start_at=T0 + 4 * DAY,
                    end_at=T0 + 9 * DAY))
    run.do(restrict(T0 + 3 * DAY, RestrictionKind.BLACKLISTED, start_at=T0 + 30 * DAY))
    run.do(lift(T0 + 5 * DAY, "r2", reason="settled"))
    run.do(Rate(actor=BUYER, at=T0 + 6 * DAY, event_id="tnd-1", delivery=5, quality=5,
                service=4, comment="früh geliefert, 准时"))
    run.do(sweep(T0 + 2 * YEAR))
    return run


def test_every_event_type_is_made_and_applied():
    run = busy()
    kinds = {type(e) for e in run.log}
    union = set(typing.get_args(ev.Event))
    assert kinds == union
    assert set(_APPLY) == union - {ev.Registered}


def test_replaying_the_encoded_events_gives_the_same_record_byte_for_byte():
    run = busy()
    stored = [ev.encode_event(e) for e in run.log]
    replayed = replay(ev.decode_event(data) for data in stored)
    assert encoded(replayed) == encoded(run.record) == record_bytes(run.record)
    assert replayed == run.record
    assert restore(record_bytes(run.record)) == run.record
    assert replayed.version == len(run.log) == len(stored)


def test_evolve_leaves_the_record_it_was_given_as_it_was():
    run = busy()
    before = run.record
    before_bytes = encoded(before)
    after = evolve(before, ev.CategoryRejected(at=T0 + 7 * DAY, by="rita", category=STEEL,
                                               reason="fake certificate"))
    assert encoded(before) == before_bytes
    assert after.version == before.version + 1
    assert after.decision(STEEL).reason == "fake certificate"
    with pytest.raises(AttributeError):
        before.version = 0  # frozen


def test_the_registration_and_the_decisions_name_the_same_categories():
    record = busy().record
    assert record.registration.categories == tuple(d.category for d in record.categories)


def test_an_event_that_cannot_follow_is_a_bug():
    run = registered()
    with pytest.raises(AssertionError):
        evolve(run.record, run.log[0])  # registered twice
    with pytest.raises(AssertionError):
        evolve(None, run.log[1])  # before the registration


def test_an_unknown_event_type_or_field_is_refused_on_decode():
    data = ev.encode_event(busy().log[0])
    with pytest.raises(msgspec.ValidationError):
        ev.decode_event(data.replace(b'"registered"', b'"supplier_deleted"', 1))
    with pytest.raises(msgspec.ValidationError):
        ev.decode_event(data[:-1] + b',"extra":1}')


@pytest.mark.parametrize(("path", "value"), [
    (("legal_name",), ""),
    (("legal_name",), "x" * 201),
    (("country",), "cn"),
    (("identifier",), "9" * 65),
    (("contacts",), []),
    (("contacts",), [{"name": "A", "email": "a@example.com"}] * 6),
    (("contacts", 0, "email"), "not an address"),
    (("contacts", 0, "phone"), "call me"),
    (("categories",), []),
    (("categories",), ["45000000"]),
    (("categories",), ["45000000-7"] * 51),
])
def test_a_registration_body_is_checked_on_decode(path, value):
    body = msgspec.to_builtins(registration())
    assert msgspec.convert(body, Registration) == registration()
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(body), type=Registration)


@pytest.mark.parametrize(("field", "value"), [
    ("sha256", "A" * 64), ("sha256", "ab"), ("kind", "diploma"), ("filename", "../etc/passwd"),
    ("filename", ""), ("size", -1), ("title", ""),
])
def test_a_document_body_is_checked_on_decode(field, value):
    body = msgspec.to_builtins(document(ISO_9001, T0))
    msgspec.convert(body, AddDocument)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(body | {field: value}, AddDocument)


def test_a_rating_body_is_checked_on_decode():
    body = msgspec.to_builtins(Rate(actor=BUYER, at=T0, event_id="tnd-1", delivery=5, quality=5,
                                    service=5))
    msgspec.convert(body, Rate)
    for field in ("delivery", "quality", "service"):
        for mark in (0, 6):
            with pytest.raises(msgspec.ValidationError):
                msgspec.convert(body | {field: mark}, Rate)
