"""The opening, the evaluation and the award of a sealed tender: k of n officers' shares open every
bid (those that do not open are reported, the others opened), qualification, scores, the award
decision by the published formula, the standstill and its complaints, the final award, and a
cancellation at any stage before it. ``refused`` also checks that a refusal leaves the state
untouched."""

from __future__ import annotations

import pytest

from bidserver.engine.rejections import Reason
from bidserver.engine.tender import Phase
from bidserver.engine.tender import events as ev
from bidserver.engine.tender.commands import PresentShare
from bidserver.engine.tender.views import view_for

from .builders import (
    BUYER, DAY, DEADLINE, MEAT, NAMES, OBSERVER, OPENING, OTHER_PUBLIC, OTHER_SHARES, SHARES,
    STAGES, STANDSTILL_END, T0, Run, bid, cancel, complain, config, decide_award, decided,
    of_type, officer, opened, published, qualified, qualify, refused, resolve, schedule,
    score, share, stage, submit, supplier, tick, with_bids,
)


# ================================================================== the opening


def test_a_share_before_the_opening_time_is_refused_and_recorded_without_the_share():
    run = with_bids().close()
    outcome = run.try_(share("off-1", 0, OPENING - 1))
    assert outcome.rejection.reason is Reason.OPENING_NOT_DUE
    (record,) = outcome.events
    assert record == ev.ShareRefused(at=OPENING - 1, officer="off-1", party="org-buyer",
                                     role=BUYER.role, reason=Reason.OPENING_NOT_DUE,
                                     detail=outcome.rejection.detail)
    assert SHARES[0] not in repr(record)
    assert run.try_(share("off-1", 0, T0 + 1)).rejection.reason is Reason.OPENING_NOT_DUE


@pytest.mark.parametrize("actor", [BUYER, officer("ev-1"), supplier("sup-a"), OBSERVER])
def test_only_officers_present_shares(actor):
    run = with_bids().close().start_opening()
    command = share("off-1", 0, OPENING + 1)
    outcome = run.try_(PresentShare(actor=actor, at=command.at, share=command.share))
    assert outcome.rejection.reason is Reason.FORBIDDEN
    assert type(outcome.events[0]) is ev.ShareRefused  # an attempt, recorded


def test_k_minus_one_shares_open_nothing_and_the_kth_opens_every_bid():
    run = with_bids().close().start_opening()
    (accepted,) = run.do(share("off-2", 1, OPENING + 1))
    assert (accepted.officer, accepted.presented) == ("off-2", 1)
    assert run.state.phase is Phase.OPENING and run.state.private_key is None
    events = run.do(share("off-3", 2, OPENING + 2))
    opened_event = of_type(events, ev.TenderOpened)[0]
    assert opened_event.officers == ("off-2", "off-3")
    assert run.state.phase is Phase.EVALUATION and run.state.shares == {}
    assert run.state.private_key == opened_event.private_key
    assert [(line.supplier, line.name, line.prices, line.failed) for line in opened_event.record] == [
        ("sup-a", NAMES["sup-a"], (ev.LotPrice("L1", 4_000_000), ev.LotPrice("L2", 1_500_000)), None),
        ("sup-b", NAMES["sup-b"], (ev.LotPrice("L1", 3_800_000),), None),
        ("sup-c", NAMES["sup-c"], (ev.LotPrice("L1", 4_200_000), ev.LotPrice("L2", 1_400_000)), None),
    ]
    assert all(line.commitment == run.state.bids[line.supplier][line.bid_id].commitment
               for line in opened_event.record)


def test_share_refusals():
    run = with_bids().close().start_opening()
    run.do(share("off-1", 0, OPENING + 1))
    assert run.try_(share("off-1", 1, OPENING + 2)).rejection.reason is Reason.ALREADY_PRESENTED
    assert run.try_(share("off-2", 0, OPENING + 2)).rejection.reason is Reason.INVALID_SHARE  # index 1 again
    malformed = PresentShare(actor=officer("off-2"), at=OPENING + 3, share="4000000 EUR")
    assert run.try_(malformed).rejection.reason is Reason.INVALID_SHARE
    assert run.state.phase is Phase.OPENING


