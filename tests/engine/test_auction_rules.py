"""Every rule of a reverse auction, decided by the pure engine with the time passed in."""

from __future__ import annotations

import pytest

from bidserver.engine.reverse import AuctionState, Phase, decide, next_deadline
from bidserver.engine.reverse import events as ev
from bidserver.engine.reverse.commands import (
    AwardLot,
    CancelAuction,
    CreateAuction,
    ExtendAuction,
    InviteSupplier,
    PauseAuction,
    PlaceBid,
    ResumeAuction,
    StartAuction,
    UpdateConfig,
    VoidBid,
)
from bidserver.engine.rejections import Reason
from bidserver.engine.reverse.state import LotPhase
from bidserver.engine.reverse.values import (
    AwardMode,
    BidRule,
    Decrement,
    DecrementKind,
    LotCloseMode,
    SoftClose,
    SoftCloseTrigger,
    TieRule,
    Visibility,
)

from .builders import (
    handle,
    BUYER,
    OBSERVER,
    OTHER_BUYER,
    T0,
    bid,
    config,
    draft,
    lot,
    ok,
    opened,
    supplier,
    tick,
)


def refused(state: AuctionState, command) -> Reason:
    before = state.seq
    decision = decide(state, command)
    assert not isinstance(decision, list), f"accepted: {decision}"
    assert state.seq == before  # decide never mutates
    return decision.reason


# ------------------------------------------------------------------ lifecycle and the table


def test_a_table_miss_names_the_command_and_the_phase():
    state = opened()
    decision = decide(state, StartAuction(actor=BUYER, at=T0 + 1))
    assert decision.reason is Reason.ALREADY_STARTED
    assert "StartAuction" in decision.detail and "open" in decision.detail
    assert refused(AuctionState.new("x"), bid("sup-a", 1, T0)) is Reason.UNKNOWN_AUCTION
    assert refused(state, UpdateConfig(actor=BUYER, at=T0, config=config())) is Reason.CONFIG_LOCKED
    assert refused(state, ResumeAuction(actor=BUYER, at=T0)) is Reason.NOT_PAUSED
    assert refused(state, AwardLot(actor=BUYER, at=T0, lot_id="L1")) is Reason.LOT_NOT_CLOSED


def test_invalid_configurations_are_refused_with_a_reason():
    bad = [
        config(currency="euro"),
        config(lots=()),
        config(lots=(lot("L1"), lot("L1"))),
        config(lots=(lot(ceiling=0),)),
        config(lots=(lot(ceiling=100, reserve=200),)),
        config(duration_ms=0),
        config(decrement=Decrement(DecrementKind.PERCENT, 10_001)),
        config(lot_close=LotCloseMode.STAGGERED, lots=(lot("L1"), lot("L2")), stagger_ms=0),
        config(soft_close=SoftClose(window_ms=0, extension_ms=1)),
        config(fat_finger_bp=0),
    ]
    for cfg in bad:
        state = AuctionState.new("auc-1")
        assert refused(state, CreateAuction(actor=BUYER, at=T0, auction_id="auc-1", config=cfg)) is (
            Reason.INVALID_CONFIG
        )


def test_only_the_auctions_buyer_manages_it():
    state = opened()
    for actor in (supplier("sup-a"), OTHER_BUYER, OBSERVER):
        for command in (
            PauseAuction(actor=actor, at=T0 + 1),
            ExtendAuction(actor=actor, at=T0 + 1, by_ms=1000),
            CancelAuction(actor=actor, at=T0 + 1, reason="no"),
            InviteSupplier(actor=actor, at=T0 + 1, supplier="sup-z"),
            VoidBid(actor=actor, at=T0 + 1, bid_id="x", reason="no"),
        ):
            assert refused(state, command) is Reason.FORBIDDEN
    assert refused(AuctionState.new("auc-1"), CreateAuction(
        actor=supplier("sup-a"), at=T0, auction_id="auc-1", config=config())) is Reason.FORBIDDEN


def test_bids_before_the_start_and_after_a_cancel_are_refused():
    state = draft()
    assert refused(state, bid("sup-a", 90_000, T0)) is Reason.AUCTION_NOT_OPEN
    ok(state, StartAuction(actor=BUYER, at=T0))
    ok(state, CancelAuction(actor=BUYER, at=T0 + 1, reason="specification error"))
    assert refused(state, bid("sup-a", 90_000, T0 + 2)) is Reason.AUCTION_CANCELLED
    assert state.cancel_reason == "specification error" and state.finished
    assert refused(opened(), CancelAuction(actor=BUYER, at=T0, reason=" ")) is Reason.REASON_REQUIRED


