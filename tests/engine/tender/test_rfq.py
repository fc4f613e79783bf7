"""A request for quotations: the sealed tender's lighter procedure. No enquiry period, one of the
buyer's team opens (k = 1), no standstill; a quote must state its delivery time and validity;
the RFQ's profile rules; and no supplier is shown another's quote."""

from __future__ import annotations

import msgspec
import pytest

from bidserver.engine.rejections import Reason
from bidserver.engine.tender import FORMAT, Phase, TenderState
from bidserver.engine.tender import events as ev
from bidserver.engine.tender.commands import CreateTender, PresentShare, Publish
from bidserver.engine.tender.values import DAY_MS, Profile, Schedule

from .builders import (
    BUYER, DAY, HOUR, OBSERVER, RFQ_DEADLINE, RFQ_SHARES, T0, Run, ask, config, decide_award,
    of_type, officer, ok, qualify, quote, refused, revise, rfq_config, supplier, tick, withdraw,
)
from .builders import opened as tender_opened
from .test_ocds import assert_valid, stream

A, B, C = "sup-a", "sup-b", "sup-c"
OPENED_AT = RFQ_DEADLINE + 1


def rfq(cfg=None) -> Run:
    return Run(cfg or rfq_config()).publish()


def quoted(cfg=None, **quotes) -> Run:
    run = rfq(cfg)
    for i, (party, kw) in enumerate((quotes or {
        A: {"prices": {"P1": 90_000, "P2": 45_000, "P3": 2_500}, "delivery": 5,
            "certificates": ("ISO 9001",)},
        B: {"prices": {"P1": 88_000, "P2": 46_000, "P3": 2_600}, "delivery": 10},
        C: {"prices": {"P1": 95_000, "P2": 40_000, "P3": 2_400}, "delivery": 3,
            "certificates": ("iso  9001", "ISO 14001", "CCC")},
    }).items()):
        kw = dict(kw)
        run.do(quote(party, f"{party}-q", kw.pop("prices"), T0 + HOUR + i, **kw))
    return run


def opened(cfg=None, **quotes) -> Run:
    run = quoted(cfg, **quotes)
    run.do(tick(RFQ_DEADLINE))
    run.do(share(OPENED_AT))
    return run


def share(at: int) -> PresentShare:
    """The second officer's share: either one alone opens (k = 1)."""
    return PresentShare(actor=officer("off-2"), at=at, share=RFQ_SHARES[1])


def test_an_rfq_runs_from_publication_to_the_award_without_enquiries_or_standstill():
    run = quoted()
    assert run.state.phase is Phase.PUBLISHED
    events = run.do(tick(RFQ_DEADLINE))  # the enquiry period, none, and the deadline pass
    assert [type(e) for e in events] == [ev.EnquiriesClosed, ev.SubmissionClosed, ev.OpeningStarted]
    opened_by = run.do(share(OPENED_AT))  # one officer: k = 1
    record = of_type(opened_by, ev.TenderOpened)[0].record
    assert [(line.supplier, line.delivery_days, line.validity_days) for line in record] == [
        (A, 5, 30), (B, 10, 30), (C, 3, 30)]
    assert record[2].certificates == ("iso  9001", "ISO 14001", "CCC")
    for party in (A, B, C):
        run.do(qualify(party, OPENED_AT + 1))
    run.do(decide_award(OPENED_AT + 2))
    assert run.state.phase is Phase.STANDSTILL
    assert FORMAT.next_deadline(run.state) == OPENED_AT + 2  # no standstill: due at once
    final = of_type(run.do(tick(OPENED_AT + 2)), ev.AwardFinal)[0]
    assert [(a.lot_id, a.supplier, a.price) for a in final.awards] == [
        ("P1", B, 88_000), ("P2", C, 40_000), ("P3", C, 2_400)]


def test_an_rfq_takes_no_question():
    run = rfq()
    assert refused(run.state, ask(A, "q1", "Colour?", T0 + 1)).reason is Reason.ENQUIRIES_CLOSED


def test_a_tender_still_needs_its_enquiry_period_and_an_rfq_its_time_to_quote():
    no_enquiries = config(schedule=Schedule(submission_deadline_at=T0 + 40 * DAY,
                                            opening_at=T0 + 41 * DAY))
    refusal = refused(Run(no_enquiries).state, Publish(actor=BUYER, at=T0))
    assert (refusal.reason, refusal.field) == (Reason.INVALID_CONFIG,
                                              "config.schedule.enquiry_end_at")
    refusal = refused(Run(rfq_config()).state, Publish(actor=BUYER, at=RFQ_DEADLINE))
    assert (refusal.reason, refusal.field) == (Reason.INVALID_CONFIG,
                                              "config.schedule.submission_deadline_at")


@pytest.mark.parametrize("overrides, field", [
    ({"requested_certificates": ("ISO 9001", " iso 9001 ")}, "config.requested_certificates[1]"),
    ({"requested_certificates": ("ISO 9001", "  ")}, "config.requested_certificates[1]"),
])
def test_requested_certificates_are_named_once(overrides, field):
    refusal = FORMAT.decide(TenderState.new("x"), create(rfq_config(**overrides)))
    assert (refusal.reason, refusal.field) == (Reason.INVALID_CONFIG, field)


def test_requested_certificates_are_an_rfqs():
    tender = config(requested_certificates=("ISO 9001",))
    refusal = FORMAT.decide(TenderState.new("x"), create(tender))
    assert (refusal.reason, refusal.field) == (Reason.INVALID_CONFIG,
                                              "config.requested_certificates")


