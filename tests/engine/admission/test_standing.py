"""Standing by time: restrictions and their ranks, lapsed qualifications, the instants at which
standing changes, the statuses and index tags, warnings and ratings."""

from __future__ import annotations

from bidserver.engine.admission.commands import Rate
from bidserver.engine.admission.standing import (
    ChangeKind, Status, StandingReason, changes, due_at, expiring, in_force, indexed,
    next_change_at, overall_status, rating_summary, standing,
)
from bidserver.engine.admission.values import DocumentKind, RestrictionKind
from bidserver.engine.values import Actor, Role

from .builders import (
    CONSTRUCTION, DAY, ISO_9001, PIPES, STEEL, T0, YEAR, Run, apply, document,
    lift, qualify, register, registered, reject, restrict, sha, sweep,
)

SUSPENDED, BLACKLISTED = RestrictionKind.SUSPENDED, RestrictionKind.BLACKLISTED


def qualified_in_steel() -> Run:
    run = registered()
    run.do(qualify(T0 + DAY, STEEL, ISO_9001))
    return run


def test_a_restriction_counts_from_its_start_to_its_end_unless_lifted():
    run = qualified_in_steel()
    run.do(restrict(T0 + DAY, SUSPENDED, start_at=T0 + 10 * DAY, end_at=T0 + 20 * DAY))
    assert [standing(run.record, STEEL, t).eligible
            for t in (T0 + 10 * DAY - 1, T0 + 10 * DAY, T0 + 20 * DAY - 1, T0 + 20 * DAY)] == [
        True, False, False, True]
    run.do(lift(T0 + 12 * DAY))
    assert standing(run.record, STEEL, T0 + 12 * DAY).eligible
    assert standing(run.record, STEEL, T0 + 11 * DAY).eligible  # a lifted one never counts again
    assert in_force(run.record, T0 + 15 * DAY) is None


def test_blacklisting_outranks_a_suspension_and_until_is_when_the_reason_changes():
    run = qualified_in_steel()
    run.do(restrict(T0 + DAY, SUSPENDED, end_at=T0 + 30 * DAY, reason="audit"))
    run.do(restrict(T0 + DAY, BLACKLISTED, start_at=T0 + 10 * DAY, end_at=T0 + 20 * DAY,
                    reason="fraud"))
    first = standing(run.record, None, T0 + DAY)
    assert (first.reason, first.detail, first.until) == (
        StandingReason.SUSPENDED, "audit", T0 + 10 * DAY)
    second = standing(run.record, STEEL, T0 + 10 * DAY)
    assert (second.reason, second.detail, second.until) == (
        StandingReason.BLACKLISTED, "fraud", T0 + 20 * DAY)
    third = standing(run.record, STEEL, T0 + 20 * DAY)
    assert (third.reason, third.until) == (StandingReason.SUSPENDED, T0 + 30 * DAY)
    last = standing(run.record, STEEL, T0 + 30 * DAY)
    assert (last.eligible, last.until) == (True, T0 + YEAR)  # then its certificate expires
    assert overall_status(run.record, T0 + 15 * DAY) is Status.BLACKLISTED


def test_an_indefinite_blacklisting_is_never_over_by_time():
    run = qualified_in_steel()
    run.do(restrict(T0 + DAY, BLACKLISTED))
    for t in (T0 + DAY, T0 + 5 * YEAR, T0 + 100 * YEAR):
        found = standing(run.record, STEEL, t)
        assert (found.eligible, found.reason, found.until) == (
            False, StandingReason.BLACKLISTED, None)


def test_the_instants_time_changes_standing_and_what_the_sweeper_has_to_record():
    run = qualified_in_steel()
    run.do(restrict(T0 + DAY, SUSPENDED, start_at=T0 + 10 * DAY, end_at=T0 + 20 * DAY))
    run.do(restrict(T0 + DAY, BLACKLISTED, end_at=T0 + 5 * DAY))
    assert [(c.at, c.kind, c.recorded) for c in changes(run.record)] == [
        (T0 + DAY, ChangeKind.START, True),  # in force at once: nothing for the sweeper
        (T0 + 5 * DAY, ChangeKind.END, False),
        (T0 + 10 * DAY, ChangeKind.START, False),
        (T0 + 20 * DAY, ChangeKind.END, False),
        (T0 + YEAR, ChangeKind.EXPIRY, False),  # the certificate; never the licence
    ]
    assert next_change_at(run.record, T0 + DAY) == T0 + 5 * DAY
    assert next_change_at(run.record, T0 + 5 * DAY) == T0 + 10 * DAY
    assert next_change_at(run.record, T0 + YEAR) is None
    assert next_change_at(None, T0) is None and due_at(None) is None
    assert due_at(run.record) == T0 + 5 * DAY
    run.do(sweep(T0 + 12 * DAY))
    assert due_at(run.record) == T0 + 20 * DAY
    run.do(lift(T0 + 13 * DAY, "r1"))
    assert due_at(run.record) == T0 + YEAR
    run.do(sweep(T0 + 2 * YEAR))
    assert due_at(run.record) is None


