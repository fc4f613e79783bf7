"""A supplier restricted during a tender (``tender.restrictions``): no new bid, its bid stands for
the buyer to disqualify, nothing awarded to it (a decision it won is withdrawn), and only it and
the buyer are told; replay keeps it byte for byte."""

from __future__ import annotations

from bidserver.engine.format import Delivery
from bidserver.engine.rejections import Reason
from bidserver.engine.tender import FORMAT, Phase, state_bytes
from bidserver.engine.tender import events as ev
from bidserver.engine.tender.evolve import restore

from .builders import (
    BUYER, DAY, DOCS_2, OBSERVER, OPENING, STANDSTILL_END, T0, TENDER, bid, change, complain,
    confirm, decide_award, decided, follow_on, opened, published, qualified, qualify, refused,
    revise, standing, supplier, tick, with_bids, withdraw,
)


def test_a_restriction_is_an_event_once_and_only_from_the_server():
    run = with_bids()
    [first] = run.do(standing("sup-a", T0 + 2 * DAY))
    assert first == ev.SupplierRestricted(at=T0 + 2 * DAY, supplier="sup-a", reason="suspended",
                                          detail="suspended by the registry")
    assert run.do(standing("sup-a", T0 + 2 * DAY + 1)) == []
    assert refused(run.state, standing("sup-a", T0 + 3 * DAY, actor=BUYER)).reason is Reason.FORBIDDEN
    assert refused(run.state, standing("sup-z", T0 + 3 * DAY)).reason is Reason.NOT_INVITED
    [back] = run.do(standing("sup-a", T0 + 3 * DAY, restricted=False, reason="lifted"))
    assert type(back) is ev.SupplierReinstated and run.state.restricted == {}
    awarded = decided()
    awarded.do(tick(STANDSTILL_END))
    assert refused(awarded.state, standing("sup-b", STANDSTILL_END + 1)).reason is Reason.WRONG_PHASE


def test_no_new_bid_from_a_restricted_supplier():
    run = published()
    run.do(standing("sup-a", T0 + 1))
    outcome = run.try_(bid("sup-a", "a1", {"L1": 1}, T0 + 2))
    assert outcome.rejection.reason is Reason.SUPPLIER_RESTRICTED
    [record] = outcome.events  # recorded, and listed to its author alone before the deadline
    assert type(record) is ev.SubmissionRefused
    assert FORMAT.shown_to(run.state, record, BUYER) is None
    assert FORMAT.shown_to(run.state, record, supplier("sup-a")) is not None
    run.do(standing("sup-a", T0 + 3, restricted=False))
    assert run.do(bid("sup-a", "a2", {"L1": 1}, T0 + 4))  # reinstated: it bids again


def test_its_bid_in_stands_it_may_be_confirmed_or_withdrawn_not_revised():
    run = with_bids()
    run.do(standing("sup-a", T0 + 2 * DAY))
    revision = revise("sup-a", "a2", "sup-a-1", {"L1": 1}, T0 + 2 * DAY + 1)
    assert run.try_(revision).rejection.reason is Reason.SUPPLIER_RESTRICTED
    run.do(change(T0 + 2 * DAY + 2))
    assert run.do(confirm("sup-a", "sup-a-1", T0 + 2 * DAY + 3, DOCS_2))
    assert run.do(withdraw("sup-a", "sup-a-1", T0 + 2 * DAY + 4))


def test_a_restricted_bid_is_opened_and_can_only_be_disqualified():
    run = opened()
    run.do(standing("sup-b", OPENING + DAY))
    at = OPENING + DAY + 1
    rejection = refused(run.state, qualify("sup-b", at))
    assert rejection.reason is Reason.SUPPLIER_RESTRICTED and "disqualify" in rejection.detail
    run.do(qualify("sup-b", at, valid=False, reason="suspended by the registry"))
    for party in ("sup-a", "sup-c"):
        run.do(qualify(party, at))
    [decision] = run.do(decide_award(at + 1))
    assert decision.lots[0].winner == "sup-a"