def create(cfg) -> CreateTender:
    return CreateTender(actor=BUYER, at=T0, tender_id="x", config=cfg)


@pytest.mark.parametrize("kw, reason", [
    ({"delivery": None}, "states no delivery time, which a quote must"),
    ({"validity": None}, "states no validity, which a quote must"),
    ({"delivery": -1}, "the delivery time must be from 0 to 3660 days"),
    ({"validity": 0}, "the validity must be from 1 to 3660 days"),
    ({"certificates": ("CE", "ce")}, "names a certificate twice"),
    ({"certificates": (" ",)}, "a certificate's name must be 1 to 100 characters"),
    ({"certificates": tuple(f"C{i}" for i in range(21))}, "claims more than 20 certificates"),
])
def test_a_quote_without_delivery_time_or_validity_does_not_open(kw, reason):
    run = opened(**{A: {"prices": {"P1": 90_000}, **kw}, B: {"prices": {"P1": 91_000}}})
    lines = {line.supplier: line for line in run.state.record}
    assert lines[A].failed == reason and lines[A].prices == ()
    assert lines[B].failed is None and lines[B].delivery_days == 5


def test_a_tenders_bid_opens_without_delivery_time_or_validity():
    line = tender_opened().state.record[0]
    assert line.failed is None and (line.delivery_days, line.validity_days) == (None, None)


def test_the_eu_profile_does_not_hold_an_rfq_to_the_open_procedures_limits():
    run = Run(rfq_config(profile=Profile.EU)).publish()  # two days, no standstill
    assert run.state.phase is Phase.PUBLISHED
    refusal = FORMAT.decide(TenderState.new("x"), create(config(profile=Profile.EU,
                                                                standstill_ms=0)))
    assert refusal.field == "config.standstill_ms"  # a tender, still


CHINA_DEADLINE = T0 + 4 * DAY


def china(**overrides):
    return rfq_config(profile=Profile.CHINA, schedule=Schedule(
        submission_deadline_at=CHINA_DEADLINE, opening_at=CHINA_DEADLINE), **overrides)


def test_the_china_profile_holds_an_rfq_to_the_government_procurement_law():
    refusal = FORMAT.decide(TenderState.new("x"), create(china(min_bidders=2)))
    assert (refusal.reason, refusal.field) == (Reason.INVALID_CONFIG, "config.min_bidders")
    refusal = refused(Run(china(min_bidders=3)).state,
                      Publish(actor=BUYER, at=CHINA_DEADLINE - 3 * DAY_MS + 1))
    assert (refusal.reason, refusal.field) == (Reason.INVALID_CONFIG,
                                              "config.schedule.submission_deadline_at")
    ok(Run(china(min_bidders=3)).state, Publish(actor=BUYER, at=CHINA_DEADLINE - 3 * DAY_MS))
    # none of the Tendering Law's: no committee of five, no 20 days, no public opening rule


def test_in_china_a_quote_is_given_once():
    run = quoted(china(min_bidders=3))
    for command in (revise(A, "a-2", f"{A}-q", {"P1": 1}, T0 + DAY),
                    withdraw(A, f"{A}-q", T0 + DAY)):
        assert refused(run.state, command).reason is Reason.ALREADY_EXISTS
    run = quoted()  # elsewhere a quote may be revised until the deadline
    assert run.state.current[A] == f"{A}-q"
    run.do(withdraw(A, f"{A}-q", T0 + DAY))


def test_no_supplier_is_shown_another_suppliers_quote():
    run = opened()
    for party in (A, B, C):
        run.do(qualify(party, OPENED_AT + 1, valid=party != B, reason="late samples"))
    run.do(decide_award(OPENED_AT + 2))
    prices_of_others = ("88000", "95000")  # sup-b's and sup-c's P1 (sup-b ranks first on P1)
    me = supplier(A)
    view = msgspec.json.encode(FORMAT.view(run.state, me))
    shown = [FORMAT.shown_to(run.state, e, me) for e in run.log]
    listed = msgspec.json.encode([x for x in shown if x is not None])
    for text in (view, listed):
        assert b"95000" not in text and b"sup-b" not in text and b"CCC" not in text
    assert FORMAT.view(run.state, me).opening is None
    assert FORMAT.view(run.state, me).qualifications is None
    you = FORMAT.you_view(run.state, me)
    assert you.quote.supplier == A and you.quote.prices[0].price == 90_000
    opened_event = next(x for x in shown if isinstance(x, dict) and x["type"] == "tender_opened")
    assert opened_event == {"type": "tender_opened", "at": OPENED_AT}
    decision = FORMAT.view(run.state, me).decision
    assert [[r.rank for r in lot.ranking] for lot in decision.lots] == [[1], [1], [1]]
    assert prices_of_others[0] not in str(decision)  # sup-b is disqualified: sup-a wins P1
    for watcher in (BUYER, OBSERVER):  # the buyer's organisation sees every quote
        seen = msgspec.json.encode(FORMAT.view(run.state, watcher))
        assert b"95000" in seen and b"CCC" in seen


def test_an_rfqs_release_is_a_limited_procedure_without_an_enquiry_period():
    run = opened()
    for party in (A, B, C):
        run.do(qualify(party, OPENED_AT + 1))
    run.do(decide_award(OPENED_AT + 2))
    events = run.do(tick(OPENED_AT + 2))
    releases = stream(run, events)
    assert len(releases) == 3
    for _, _, release in releases:
        assert_valid(release)
        tender = release["tender"]
        assert tender["procurementMethod"] == "limited"
        assert "询价" in tender["procurementMethodDetails"]
        assert "enquiryPeriod" not in tender