def test_a_scheduled_start_opens_on_the_tick_and_ends_count_from_the_schedule():
    state = draft(config(start_at=T0 + 5_000))
    assert handle(state, tick(T0 + 4_999)).events == []
    events = handle(state, tick(T0 + 5_300)).events  # a late tick never lengthens the auction
    assert isinstance(events[0], ev.AuctionOpened)
    assert state.lots["L1"].end_at == T0 + 5_000 + 60_000


# ------------------------------------------------------------------ prices


def test_ceiling_invited_suppliers_and_positive_amounts():
    state = opened()
    assert refused(state, bid("sup-a", 100_001, T0 + 1)) is Reason.ABOVE_CEILING
    assert decide(state, bid("sup-a", 100_001, T0 + 1)).max_amount == 100_000
    assert refused(state, bid("sup-z", 90_000, T0 + 1)) is Reason.NOT_INVITED
    assert refused(state, bid("sup-a", 0, T0 + 1)) is Reason.INVALID_AMOUNT
    assert refused(state, bid("sup-a", 90_000, T0 + 1, lot_id="L9")) is Reason.UNKNOWN_LOT
    assert refused(state, PlaceBid(actor=OBSERVER, at=T0, lot_id="L1", amount=1, bid_id="o")) is (
        Reason.FORBIDDEN
    )
    ok(state, bid("sup-a", 100_000, T0 + 1))  # at the ceiling is fine


def test_improve_own_bid_by_an_amount_decrement():
    state = opened(config(bid_rule=BidRule.IMPROVE_OWN))
    ok(state, bid("sup-a", 90_000, T0 + 1))
    ok(state, bid("sup-b", 95_000, T0 + 2))  # worse than the leader: allowed, own first bid
    decision = decide(state, bid("sup-a", 89_950, T0 + 3))
    assert (decision.reason, decision.max_amount) == (Reason.DECREMENT_TOO_SMALL, 89_900)
    ok(state, bid("sup-a", 89_900, T0 + 3))
    ok(state, bid("sup-b", 94_900, T0 + 4))  # b improves its own, still behind


def test_beat_the_leader_by_a_percentage_rounded_up():
    # the leading price is visible, so a refusal may tell the highest acceptable amount (under
    # rank-only visibility it is withheld: see test_decide.py, rank_only refusals)
    state = opened(config(bid_rule=BidRule.BEAT_LEADER, decrement=Decrement(DecrementKind.PERCENT, 150),
                          visibility=Visibility.RANK_AND_LEADING_PRICE))
    ok(state, bid("sup-a", 90_000, T0 + 1))  # 1.5% of 90,000 = 1,350
    decision = decide(state, bid("sup-b", 88_651, T0 + 2))
    assert (decision.reason, decision.max_amount) == (Reason.DECREMENT_TOO_SMALL, 88_650)
    ok(state, bid("sup-b", 88_650, T0 + 2))
    # 1.5% of 101 is 1.515: rounded up to 2, never to 0
    small = opened(config(bid_rule=BidRule.BEAT_LEADER, decrement=Decrement(DecrementKind.PERCENT, 150),
                          lots=(lot(ceiling=1_000),), visibility=Visibility.RANK_AND_LEADING_PRICE))
    ok(small, bid("sup-a", 101, T0 + 1))
    assert decide(small, bid("sup-b", 100, T0 + 2)).max_amount == 99


def test_ties_are_refused_or_ranked_by_time():
    strict = opened(config(tie_rule=TieRule.REJECT))
    ok(strict, bid("sup-a", 90_000, T0 + 1))
    assert refused(strict, bid("sup-b", 90_000, T0 + 2)) is Reason.TIE_NOT_ALLOWED
    timed = opened(config(tie_rule=TieRule.RANK_BY_TIME))
    ok(timed, bid("sup-b", 90_000, T0 + 2))
    ok(timed, bid("sup-a", 90_000, T0 + 3))
    lot_state = timed.lots["L1"]
    assert (lot_state.rank_of("sup-b"), lot_state.rank_of("sup-a")) == (1, 2)
    assert lot_state.leader().supplier == "sup-b"


def test_fat_finger_guard_needs_a_confirmation():
    state = opened(config(fat_finger_bp=1_000))  # more than 10% below the last bid
    ok(state, bid("sup-a", 95_000, T0 + 1))
    assert refused(state, bid("sup-a", 85_000, T0 + 2)) is Reason.CONFIRMATION_REQUIRED
    ok(state, bid("sup-a", 85_500, T0 + 2))  # exactly 10%: fine
    ok(state, bid("sup-a", 50_000, T0 + 3, confirm=True))
    assert refused(state, bid("sup-b", 80_000, T0 + 4)) is Reason.CONFIRMATION_REQUIRED  # vs ceiling


