"""Who sees what of a sealed tender: views, listed events, receipts, history and results, per role
and stage. Before the deadline nothing tells anyone, the buyer included, of a submission; the
opening tells every participant the same record at once."""

from __future__ import annotations

import base64

import msgspec
import pytest

from bidserver.engine.format import Delivery
from bidserver.engine.reverse import FORMAT as REVERSE
from bidserver.engine.reverse import events as reverse_events
from bidserver.engine.tender import FORMAT, Phase, TenderState
from bidserver.engine.tender import events as ev
from bidserver.engine.tender.commands import ConfirmBid, SubmitBid, WithdrawBid
from bidserver.engine.tender.records import TenderReceipt
from bidserver.engine.values import Actor, Role

from .builders import (
    BUYER, DAY, DEADLINE, DOCS, DOCS_2, ENQUIRY_END, MEAT, NAMES, OBSERVER, OPENING, OTHER_BUYER,
    PRICES, SHARES, SUPPLIERS, T0, TENDER, Run, answer, ask, bid, change, config, confirm,
    decide_award, evaluator, officer, opened, published, qualify, revise, score, share, supplier,
    tick,
    with_bids, withdraw,
)

EVERYONE = (BUYER, officer("off-1"), evaluator("ev-1"), OBSERVER, *(supplier(s) for s in SUPPLIERS))


def encoded(value) -> bytes:
    return msgspec.json.encode(value)


def shown(run: Run, actor: Actor) -> list:
    return [FORMAT.shown_to(run.state, e, actor) for e in run.log
            if FORMAT.shown_to(run.state, e, actor) is not None]


def everything_seen(run: Run, actor: Actor) -> bytes:
    """Every byte ``actor`` may be shown: its view, its own part, its listed events, history."""
    parts = [FORMAT.view(run.state, actor) if FORMAT.may_see(run.state, actor) else None,
             FORMAT.you_view(run.state, actor), shown(run, actor), FORMAT.history(run.state, actor),
             FORMAT.results(run.state, actor)]
    return encoded(parts)


def test_before_the_deadline_the_buyer_is_told_nothing_of_the_bids():
    run = with_bids()
    for actor in (BUYER, officer("off-1"), evaluator("ev-1"), OBSERVER):
        seen = everything_seen(run, actor)
        assert b"bid_submitted" not in seen and b"sup-a-1" not in seen and b"commitment" not in seen
        view = FORMAT.view(run.state, actor)
        assert view.received is None and view.opening is None
    assert not FORMAT.listed_to(run.state, run.log[-1], BUYER)  # the last submission
    assert not any(FORMAT.sees_seq(role) for role in Role)


def test_the_reverse_auctions_buyer_is_still_listed_every_event():
    folded = reverse_events.BidAccepted(at=1, bid_id="b", lot_id="L1", supplier="s", amount=1)
    assert REVERSE.delivery(folded) is Delivery.FOLDED
    assert REVERSE.listed_to(None, folded, Actor(Role.BUYER, "org"))
    assert not REVERSE.listed_to(None, folded, Actor(Role.OBSERVER, "org"))


def test_a_supplier_is_listed_its_own_submission_with_its_commitment_and_not_the_ciphertext():
    run = published()
    command = bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1)
    (event,) = run.do(command)
    mine = FORMAT.shown_to(run.state, event, supplier("sup-a"))
    assert mine == {"type": "bid_submitted", "at": T0 + 1, "supplier": "sup-a", "bid_id": "a1",
                    "commitment": command.commitment, "replaces": None, "user": "sup-a-person",
                    "signature": None}
    for actor in EVERYONE:
        if actor != supplier("sup-a"):
            assert FORMAT.shown_to(run.state, event, actor) is None


def numbers_in(value) -> set[int]:
    """Every number a JSON value holds, as a number or as a string of digits: where a size would
    show. (As a substring of the bytes it was also found inside a random hash's hex digits.)"""
    if isinstance(value, dict):
        return set().union(*map(numbers_in, value.values()), set())
    if isinstance(value, list):
        return set().union(*map(numbers_in, value), set())
    if isinstance(value, int) and not isinstance(value, bool):
        return {value}
    return {int(value)} if isinstance(value, str) and value.isdigit() else set()