def test_a_bad_share_does_not_block_k_good_ones():
    run = with_bids().close().start_opening()
    run.do(share("off-1", 0, OPENING + 1, shares=OTHER_SHARES))  # a share of another key
    events = run.do(share("off-2", 1, OPENING + 2))
    assert of_type(events, ev.SharesMismatch)[0].officers == ("off-1", "off-2")
    assert run.state.phase is Phase.OPENING and run.state.mismatch == ("off-1", "off-2")
    events = run.do(share("off-3", 2, OPENING + 3))
    assert of_type(events, ev.TenderOpened)[0].officers == ("off-2", "off-3")


def test_a_share_at_the_opening_time_before_its_tick_opens():
    """The opening at the deadline itself (China): the share's own time moves the tender on."""
    cfg = config(schedule=schedule(opening_at=DEADLINE))
    run = with_bids(cfg)
    events = run.do(share("off-1", 0, DEADLINE))
    assert [type(e) for e in events] == [
        ev.EnquiriesClosed, ev.SubmissionClosed, ev.OpeningStarted, ev.ShareAccepted]
    run.do(share("off-2", 1, DEADLINE + 1))
    assert run.state.phase is Phase.EVALUATION


def test_bids_that_do_not_open_are_reported_as_such_and_the_others_opened():
    run = published(config(bid_security=10_000))
    run.do(bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1, security="BG-2026-001"))
    run.do(bid("sup-b", "b1", {"L1": 3_800_000}, T0 + 2, public=OTHER_PUBLIC))  # another key
    copied = run.state.bids["sup-a"]["a1"].sealed  # another supplier's blob, handed in as its own
    run.do(submit("sup-c", "c1", copied, T0 + 3))
    run.close().start_opening().open()
    failed = {line.supplier: line.failed for line in run.state.record}
    assert failed["sup-a"] is None
    assert failed["sup-b"].startswith("does not decrypt")
    assert failed["sup-c"] == "sealed by another supplier"


@pytest.mark.parametrize(("kw", "prices", "why"), [
    ({"tender": "tnd-other"}, {"L1": 1}, "does not decrypt"),
    ({"currency": "USD"}, {"L1": 1}, "priced in USD"),
    ({}, {"L9": 1}, "unknown or priced twice"),
    ({}, {"L1": 0}, "must be positive"),
    ({}, {}, "prices no lot"),
])
def test_what_an_opened_bid_must_be(kw, prices, why):
    run = published()
    run.do(bid("sup-a", "a1", prices, T0 + 1, **kw))
    run.do(bid("sup-b", "b1", {"L1": 3_800_000}, T0 + 2))
    run.close().start_opening().open()
    assert why in run.state.record[0].failed and run.state.record[1].failed is None


def test_a_required_bid_security_must_be_named():
    run = published(config(bid_security=10_000))
    run.do(bid("sup-a", "a1", {"L1": 4_000_000}, T0 + 1))
    run.close().start_opening().open()
    assert "bid security" in run.state.record[0].failed
    assert run.state.phase is Phase.UNSUCCESSFUL and run.state.ended_reason == "no bid opened"


# ================================================================== evaluation and award


def test_qualification_needs_a_reason_to_disqualify_and_an_opened_bid():
    run = opened()
    assert refused(run.state, qualify("sup-a", OPENING + 5, valid=False)).reason is Reason.REASON_REQUIRED
    assert refused(run.state, qualify("sup-z", OPENING + 5)).reason is Reason.UNKNOWN_BID
    run.do(qualify("sup-a", OPENING + 5, valid=False, reason="expired certificate"))
    run.do(qualify("sup-a", OPENING + 6))  # the buyer may change its mind before deciding
    assert run.state.qualifications["sup-a"].status == "valid"


def test_lowest_price_ranks_each_lot_and_starts_the_standstill():
    run = qualified(opened())
    (decided,) = run.do(decide_award(OPENING + 2 * DAY))
    assert [(lot.lot_id, lot.winner, lot.price) for lot in decided.lots] == [
        ("L1", "sup-b", 3_800_000), ("L2", "sup-c", 1_400_000)]
    assert [r.supplier for r in decided.lots[0].ranking] == ["sup-b", "sup-a", "sup-c"]
    assert decided.standstill_ends_at == OPENING + 2 * DAY + 10 * DAY
    assert run.state.phase is Phase.STANDSTILL