def test_minimum_interval_between_a_suppliers_bids():
    state = opened(config(min_bid_interval_ms=1_000))
    ok(state, bid("sup-a", 95_000, T0 + 1))
    assert refused(state, bid("sup-a", 94_000, T0 + 500)) is Reason.RATE_LIMITED
    ok(state, bid("sup-a", 94_000, T0 + 1_001))


def test_a_resent_bid_id_makes_one_bid_and_a_reused_one_is_refused():
    state = opened()
    ok(state, bid("sup-a", 95_000, T0 + 1, bid_id="b-1"))
    seq = state.seq
    assert handle(state, bid("sup-a", 95_000, T0 + 2, bid_id="b-1")).events == []
    assert state.seq == seq
    assert refused(state, bid("sup-a", 94_000, T0 + 3, bid_id="b-1")) is Reason.DUPLICATE_BID_ID


# ------------------------------------------------------------------ closing


def test_no_bid_at_or_after_the_end_and_the_tick_closes_and_awards():
    state = opened()
    ok(state, bid("sup-a", 95_000, T0 + 1))
    ok(state, bid("sup-b", 94_000, T0 + 2))
    assert refused(state, bid("sup-c", 90_000, T0 + 60_000)) is Reason.LOT_CLOSED  # end exclusive
    events = handle(state, tick(T0 + 60_000)).events
    assert [type(e) for e in events] == [ev.LotClosed, ev.LotAwarded, ev.AuctionClosed]
    award = state.lots["L1"].award
    assert (award.supplier, award.amount, award.basis) == ("sup-b", 94_000, "lowest")
    assert award.award_id == "auc-1:L1" and state.finished
    assert refused(state, bid("sup-c", 90_000, T0 + 60_001)) is Reason.AUCTION_CLOSED


def test_a_hidden_reserve_not_met_leaves_the_award_to_the_buyer_with_a_reason():
    state = opened(config(lots=(lot(reserve=80_000),)))
    ok(state, bid("sup-a", 85_000, T0 + 1, bid_id="b-a"))
    handle(state, tick(T0 + 60_000))
    assert state.lots["L1"].phase is LotPhase.CLOSED and not state.finished
    assert refused(state, AwardLot(actor=BUYER, at=T0 + 61_000, lot_id="L1")) is Reason.REASON_REQUIRED
    ok(state, AwardLot(actor=BUYER, at=T0 + 61_000, lot_id="L1", reason="best value in the market"))
    assert state.lots["L1"].award.basis == "lowest" and state.finished


def test_the_buyer_may_award_another_bid_only_with_a_written_reason():
    state = opened(config(award_mode=AwardMode.BUYER))
    ok(state, bid("sup-a", 95_000, T0 + 1, bid_id="b-a"))
    ok(state, bid("sup-b", 94_000, T0 + 2, bid_id="b-b"))
    handle(state, tick(T0 + 60_000))
    assert state.lots["L1"].phase is LotPhase.CLOSED
    choose_a = AwardLot(actor=BUYER, at=T0 + 61_000, lot_id="L1", bid_id="b-a")
    assert refused(state, choose_a) is Reason.REASON_REQUIRED
    ok(state, AwardLot(actor=BUYER, at=T0 + 61_000, lot_id="L1", bid_id="b-a", reason="quality"))
    award = state.lots["L1"].award
    assert (award.supplier, award.basis, award.reason) == ("sup-a", "buyer_choice", "quality")
    assert refused(state, AwardLot(actor=BUYER, at=T0 + 62_000, lot_id="L1")) is Reason.ALREADY_AWARDED


def test_soft_close_extends_from_the_end_within_the_window_up_to_the_maximum():
    soft = SoftClose(window_ms=10_000, extension_ms=20_000, max_extensions=2)
    state = opened(config(soft_close=soft))
    end = T0 + 60_000
    assert len(handle(state, bid("sup-a", 95_000, end - 10_001)).events) == 1  # outside the window
    events = handle(state, bid("sup-b", 94_000, end - 10_000)).events
    assert isinstance(events[1], ev.LotExtended) and events[1].end_at == end + 20_000
    end += 20_000
    handle(state, bid("sup-a", 93_000, end - 1))
    end += 20_000
    assert state.lots["L1"].end_at == end and state.lots["L1"].extensions == 2
    assert len(handle(state, bid("sup-b", 92_000, end - 1)).events) == 1  # the maximum is reached