def test_the_sealed_bytes_and_their_size_are_in_no_view_or_listed_event():
    run = opened()
    blobs = [b.sealed for by in run.state.bids.values() for b in by.values()]
    for actor in EVERYONE:
        seen = everything_seen(run, actor)
        numbers = numbers_in(msgspec.json.decode(seen))
        for blob in blobs:
            assert blob not in seen and base64.b64encode(blob) not in seen
            assert len(blob) not in numbers


def test_the_opening_record_and_key_go_to_every_participant_at_once():
    run = opened()
    opening = next(e for e in run.log if type(e) is ev.TenderOpened)
    assert FORMAT.delivery(opening) is Delivery.URGENT
    for actor in EVERYONE:
        record = FORMAT.view(run.state, actor).opening.record
        assert record == tuple(run.state.record)
        assert [line.name for line in record] == [NAMES[s] for s in SUPPLIERS]
        assert record[1].prices == (ev.LotPrice(lot_id="L1", price=3_800_000),)
        listed = FORMAT.shown_to(run.state, opening, actor)
        data = msgspec.json.decode(encoded(listed))
        assert base64.b64decode(data["private_key"]) == run.state.private_key
        assert ("officers" in data) is (actor.role is Role.BUYER)
        # The record travels once, in the view that comes with the event; the buyer's event is
        # the journal's own.
        assert ("record" in data) is (actor.role is Role.BUYER)
        if actor.role is not Role.BUYER:
            assert data["bids"] == len(record)


def test_a_share_is_never_shown_and_its_officer_only_to_the_buyer():
    run = with_bids().close().start_opening()
    (accepted,) = run.do(share("off-1", 0, OPENING + 1))
    for actor in EVERYONE:
        seen = encoded(FORMAT.shown_to(run.state, accepted, actor))
        assert SHARES[0].encode() not in seen and b"presented" in seen
        assert (b"off-1" in seen) is (actor.role is Role.BUYER)
        assert FORMAT.view(run.state, actor).shares_presented == 1


def test_questions_reach_the_buyer_with_the_asker_and_everyone_without():
    run = published()
    (asked,) = run.do(ask("sup-b", "q1", "Rail delivery?", T0 + 1))
    assert FORMAT.shown_to(run.state, asked, BUYER) == asked
    assert FORMAT.shown_to(run.state, asked, supplier("sup-b")) == asked
    assert FORMAT.shown_to(run.state, asked, supplier("sup-a")) is None
    assert FORMAT.shown_to(run.state, asked, OBSERVER) is None
    (answered,) = run.do(answer("sup-b", "q1", "Yes.", T0 + 2))
    public = FORMAT.shown_to(run.state, answered, supplier("sup-a"))
    assert public == {"type": "question_answered", "at": T0 + 2, "number": 1,
                      "question": "Rail delivery?", "answer": "Yes."}
    assert FORMAT.shown_to(run.state, answered, supplier("sup-b"))["yours"] is True
    for actor in (supplier("sup-a"), OBSERVER):
        assert b"sup-b" not in everything_seen(run, actor)
    assert FORMAT.view(run.state, BUYER).buyer.questions[0].supplier == "sup-b"
    assert FORMAT.you_view(run.state, supplier("sup-b")).questions[0].answer == "Yes."


def test_a_refusal_is_listed_to_its_author_and_to_the_buyer_only_when_late():
    run = published()
    early = run.try_(SubmitBid(actor=supplier("sup-a"), at=T0 + 1, bid_id="x", sealed=b"4000000",
                               commitment="sha256:0")).events[0]
    late = run.try_(bid("sup-b", "y", {"L1": 1}, DEADLINE)).events[0]
    assert FORMAT.shown_to(run.state, early, BUYER) is None
    assert FORMAT.shown_to(run.state, late, BUYER) == late
    assert FORMAT.shown_to(run.state, early, supplier("sup-a"))["reason"] == "not_sealed"
    assert FORMAT.shown_to(run.state, late, supplier("sup-a")) is None
    assert [row["bid_id"] for row in FORMAT.history(run.state, BUYER)] == ["y"]