def test_overall_status_is_the_best_of_the_categories_when_not_restricted():
    run = registered()
    assert overall_status(run.record, T0) is Status.PENDING
    run.do(reject(T0 + DAY, STEEL))
    assert overall_status(run.record, T0 + DAY) is Status.PENDING  # construction awaits review
    run.do(qualify(T0 + DAY, CONSTRUCTION, ISO_9001))
    assert overall_status(run.record, T0 + DAY) is Status.QUALIFIED
    assert overall_status(run.record, T0 + YEAR) is Status.SUSPENDED  # its certificate lapsed
    run.do(reject(T0 + DAY, CONSTRUCTION))
    assert overall_status(run.record, T0 + DAY) is Status.REJECTED
    run.do(restrict(T0 + DAY, SUSPENDED, end_at=T0 + 2 * DAY))
    assert overall_status(run.record, T0 + DAY) is Status.SUSPENDED


def test_the_index_fields():
    run = Run()
    run.do(register(T0, legal_name="ÅNGSTRÖM Stahl GmbH", country="DE", identifier="136695976",
                    categories=(STEEL, PIPES)))
    run.do(document(ISO_9001, T0, expires_at=T0 + YEAR))
    run.do(qualify(T0, STEEL, ISO_9001))
    found = indexed(run.record, T0)
    assert (found.name, found.code) == ("ångström stahl gmbh", "DE136695976")
    assert found.tags == {"status:qualified", f"cat:{STEEL}:qualified", f"cat:{PIPES}:pending",
                          "review:pending"}
    assert indexed(run.record, T0 + YEAR).tags == {
        "status:pending", f"cat:{STEEL}:suspended", f"cat:{PIPES}:pending", "review:pending"}
    run.do(reject(T0 + 1, PIPES, "no pipes made"))
    assert "review:pending" not in indexed(run.record, T0 + 1).tags  # the reviewers' queue


def test_documents_close_to_expiry_are_warned_of_soonest_first():
    run = registered()  # ISO 9001 expires in a year, the licence never
    run.do(document(sha("ccc"), T0 + 3, expires_at=T0 + YEAR - 10 * DAY, title="CCC"))
    run.do(document(sha("permit"), T0 + 3, kind=DocumentKind.LICENCE,
                    expires_at=T0 + YEAR + 10 * DAY, title="Permit"))
    within = [d.title for d in expiring(run.record, T0 + YEAR - 30 * DAY, 30 * DAY)]
    assert within == ["CCC", "ISO 9001"]
    assert [d.title for d in expiring(run.record, T0 + YEAR, 30 * DAY)] == ["Permit"]
    assert expiring(run.record, T0, DAY) == ()


def test_ratings_are_averaged_in_hundredths():
    run = registered()
    assert rating_summary(run.record).count == 0 and rating_summary(run.record).overall is None
    for i, marks in enumerate(((5, 4, 3), (4, 4, 2), (4, 5, 2))):
        run.do(Rate(actor=Actor(Role.BUYER, f"org-{i}", "p"), at=T0 + DAY, event_id="tnd-1",
                    delivery=marks[0], quality=marks[1], service=marks[2]))
    summary = rating_summary(run.record)
    assert (summary.count, summary.delivery, summary.quality, summary.service, summary.overall) == (
        3, 433, 433, 233, 367)  # 13/3, 13/3, 7/3, 33/9 rounded half up


def test_a_category_never_applied_for_and_an_unregistered_supplier():
    run = registered()
    assert standing(run.record, PIPES, T0).reason is StandingReason.NOT_QUALIFIED
    run.do(apply(T0 + 1, PIPES))
    assert standing(run.record, PIPES, T0 + 1).reason is StandingReason.PENDING_REVIEW
    assert standing(None, None, T0).reason is StandingReason.NOT_REGISTERED