def test_soft_close_on_a_new_leader_only():
    soft = SoftClose(window_ms=10_000, extension_ms=20_000, trigger=SoftCloseTrigger.NEW_LEADER)
    state = opened(config(soft_close=soft))
    end = T0 + 60_000
    ok(state, bid("sup-a", 90_000, end - 50_000))
    assert len(handle(state, bid("sup-b", 95_000, end - 5_000)).events) == 1  # not leading
    assert len(handle(state, bid("sup-c", 89_000, end - 4_000)).events) == 2  # new leader


def test_staggered_lots_close_one_after_another_and_keep_their_gap():
    soft = SoftClose(window_ms=10_000, extension_ms=30_000)
    cfg = config(lots=(lot("L1"), lot("L2"), lot("L3")), lot_close=LotCloseMode.STAGGERED,
                 stagger_ms=20_000, soft_close=soft)
    state = opened(cfg)
    ends = [state.lots[i].end_at for i in ("L1", "L2", "L3")]
    assert ends == [T0 + 60_000, T0 + 80_000, T0 + 100_000]
    events = handle(state, bid("sup-a", 90_000, T0 + 55_000, lot_id="L1")).events
    pushed = {e.lot_id: e.end_at for e in events if isinstance(e, ev.LotExtended)}
    assert pushed == {"L1": T0 + 90_000, "L2": T0 + 110_000, "L3": T0 + 130_000}
    handle(state, tick(T0 + 90_000))
    assert [state.lots[i].phase for i in ("L1", "L2", "L3")] == [
        LotPhase.AWARDED, LotPhase.OPEN, LotPhase.OPEN]
    assert state.phase is Phase.OPEN
    assert refused(state, bid("sup-b", 80_000, T0 + 90_001, lot_id="L1")) is Reason.LOT_CLOSED
    ok(state, bid("sup-b", 80_000, T0 + 90_001, lot_id="L2"))


def test_parallel_lots_have_their_own_order_books():
    state = opened(config(lots=(lot("L1"), lot("L2", ceiling=50_000))))
    ok(state, bid("sup-a", 90_000, T0 + 1, lot_id="L1"))
    ok(state, bid("sup-b", 40_000, T0 + 2, lot_id="L2"))
    ok(state, bid("sup-a", 45_000, T0 + 3, lot_id="L2"))
    assert state.lots["L1"].leader().supplier == "sup-a"
    assert state.lots["L2"].leader().supplier == "sup-b" and state.lots["L2"].rank_of("sup-a") == 2
    assert state.lots["L1"].end_at == state.lots["L2"].end_at


# ------------------------------------------------------------------ buyer actions


def test_pause_refuses_bids_and_resume_gives_the_paused_time_back():
    state = opened()
    ok(state, PauseAuction(actor=BUYER, at=T0 + 10_000, reason="connectivity"))
    assert refused(state, bid("sup-a", 90_000, T0 + 11_000)) is Reason.AUCTION_PAUSED
    assert handle(state, tick(T0 + 70_000)).events == []  # no close while paused
    ok(state, ResumeAuction(actor=BUYER, at=T0 + 25_000))
    assert state.lots["L1"].end_at == T0 + 60_000 + 15_000


def test_the_buyer_extends_one_lot_or_all():
    state = opened(config(lots=(lot("L1"), lot("L2"))))
    ok(state, ExtendAuction(actor=BUYER, at=T0 + 1, by_ms=5_000, lot_id="L2"))
    assert (state.lots["L1"].end_at, state.lots["L2"].end_at) == (T0 + 60_000, T0 + 65_000)
    ok(state, ExtendAuction(actor=BUYER, at=T0 + 2, by_ms=1_000))
    assert (state.lots["L1"].end_at, state.lots["L2"].end_at) == (T0 + 61_000, T0 + 66_000)
    assert refused(state, ExtendAuction(actor=BUYER, at=T0, by_ms=0)) is Reason.INVALID_EXTENSION