def test_the_award_needs_every_bid_qualified_first():
    run = opened()
    run.do(qualify("sup-a", OPENING + 5))
    assert refused(run.state, decide_award(OPENING + 6)).reason is Reason.EVALUATION_INCOMPLETE


def test_a_disqualified_bid_is_not_ranked():
    run = opened()
    run.do(qualify("sup-a", OPENING + 5))
    run.do(qualify("sup-b", OPENING + 5, valid=False, reason="no ISO 9001 certificate"))
    run.do(qualify("sup-c", OPENING + 5))
    (decided,) = run.do(decide_award(OPENING + 6))
    assert [r.supplier for r in decided.lots[0].ranking] == ["sup-a", "sup-c"]


def test_no_valid_bid_is_unsuccessful():
    run = opened()
    for party in ("sup-a", "sup-b", "sup-c"):
        run.do(qualify(party, OPENING + 5, valid=False, reason="late bank guarantee"))
    assert run.do(decide_award(OPENING + 6)) == [ev.TenderUnsuccessful(at=OPENING + 6, reason="no valid bid")]


SCORES = {  # evaluator -> supplier -> (quality, delivery)
    "ev-1": {"sup-a": (80, 50), "sup-b": (60, 100), "sup-c": (90, 90)},
    "ev-2": {"sup-a": (100, 50), "sup-b": (60, 80), "sup-c": (70, 70)},
}


def scored(run: Run, at: int = OPENING + DAY) -> Run:
    for user, by_supplier in SCORES.items():
        for party, (quality, delivery) in by_supplier.items():
            run.do(score(user, party, "quality", quality, at))
            run.do(score(user, party, "delivery", delivery, at))
    return run


def test_meat_ranks_by_the_published_formula_and_explains_each_criterion():
    """L1: sup-a 57 + 27 + 5 = 89; sup-b 60 + 18 + 9 = 87; sup-c 54.29 + 24 + 8 = 86.29.
    L2: sup-c 60 + 24 + 8 = 92; sup-a 56 + 27 + 5 = 88."""
    run = scored(qualified(opened(config(award=MEAT))))
    (decided,) = run.do(decide_award(OPENING + 2 * DAY))
    l1, l2 = decided.lots
    assert [(r.supplier, r.total) for r in l1.ranking] == [("sup-a", 8900), ("sup-b", 8700), ("sup-c", 8629)]
    assert l1.ranking[2].points == (ev.Points("price", 5429), ev.Points("quality", 2400),
                                    ev.Points("delivery", 800))
    assert (l1.winner, l1.price) == ("sup-a", 4_000_000)
    assert [(r.supplier, r.total) for r in l2.ranking] == [("sup-c", 9200), ("sup-a", 8800)]


def test_scoring_rules():
    run = qualified(opened(config(award=MEAT)))
    at = OPENING + DAY
    assert refused(run.state, score("off-1", "sup-a", "quality", 50, at)).reason is Reason.FORBIDDEN
    assert refused(run.state, score("ev-1", "sup-a", "price", 50, at)).reason is Reason.INVALID_SCORE
    assert refused(run.state, score("ev-1", "sup-a", "quality", 101, at)).reason is Reason.INVALID_SCORE
    assert refused(run.state, score("ev-1", "sup-z", "quality", 50, at)).reason is Reason.UNKNOWN_BID
    assert refused(run.state, decide_award(at)).reason is Reason.EVALUATION_INCOMPLETE
    run.do(score("ev-1", "sup-a", "quality", 40, at))
    run.do(score("ev-1", "sup-a", "quality", 80, at))  # changed while the scores are hidden
    scored(run)
    assert refused(run.state, score("ev-1", "sup-a", "quality", 10, at)).reason is Reason.INVALID_SCORE
    assert run.do(score("ev-1", "sup-a", "quality", 80, at)) == []  # a resend


def test_abnormally_low_prices_are_flagged_in_the_ranking():
    prices = {"sup-a": {"L1": 4_000_000}, "sup-b": {"L1": 2_000_000}, "sup-c": {"L1": 4_200_000}}
    run = qualified(opened(prices=prices))
    (decided,) = run.do(decide_award(OPENING + 2 * DAY))
    assert [(r.supplier, r.abnormally_low) for r in decided.lots[0].ranking] == [
        ("sup-b", True), ("sup-a", False), ("sup-c", False)]
    assert decided.lots[1].winner is None and decided.lots[1].ranking == ()