def test_nothing_is_decided_while_a_restricted_bid_stands_valid():
    run = qualified(opened())
    at = OPENING + 2 * DAY
    run.do(standing("sup-b", at))
    for command in (decide_award(at + 1), follow_on(at + 1)):
        rejection = refused(run.state, command)
        assert rejection.reason is Reason.SUPPLIER_RESTRICTED and "sup-b" in rejection.detail
    run.do(standing("sup-b", at + 2, restricted=False))
    [decision] = run.do(decide_award(at + 3))
    assert decision.lots[0].winner == "sup-b"


def test_a_winner_restricted_during_the_standstill_loses_the_decision_and_nothing_becomes_final():
    run = decided()  # L1 to sup-b, L2 to sup-c
    run.do(complain("sup-a", "c1", STANDSTILL_END - 2 * DAY))
    [restricted] = run.do(standing("sup-b", STANDSTILL_END - DAY, reason="blacklisted"))
    assert restricted.award_withdrawn and FORMAT.seals_head(restricted)
    state = run.state
    assert (state.phase, state.decision, state.open_complaints()) == (Phase.EVALUATION, None, [])
    assert run.do(tick(STANDSTILL_END)) == []  # no award becomes final
    run.do(qualify("sup-b", STANDSTILL_END + 1, valid=False, reason="blacklisted"))
    [again] = run.do(decide_award(STANDSTILL_END + 2))
    assert again.lots[0].winner == "sup-a"


def test_a_restricted_bidder_that_won_nothing_leaves_the_standstill_running():
    run = decided()
    [restricted] = run.do(standing("sup-a", STANDSTILL_END - DAY))
    assert not restricted.award_withdrawn and not FORMAT.seals_head(restricted)
    [final] = run.do(tick(STANDSTILL_END))
    assert [a.supplier for a in final.awards] == ["sup-b", "sup-c"]


def test_only_the_buyer_and_the_supplier_itself_are_told_at_once():
    run = opened()
    events = [*run.do(standing("sup-a", OPENING + DAY, detail="ISO 9001 expired")),
              *run.do(standing("sup-a", OPENING + DAY + 1, reason="blacklisted"))]
    restriction = {i.supplier: i.restricted for i in FORMAT.view(run.state, BUYER).buyer.suppliers}
    assert restriction["sup-b"] is None
    assert (restriction["sup-a"].reason, restriction["sup-a"].since) == ("blacklisted", OPENING + DAY)
    you = FORMAT.you_view(run.state, supplier("sup-a"))
    assert you.restricted.reason == "blacklisted"
    assert FORMAT.you_view(run.state, supplier("sup-b")).restricted is None
    for event in events:
        assert FORMAT.delivery(event) is Delivery.URGENT
        assert FORMAT.shown_to(run.state, event, BUYER) == event
        assert FORMAT.shown_to(run.state, event, supplier("sup-a")) == event
        for other in (supplier("sup-b"), OBSERVER):
            assert FORMAT.shown_to(run.state, event, other) is None


def test_replay_with_restrictions_gives_the_state_byte_for_byte():
    run = decided()
    run.do(standing("sup-a", STANDSTILL_END - 3 * DAY))
    run.do(standing("sup-b", STANDSTILL_END - 2 * DAY))
    run.do(standing("sup-a", STANDSTILL_END - DAY, restricted=False))
    decoded = [FORMAT.decode_event(FORMAT.encode_event(e)) for e in run.log]
    assert decoded == run.log
    assert state_bytes(FORMAT.replay(TENDER, decoded)) == state_bytes(run.state)
    assert state_bytes(restore(state_bytes(run.state))) == state_bytes(run.state)
    assert list(run.state.restricted) == ["sup-b"] and run.state.phase is Phase.EVALUATION