def test_voiding_a_bid_recomputes_the_ranks():
    state = opened()
    ok(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    ok(state, bid("sup-a", 90_000, T0 + 2, bid_id="a2"))
    ok(state, bid("sup-b", 92_000, T0 + 3, bid_id="b1"))
    assert refused(state, VoidBid(actor=BUYER, at=T0 + 4, bid_id="a2", reason="")) is Reason.REASON_REQUIRED
    ok(state, VoidBid(actor=BUYER, at=T0 + 4, bid_id="a2", reason="typing error confirmed"))
    lot_state = state.lots["L1"]
    assert lot_state.leader().bid_id == "b1" and lot_state.best["sup-a"].bid_id == "a1"
    assert refused(state, VoidBid(actor=BUYER, at=T0 + 5, bid_id="a2", reason="x")) is Reason.ALREADY_VOIDED
    assert refused(state, VoidBid(actor=BUYER, at=T0 + 5, bid_id="zz", reason="x")) is Reason.UNKNOWN_BID


def test_a_bid_on_a_suppliers_behalf_is_recorded_as_such():
    state = opened()
    phoned = PlaceBid(actor=BUYER, at=T0 + 1, lot_id="L1", amount=93_000, bid_id="p1",
                      on_behalf_of="sup-c")
    events = ok(state, phoned).events
    assert (events[0].supplier, events[0].entered_by) == ("sup-c", "org-buyer")
    assert state.bids["p1"].entered_by == "org-buyer"
    not_invited = PlaceBid(actor=BUYER, at=T0 + 2, lot_id="L1", amount=92_000, bid_id="p2",
                           on_behalf_of="sup-z")
    assert refused(state, not_invited) is Reason.NOT_INVITED
    spoof = PlaceBid(actor=supplier("sup-a"), at=T0 + 3, lot_id="L1", amount=92_000, bid_id="p3",
                     on_behalf_of="sup-b")
    assert refused(state, spoof) is Reason.FORBIDDEN


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_has_a_machine_readable_value(reason):
    assert reason.value == reason.value.lower() and " " not in reason.value


def test_staggered_lots_are_awarded_by_the_buyer_lot_by_lot():
    cfg = config(lots=(lot("L1"), lot("L2")), lot_close=LotCloseMode.STAGGERED, stagger_ms=30_000,
                 award_mode=AwardMode.BUYER)
    state = opened(cfg)
    ok(state, bid("sup-a", 90_000, T0 + 1, lot_id="L1", bid_id="a1"))
    handle(state, tick(T0 + 60_000))  # L1 closes; L2 runs 30 s more
    assert state.phase is Phase.OPEN and state.lots["L1"].phase is LotPhase.CLOSED
    assert refused(state, AwardLot(actor=BUYER, at=T0 + 61_000, lot_id="L2")) is Reason.LOT_NOT_CLOSED
    ok(state, AwardLot(actor=BUYER, at=T0 + 61_000, lot_id="L1"))
    assert state.lots["L1"].award.bid_id == "a1" and state.lots["L2"].phase is LotPhase.OPEN


def test_a_cancel_after_a_staggered_award_ends_the_other_lots_and_keeps_the_award():
    """An award already went to contract signing (the awards stream): the cancel stops what is
    still running, it does not take back a published award, and nothing can be bid or awarded
    after it."""
    cfg = config(lots=(lot("L1"), lot("L2")), lot_close=LotCloseMode.STAGGERED, stagger_ms=30_000)
    state = opened(cfg)
    ok(state, bid("sup-a", 90_000, T0 + 1, lot_id="L1", bid_id="a1"))
    ok(state, bid("sup-b", 90_000, T0 + 2, lot_id="L2", bid_id="b1"))
    handle(state, tick(T0 + 60_000))  # L1 closes and is awarded; L2 runs 30 s more
    assert state.lots["L1"].award.bid_id == "a1"
    ok(state, CancelAuction(actor=BUYER, at=T0 + 61_000, reason="budget withdrawn"))
    assert state.phase is Phase.CANCELLED and state.lots["L1"].award.bid_id == "a1"
    assert state.lots["L2"].award is None
    assert refused(state, bid("sup-b", 80_000, T0 + 62_000, lot_id="L2")) is Reason.AUCTION_CANCELLED
    assert refused(state, AwardLot(actor=BUYER, at=T0 + 91_000, lot_id="L2")) is not None
    assert next_deadline(state) is None


def test_of_two_equal_bids_the_later_is_a_buyer_choice_with_a_reason():
    state = opened(config(tie_rule=TieRule.RANK_BY_TIME, award_mode=AwardMode.BUYER))
    ok(state, bid("sup-a", 90_000, T0 + 1, bid_id="first"))
    ok(state, bid("sup-b", 90_000, T0 + 2, bid_id="later"))
    handle(state, tick(T0 + 60_000))
    later = AwardLot(actor=BUYER, at=T0 + 61_000, lot_id="L1", bid_id="later")
    assert refused(state, later) is Reason.REASON_REQUIRED
    ok(state, AwardLot(actor=BUYER, at=T0 + 61_000, lot_id="L1", bid_id="later", reason="local"))
    assert state.lots["L1"].award.basis == "buyer_choice"