def test_who_may_see_a_tender():
    run = Run()
    assert not FORMAT.may_see(run.state, supplier("sup-a"))  # a draft is the buyer's
    assert FORMAT.may_see(run.state, BUYER) and FORMAT.may_see(run.state, OBSERVER)
    run.publish()
    assert FORMAT.may_see(run.state, supplier("sup-a"))
    assert not FORMAT.may_see(run.state, supplier("sup-z"))
    assert not FORMAT.may_see(run.state, OTHER_BUYER)
    assert not FORMAT.may_see(TenderState.new(TENDER), BUYER)
    with pytest.raises(ValueError):
        FORMAT.view(run.state, OTHER_BUYER)


def test_the_buyers_people_stay_the_buyers():
    run = published()
    created = run.log[0]
    for actor in (supplier("sup-a"), OBSERVER):
        seen = encoded(FORMAT.shown_to(run.state, created, actor)) + encoded(FORMAT.view(run.state, actor))
        assert b"off-1" not in seen and b"ev-1" not in seen and b"clerk" not in seen
        assert FORMAT.view(run.state, actor).buyer is None
    assert FORMAT.view(run.state, BUYER).buyer.officers == ("off-1", "off-2", "off-3")


def test_a_supplier_sees_its_bid_and_when_it_needs_confirming():
    run = published()
    command = bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1)
    run.do(command)
    mine = FORMAT.you_view(run.state, supplier("sup-a"))
    assert (mine.bid.bid_id, mine.bid.commitment, mine.bid.received_at, mine.bid.needs_confirmation) == (
        "a1", command.commitment, T0 + 1, False)
    run.do(change(T0 + 2))
    assert FORMAT.you_view(run.state, supplier("sup-a")).bid.needs_confirmation
    run.do(confirm("sup-a", "a1", T0 + 3))
    assert not FORMAT.you_view(run.state, supplier("sup-a")).bid.needs_confirmation
    assert FORMAT.you_view(run.state, supplier("sup-b")).bid is None
    assert FORMAT.you_view(run.state, BUYER) is None


def test_receipts_for_each_kind_and_the_same_for_a_resend():
    run = published()
    first = bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1)
    run.do(first)
    expected = TenderReceipt(tender_id=TENDER, supplier="sup-a", kind=ev.SubmissionKind.SUBMITTED,
                             bid_id="a1", commitment=first.commitment, received_at=T0 + 1,
                             documents_hash=DOCS)
    assert FORMAT.receipt(run.state, first) == expected
    resend = SubmitBid(actor=first.actor, at=T0 + 9, bid_id="a1", sealed=first.sealed,
                       commitment=first.commitment)
    assert FORMAT.receipt(run.state, resend) == expected
    second = revise("sup-a", "a2", "a1", {"L1": 3_900_000}, T0 + 2)
    run.do(second)
    assert FORMAT.receipt(run.state, second).kind is ev.SubmissionKind.REVISED
    run.do(change(T0 + 3))
    run.do(confirm("sup-a", "a2", T0 + 4))
    confirmed = FORMAT.receipt(run.state, ConfirmBid(actor=first.actor, at=T0 + 5, bid_id="a2",
                                                     documents_hash=DOCS_2))
    assert (confirmed.kind, confirmed.received_at, confirmed.documents_hash) == (
        ev.SubmissionKind.CONFIRMED, T0 + 4, DOCS_2)
    run.do(withdraw("sup-a", "a2", T0 + 6))
    gone = FORMAT.receipt(run.state, WithdrawBid(actor=first.actor, at=T0 + 7, bid_id="a2"))
    assert (gone.kind, gone.commitment, gone.received_at) == (
        ev.SubmissionKind.WITHDRAWN, second.commitment, T0 + 6)
    assert FORMAT.receipt(run.state, tick(T0)) is None