def test_equal_prices_rank_the_earlier_bid_first():
    prices = {"sup-c": {"L1": 3_000_000}, "sup-a": {"L1": 3_000_000}, "sup-b": {"L1": 4_000_000}}
    run = qualified(opened(prices=prices))
    (decided,) = run.do(decide_award(OPENING + DAY))
    assert [r.supplier for r in decided.lots[0].ranking] == ["sup-c", "sup-a", "sup-b"]


def test_the_standstill_ends_in_the_final_award():
    run = decided()
    assert run.do(tick(STANDSTILL_END - 1)) == []
    (final,) = run.do(tick(STANDSTILL_END))
    assert final == ev.AwardFinal(at=STANDSTILL_END, awards=(
        ev.FinalAward(lot_id="L1", award_id="tnd-1:L1", supplier="sup-b", price=3_800_000),
        ev.FinalAward(lot_id="L2", award_id="tnd-1:L2", supplier="sup-c", price=1_400_000)))
    assert run.state.phase is Phase.AWARDED and run.state.finished


def test_a_complaint_holds_the_standstill_until_resolved_then_it_runs_its_rest():
    run = decided()
    run.do(complain("sup-a", "c1", STANDSTILL_END - DAY))
    assert run.do(tick(STANDSTILL_END + 5 * DAY)) == []  # held
    (resolved,) = run.do(resolve("sup-a", "c1", STANDSTILL_END + 5 * DAY))
    assert resolved.standstill_ends_at == STANDSTILL_END + 6 * DAY  # the day it had left
    for actor in (BUYER, supplier("sup-a")):  # the views tell the end as it stands now
        decision = view_for(run.state, actor).decision
        assert (decision.standstill_ends_at, decision.held) == (STANDSTILL_END + 6 * DAY, False)
    assert run.do(tick(STANDSTILL_END + 6 * DAY - 1)) == []
    assert type(run.do(tick(STANDSTILL_END + 6 * DAY))[0]) is ev.AwardFinal


def test_an_upheld_complaint_withdraws_the_decision():
    run = decided()
    run.do(complain("sup-a", "c1", STANDSTILL_END - DAY))
    run.do(complain("sup-c", "c1", STANDSTILL_END - DAY + 1))
    (resolved,) = run.do(resolve("sup-a", "c1", STANDSTILL_END, upheld=True,
                                 resolution="sup-b's bid lacks a licence"))
    assert resolved.standstill_ends_at is None
    assert run.state.phase is Phase.EVALUATION and run.state.decision is None
    assert run.state.open_complaints() == []
    run.do(qualify("sup-b", STANDSTILL_END + 1, valid=False, reason="no licence"))
    (again,) = run.do(decide_award(STANDSTILL_END + 2))
    assert again.lots[0].winner == "sup-a"


def test_complaint_refusals():
    run = decided()
    assert refused(run.state, complain("sup-z", "c1", STANDSTILL_END - 1)).reason is Reason.FORBIDDEN
    assert refused(run.state, complain("sup-a", "c1", STANDSTILL_END)).reason is Reason.WRONG_PHASE  # ended
    run.do(complain("sup-a", "c1", STANDSTILL_END - 1))
    assert run.do(complain("sup-a", "c1", STANDSTILL_END)) == []  # a resend
    assert refused(run.state, resolve("sup-a", "c9", STANDSTILL_END)).reason is Reason.UNKNOWN_COMPLAINT
    blank = resolve("sup-a", "c1", STANDSTILL_END, resolution=" ")
    assert refused(run.state, blank).reason is Reason.REASON_REQUIRED


@pytest.mark.parametrize("stage", ["draft", "published", "closed", "opening", "evaluation", "standstill"])
def test_a_cancellation_needs_a_reason_and_ends_the_tender_at_any_stage(stage):
    run = STAGES[stage]()
    assert refused(run.state, cancel(OPENING + 3 * DAY, reason="")).reason is Reason.REASON_REQUIRED
    run.do(cancel(OPENING + 3 * DAY))
    assert run.state.phase is Phase.CANCELLED and run.state.ended_reason == "budget withdrawn"
    assert refused(run.state, cancel(OPENING + 4 * DAY)).reason is Reason.WRONG_PHASE