def test_the_history_is_a_suppliers_own_and_everyones_after_the_opening():
    run = with_bids()
    assert FORMAT.history(run.state, BUYER) == [] and FORMAT.history(run.state, OBSERVER) == []
    assert [row["supplier"] for row in FORMAT.history(run.state, supplier("sup-b"))] == ["sup-b"]
    run.close().start_opening().open()
    rows = FORMAT.history(run.state, OBSERVER)
    assert [row["supplier"] for row in rows] == list(SUPPLIERS) and "user" not in rows[0]
    assert FORMAT.history(run.state, BUYER)[0]["user"] == "sup-a-person"


def test_results_are_the_buyers_and_empty_before_the_opening():
    run = with_bids()
    assert FORMAT.results(run.state, supplier("sup-a")) is None
    assert FORMAT.results(run.state, OTHER_BUYER) is None
    assert FORMAT.results(run.state, BUYER).rows == []
    run.close().start_opening().open()
    for party in SUPPLIERS:
        run.do(qualify(party, OPENING + DAY))
    run.do(decide_award(OPENING + DAY))
    rows = FORMAT.results(run.state, BUYER).rows
    assert [(r[1], r[3], r[5], r[11], r[14]) for r in rows] == [
        ("L1", "sup-a", "40000.00", 2, ""), ("L2", "sup-a", "15000.00", 2, ""),
        ("L1", "sup-b", "38000.00", 1, "decided"),
        ("L1", "sup-c", "42000.00", 3, ""), ("L2", "sup-c", "14000.00", 1, "decided")]


def test_an_evaluators_scores_are_hidden_from_the_others_until_all_have_scored():
    run = opened(config(award=MEAT))
    for party in SUPPLIERS:
        run.do(qualify(party, OPENING + 1))
    run.do(score("ev-1", "sup-a", "quality", 77, OPENING + 2))
    mine = FORMAT.view(run.state, evaluator("ev-1")).evaluator.scores
    assert [(s.supplier, s.criterion, s.score) for s in mine] == [("sup-a", "quality", 77)]
    assert FORMAT.view(run.state, evaluator("ev-2")).evaluator.scores == ()
    shared = FORMAT.audience_view(run.state, Role.BUYER)
    assert shared.buyer.scores is None and shared.evaluator is None
    assert [(p.evaluator, p.given, p.expected) for p in shared.buyer.progress] == [
        ("ev-1", 1, 6), ("ev-2", 0, 6)]
    assert all(FORMAT.shown_to(run.state, e, BUYER) is None for e in run.log if type(e) is ev.ScoreGiven)
    for user in ("ev-1", "ev-2"):
        for party in SUPPLIERS:
            for criterion in ("quality", "delivery"):
                run.do(score(user, party, criterion, 50, OPENING + 3))
    assert len(FORMAT.audience_view(run.state, Role.BUYER).buyer.scores) == 12


def test_abnormally_low_flags_are_the_buyers():
    prices = {"sup-a": {"L1": 4_000_000}, "sup-b": {"L1": 2_000_000}, "sup-c": {"L1": 4_200_000}}
    run = opened(prices=prices)
    assert FORMAT.view(run.state, BUYER).buyer.flagged[0].suppliers == ("sup-b",)
    for party in SUPPLIERS:
        run.do(qualify(party, OPENING + 1))
    (decided,) = run.do(decide_award(OPENING + 2))
    assert FORMAT.view(run.state, BUYER).decision.lots[0].ranking[0].abnormally_low
    for actor in (supplier("sup-a"), OBSERVER):
        assert not any(r.abnormally_low for r in FORMAT.view(run.state, actor).decision.lots[0].ranking)
        listed = FORMAT.shown_to(run.state, decided, actor)
        assert not any(r["abnormally_low"] for lot in listed["lots"] for r in lot["ranking"])


def test_the_deadlines_the_timer_is_set_to():
    run = Run()
    assert FORMAT.next_deadline(run.state) is None
    run.publish()
    assert FORMAT.next_deadline(run.state) == ENQUIRY_END
    run.do(tick(ENQUIRY_END))
    assert FORMAT.next_deadline(run.state) == DEADLINE
    for party, offer in PRICES.items():
        run.do(bid(party, "x", offer, DEADLINE - 1))
    run.close()
    assert FORMAT.next_deadline(run.state) == OPENING
    run.start_opening()
    assert FORMAT.next_deadline(run.state) is None and run.state.phase is Phase.OPENING
