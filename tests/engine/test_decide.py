"""``decide`` (through ``handle``): every rule of the reverse auction, with the time passed in.

Each section is one rule of the issue: lots, prices, ties, closing, buyer actions, the fat-finger
guard, awards, and the rejections (a reason for every refusal; a table miss names command and
phase). ``refused`` also checks that a refusal leaves the state untouched, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest

from bidserver.engine.reverse import AuctionState, LotPhase, Phase, decide, replay, state_bytes
from bidserver.engine.reverse import events as ev
from bidserver.engine.reverse.commands import (
    AcceptTerms,
    ApproveAward,
    CreateAuction,
    InviteSupplier,
    PlaceBid,
    StartAuction,
    Tick,
    UpdateConfig,
)
from bidserver.engine.rejections import Reason
from bidserver.engine.values import Actor
from bidserver.engine.reverse.values import (
    SYSTEM,
    AwardMode,
    BidRule,
    Decrement,
    DecrementKind,
    LotCloseMode,
    Role,
    SoftClose,
    SoftCloseTrigger,
    TieRule,
    Visibility,
)

from .tender.builders import TENDER_REASONS  # reached by the tender's own tests
from .admission.builders import ADMISSION_REASONS, SERVICE_REASONS  # reached elsewhere
from .builders import (
    handle,
    BUYER,
    OBSERVER,
    OTHER_BUYER,
    T0,
    accepted,
    award,
    bid,
    cancel,
    config,
    draft,
    ends,
    extend,
    lot,
    lots,
    of_type,
    opened,
    pause,
    phoned,
    refused,
    resume,
    standing,
    supplier,
    tick,
    void,
)

END = T0 + 60_000  # the default config's end (duration 60 s from T0)
AMT = DecrementKind.AMOUNT
PCT = DecrementKind.PERCENT


def leader_of(state: AuctionState, lot_id: str = "L1") -> str | None:
    leader = state.lots[lot_id].leader()
    return leader.supplier if leader is not None else None


def ranks(state: AuctionState, lot_id: str = "L1") -> list[str]:
    return [entry[3] for entry in state.lots[lot_id].order]


# ================================================================== lots


def test_parallel_lots_share_one_end_and_keep_separate_order_books():
    state = opened(config(lots=(lot("L1"), lot("L2", ceiling=50_000))))
    assert ends(state) == {"L1": END, "L2": END}
    accepted(state, bid("sup-a", 90_000, T0 + 1, lot_id="L1"))
    accepted(state, bid("sup-b", 40_000, T0 + 2, lot_id="L2"))
    accepted(state, bid("sup-a", 45_000, T0 + 3, lot_id="L2"))
    assert leader_of(state, "L1") == "sup-a" and ranks(state, "L1") == ["sup-a"]
    assert ranks(state, "L2") == ["sup-b", "sup-a"]
    # the decrement counts from the same lot only: sup-a's 45,000 on L2 does not bind it on L1
    accepted(state, bid("sup-a", 89_900, T0 + 4, lot_id="L1"))
    # the same amount on two lots is no tie
    accepted(state, bid("sup-c", 40_000 - 1, T0 + 5, lot_id="L2"))
    accepted(state, bid("sup-b", 39_999, T0 + 6, lot_id="L1"))


def test_parallel_lots_close_together_on_one_tick():
    state = opened(config(lots=lots("L1", "L2")))
    accepted(state, bid("sup-a", 90_000, T0 + 1, lot_id="L2"))
    assert accepted(state, tick(END - 1)) == []
    events = accepted(state, tick(END))
    assert [type(e) for e in events] == [ev.LotClosed, ev.LotClosed, ev.LotAwarded, ev.AuctionClosed]
    assert [e.lot_id for e in of_type(events, ev.LotClosed)] == ["L1", "L2"]
    assert state.phase is Phase.CLOSED and state.finished


def test_staggered_lots_close_one_interval_after_another():
    cfg = config(lots=lots("L1", "L2", "L3"), lot_close=LotCloseMode.STAGGERED, stagger_ms=15_000)
    state = opened(cfg)
    assert ends(state) == {"L1": END, "L2": END + 15_000, "L3": END + 30_000}
    accepted(state, bid("sup-a", 90_000, T0 + 1, lot_id="L1"))
    events = accepted(state, tick(END))
    assert [type(e) for e in events] == [ev.LotClosed, ev.LotAwarded]
    assert state.phase is Phase.OPEN
    assert refused(state, bid("sup-b", 80_000, END + 1, lot_id="L1")).reason is Reason.LOT_CLOSED
    accepted(state, bid("sup-b", 80_000, END + 1, lot_id="L2"))
    assert [type(e) for e in accepted(state, tick(END + 15_000))] == [ev.LotClosed, ev.LotAwarded]
    assert state.phase is Phase.OPEN
    assert [type(e) for e in accepted(state, tick(END + 30_000))] == [ev.LotClosed, ev.AuctionClosed]
    assert state.phase is Phase.CLOSED


def test_a_late_tick_closes_every_overdue_lot_in_end_order():
    cfg = config(lots=lots("L1", "L2", "L3"), lot_close=LotCloseMode.STAGGERED, stagger_ms=15_000)
    state = opened(cfg)
    events = accepted(state, tick(END + 16_000))
    assert [(type(e).__name__, getattr(e, "lot_id", None)) for e in events] == [
        ("LotClosed", "L1"), ("LotClosed", "L2")]
    assert state.lots["L3"].phase is LotPhase.OPEN


def test_soft_close_in_staggered_mode_pushes_later_lots_to_keep_the_gap():
    soft = SoftClose(window_ms=10_000, extension_ms=30_000)
    cfg = config(lots=lots("L1", "L2", "L3"), lot_close=LotCloseMode.STAGGERED, stagger_ms=20_000,
                 soft_close=soft)
    state = opened(cfg)
    events = accepted(state, bid("sup-a", 90_000, END - 5_000, lot_id="L1"))
    extended = [(e.lot_id, e.end_at, e.cause) for e in of_type(events, ev.LotExtended)]
    assert extended == [
        ("L1", END + 30_000, ev.ExtensionCause.SOFT_CLOSE),
        ("L2", END + 50_000, ev.ExtensionCause.STAGGER),
        ("L3", END + 70_000, ev.ExtensionCause.STAGGER),
    ]
    # stagger pushes do not count as soft-close extensions of the pushed lots
    assert [state.lots[i].extensions for i in ("L1", "L2", "L3")] == [1, 0, 0]
    # a later lot's extension never moves an earlier lot
    events = accepted(state, bid("sup-b", 90_000, END + 45_000, lot_id="L2"))
    extended = [(e.lot_id, e.end_at) for e in of_type(events, ev.LotExtended)]
    assert extended == [("L2", END + 80_000), ("L3", END + 100_000)]
    assert state.lots["L1"].end_at == END + 30_000


def test_a_stagger_push_happens_only_when_the_gap_would_shrink():
    soft = SoftClose(window_ms=10_000, extension_ms=5_000)
    cfg = config(lots=lots("L1", "L2"), lot_close=LotCloseMode.STAGGERED, stagger_ms=20_000,
                 soft_close=soft)
    state = opened(cfg)
    accepted(state, extend(T0 + 1, 10_000, lot_id="L2"))  # L2: END + 30 s
    events = accepted(state, bid("sup-a", 90_000, END - 1, lot_id="L1"))  # L1: END + 5 s
    assert [(e.lot_id, e.end_at) for e in of_type(events, ev.LotExtended)] == [("L1", END + 5_000)]
    assert state.lots["L2"].end_at == END + 30_000


def test_soft_close_in_parallel_mode_extends_only_the_lot_bid_on():
    soft = SoftClose(window_ms=10_000, extension_ms=30_000)
    state = opened(config(lots=lots("L1", "L2"), soft_close=soft))
    accepted(state, bid("sup-a", 90_000, END - 5_000, lot_id="L2"))
    assert ends(state) == {"L1": END, "L2": END + 30_000}
    events = accepted(state, tick(END))
    assert [e.lot_id for e in of_type(events, ev.LotClosed)] == ["L1"] and state.phase is Phase.OPEN


# ================================================================== prices


def test_the_ceiling_is_the_opening_price():
    state = opened(config(lots=(lot(ceiling=100_000),)))
    rejection = refused(state, bid("sup-a", 100_001, T0 + 1))
    assert (rejection.reason, rejection.max_amount) == (Reason.ABOVE_CEILING, 100_000)
    accepted(state, bid("sup-a", 100_000, T0 + 1))  # at the ceiling is allowed
    assert refused(state, phoned("sup-b", 100_001, T0 + 2)).reason is Reason.ABOVE_CEILING


@pytest.mark.parametrize("amount", [0, -1, -100_000])
def test_zero_and_negative_amounts_are_invalid(amount):
    assert refused(opened(), bid("sup-a", amount, T0 + 1)).reason is Reason.INVALID_AMOUNT


def test_the_hidden_reserve_decides_the_automatic_award():
    met = opened(config(lots=(lot(reserve=90_000),)))
    accepted(met, bid("sup-a", 90_000, T0 + 1, bid_id="at-reserve"))  # exactly the reserve: met
    accepted(met, tick(END))
    assert met.lots["L1"].award.bid_id == "at-reserve" and met.finished
    missed = opened(config(lots=(lot(reserve=89_999),)))
    accepted(missed, bid("sup-a", 90_000, T0 + 1))
    events = accepted(missed, tick(END))
    assert of_type(events, ev.LotAwarded) == [] and missed.lots["L1"].phase is LotPhase.CLOSED
    assert missed.phase is Phase.CLOSED and not missed.finished  # the buyer must decide


def test_the_reserve_never_refuses_a_bid():
    state = opened(config(lots=(lot(reserve=10_000),)))
    accepted(state, bid("sup-a", 99_000, T0 + 1))  # far above the reserve: still a valid bid


def test_improve_own_with_an_amount_decrement():
    state = opened(config(bid_rule=BidRule.IMPROVE_OWN, decrement=Decrement(AMT, 500)))
    accepted(state, bid("sup-a", 90_000, T0 + 1))
    accepted(state, bid("sup-b", 97_000, T0 + 2))  # behind the leader: fine, it is b's first bid
    rejection = refused(state, bid("sup-b", 96_501, T0 + 3))
    assert (rejection.reason, rejection.max_amount) == (Reason.DECREMENT_TOO_SMALL, 96_500)
    accepted(state, bid("sup-b", 96_500, T0 + 3))  # exactly one step: fine, still behind
    assert refused(state, bid("sup-a", 89_501, T0 + 4)).max_amount == 89_500
    assert refused(state, bid("sup-a", 90_000, T0 + 4)).reason is Reason.DECREMENT_TOO_SMALL
    assert ranks(state) == ["sup-a", "sup-b"]


def test_improve_own_with_a_percentage_decrement():
    state = opened(config(bid_rule=BidRule.IMPROVE_OWN, decrement=Decrement(PCT, 250)))  # 2.5%
    accepted(state, bid("sup-a", 80_000, T0 + 1))  # next: at most 78,000
    rejection = refused(state, bid("sup-a", 78_001, T0 + 2))
    assert (rejection.reason, rejection.max_amount) == (Reason.DECREMENT_TOO_SMALL, 78_000)
    accepted(state, bid("sup-a", 78_000, T0 + 2))
    accepted(state, bid("sup-a", 76_049, T0 + 3))  # 2.5% of 78,000 = 1,950 → at most 76,050
    accepted(state, bid("sup-a", 333, T0 + 4, confirm=True))
    # 2.5% of 333 = 8.325: rounded up to 9, so 324 is the most
    assert refused(state, bid("sup-a", 325, T0 + 5)).max_amount == 324


def test_beat_the_leader_with_an_amount_decrement():
    state = opened(config(bid_rule=BidRule.BEAT_LEADER, decrement=Decrement(AMT, 1_000),
                          visibility=Visibility.RANK_AND_LEADING_PRICE))
    accepted(state, bid("sup-a", 90_000, T0 + 1))
    # a first bid must also beat the leader, not only the ceiling
    rejection = refused(state, bid("sup-b", 95_000, T0 + 2))
    assert (rejection.reason, rejection.max_amount) == (Reason.DECREMENT_TOO_SMALL, 89_000)
    assert refused(state, bid("sup-b", 89_001, T0 + 2)).reason is Reason.DECREMENT_TOO_SMALL
    accepted(state, bid("sup-b", 89_000, T0 + 2))
    # the former leader must now beat the new leader
    assert refused(state, bid("sup-a", 88_500, T0 + 3)).max_amount == 88_000
    # the leader itself improves by one step from its own bid
    accepted(state, bid("sup-b", 88_000, T0 + 4))
    assert leader_of(state) == "sup-b"


def test_beat_the_leader_with_a_percentage_decrement():
    state = opened(config(bid_rule=BidRule.BEAT_LEADER, decrement=Decrement(PCT, 100),
                          visibility=Visibility.FULL_BOARD))
    accepted(state, bid("sup-a", 50_050, T0 + 1))  # 1% of 50,050 = 500.5 → 501
    assert refused(state, bid("sup-b", 49_550, T0 + 2)).max_amount == 49_549
    accepted(state, bid("sup-b", 49_549, T0 + 2))


def test_rank_only_refusals_do_not_reveal_the_leading_price():
    """Under rank-only visibility a supplier learns its rank, never another supplier's price: the
    "highest acceptable amount" of a refusal must not be the leading price minus one step."""
    state = opened(config(bid_rule=BidRule.BEAT_LEADER, decrement=Decrement(AMT, 1_000),
                          visibility=Visibility.RANK_ONLY))
    accepted(state, bid("sup-a", 87_654, T0 + 1))
    rejection = refused(state, bid("sup-b", 95_000, T0 + 2))
    assert rejection.reason is Reason.DECREMENT_TOO_SMALL
    assert rejection.max_amount is None and "87654" not in rejection.detail
    accepted(state, bid("sup-b", 86_654, T0 + 2))
    rejection = refused(state, bid("sup-a", 86_000, T0 + 3))
    assert rejection.max_amount is None
    # what a supplier knows anyway is still told: the ceiling, and its own step as the leader
    assert refused(state, bid("sup-c", 100_001, T0 + 4)).max_amount == 100_000
    assert refused(state, bid("sup-b", 86_000, T0 + 5)).max_amount == 85_654


# ================================================================== ties


def test_equal_bids_are_refused_under_the_reject_rule():
    state = opened(config(tie_rule=TieRule.REJECT))
    accepted(state, bid("sup-a", 90_000, T0 + 1))
    accepted(state, bid("sup-b", 95_000, T0 + 2))
    assert refused(state, bid("sup-c", 90_000, T0 + 3)).reason is Reason.TIE_NOT_ALLOWED
    # not only the leader: any other supplier's best bid
    assert refused(state, bid("sup-c", 95_000, T0 + 3)).reason is Reason.TIE_NOT_ALLOWED
    assert refused(state, phoned("sup-c", 95_000, T0 + 3)).reason is Reason.TIE_NOT_ALLOWED
    accepted(state, bid("sup-c", 94_999, T0 + 3))
    # a superseded bid is no longer a supplier's price: its amount is free again
    accepted(state, bid("sup-a", 80_000, T0 + 4))
    accepted(state, bid("sup-b", 90_000, T0 + 5))


def test_equal_bids_rank_by_time_when_allowed():
    state = opened(config(tie_rule=TieRule.RANK_BY_TIME))
    accepted(state, bid("sup-b", 90_000, T0 + 10))
    accepted(state, bid("sup-c", 90_000, T0 + 11))
    accepted(state, bid("sup-a", 90_000, T0 + 12))
    assert ranks(state) == ["sup-b", "sup-c", "sup-a"]
    assert [state.lots["L1"].rank_of(s) for s in ("sup-a", "sup-b", "sup-c")] == [3, 1, 2]
    accepted(state, bid("sup-a", 89_900, T0 + 13))
    assert ranks(state) == ["sup-a", "sup-b", "sup-c"]


def test_a_tie_at_close_is_awarded_to_the_earlier_bid():
    state = opened(config(tie_rule=TieRule.RANK_BY_TIME))
    accepted(state, bid("sup-c", 95_000, T0 + 1))
    accepted(state, bid("sup-b", 90_000, T0 + 2, bid_id="first"))
    accepted(state, bid("sup-c", 90_000, T0 + 3))
    accepted(state, tick(END))
    assert state.lots["L1"].award.bid_id == "first"


# ================================================================== closing


def test_a_fixed_end_is_exclusive_and_never_moves():
    state = opened(config(soft_close=None))
    assert [type(e) for e in accepted(state, bid("sup-a", 90_000, END - 1))] == [ev.BidAccepted]
    assert state.lots["L1"].end_at == END
    assert refused(state, bid("sup-b", 80_000, END)).reason is Reason.LOT_CLOSED
    assert refused(state, bid("sup-b", 80_000, END + 5_000)).reason is Reason.LOT_CLOSED
    assert accepted(state, tick(END - 1)) == []
    assert of_type(accepted(state, tick(END)), ev.LotClosed)


def test_soft_close_window_boundary_and_extension_from_the_end():
    soft = SoftClose(window_ms=10_000, extension_ms=20_000)
    state = opened(config(soft_close=soft))
    assert len(accepted(state, bid("sup-a", 95_000, END - 10_001))) == 1  # just outside
    events = accepted(state, bid("sup-b", 94_000, END - 10_000))  # the window's first instant
    [extended] = of_type(events, ev.LotExtended)
    # from the end, not from the bid: END + 20 s, not (END - 10 s) + 20 s
    assert (extended.end_at, extended.cause, extended.extensions) == (
        END + 20_000, ev.ExtensionCause.SOFT_CLOSE, 1)
    assert refused(state, bid("sup-c", 93_000, END + 20_000)).reason is Reason.LOT_CLOSED
    events = accepted(state, bid("sup-c", 93_000, END + 20_000 - 1))  # last instant
    assert of_type(events, ev.LotExtended)[0].end_at == END + 40_000


def test_soft_close_any_bid_trigger_counts_bids_that_do_not_lead():
    soft = SoftClose(window_ms=10_000, extension_ms=20_000, trigger=SoftCloseTrigger.ANY_BID)
    state = opened(config(soft_close=soft))
    accepted(state, bid("sup-a", 50_000, T0 + 1, confirm=True))
    assert of_type(accepted(state, bid("sup-b", 99_000, END - 1)), ev.LotExtended)


def test_soft_close_new_leader_trigger_counts_only_a_new_leading_bid():
    soft = SoftClose(window_ms=10_000, extension_ms=20_000, trigger=SoftCloseTrigger.NEW_LEADER)
    state = opened(config(soft_close=soft, tie_rule=TieRule.RANK_BY_TIME))
    # the first bid of the lot leads
    assert of_type(accepted(state, bid("sup-a", 90_000, END - 1)), ev.LotExtended)
    end = END + 20_000
    assert accepted(state, bid("sup-b", 95_000, end - 1))[1:] == []  # not leading
    assert accepted(state, bid("sup-c", 90_000, end - 1))[1:] == []  # a tie: ranks after the leader
    assert of_type(accepted(state, bid("sup-b", 89_000, end - 1)), ev.LotExtended)  # new leader
    end += 20_000
    assert of_type(accepted(state, bid("sup-b", 88_000, end - 1)), ev.LotExtended)  # leader improves
    assert state.lots["L1"].extensions == 3


@pytest.mark.parametrize("maximum", [0, 1, 3])
def test_soft_close_stops_at_the_maximum_number_of_extensions(maximum):
    soft = SoftClose(window_ms=10_000, extension_ms=20_000, max_extensions=maximum)
    state = opened(config(soft_close=soft))
    end, amount = END, 99_000
    for n in range(maximum + 2):
        events = accepted(state, bid("sup-a", amount, end - 1))
        amount -= 100
        if n < maximum:
            [extended] = of_type(events, ev.LotExtended)
            end += 20_000
            assert (extended.end_at, extended.extensions) == (end, n + 1)
        else:
            assert of_type(events, ev.LotExtended) == []
    assert state.lots["L1"].end_at == end and state.lots["L1"].extensions == maximum


def test_soft_close_without_a_maximum_keeps_extending():
    state = opened(config(soft_close=SoftClose(window_ms=1_000, extension_ms=1_000)))
    amount = 99_000
    for n in range(1, 11):
        end = state.lots["L1"].end_at
        [extended] = of_type(accepted(state, bid("sup-a", amount, end - 1)), ev.LotExtended)
        assert (extended.end_at, extended.extensions) == (end + 1_000, n)
        amount -= 100


def test_buyer_extensions_do_not_use_up_soft_close_extensions():
    soft = SoftClose(window_ms=10_000, extension_ms=20_000, max_extensions=1)
    state = opened(config(soft_close=soft))
    [extended] = accepted(state, extend(T0 + 1, 5_000))
    assert (extended.cause, extended.extensions) == (ev.ExtensionCause.BUYER, 0)
    assert of_type(accepted(state, bid("sup-a", 90_000, END + 5_000 - 1)), ev.LotExtended)


def test_a_scheduled_auction_opens_on_the_first_tick_at_or_after_its_start():
    state = draft(config(start_at=T0 + 5_000))
    assert accepted(state, tick(T0 + 4_999)) == [] and state.phase is Phase.DRAFT
    assert refused(state, bid("sup-a", 90_000, T0 + 4_999)).reason is Reason.AUCTION_NOT_OPEN
    [opened_event] = accepted(state, tick(T0 + 5_000))
    assert isinstance(opened_event, ev.AuctionOpened)
    assert state.lots["L1"].end_at == T0 + 5_000 + 60_000


def test_a_late_opening_tick_never_lengthens_the_auction():
    state = draft(config(start_at=T0, lots=lots("L1", "L2"), lot_close=LotCloseMode.STAGGERED,
                         stagger_ms=10_000))
    accepted(state, tick(T0 + 3_000))
    assert ends(state) == {"L1": END, "L2": END + 10_000}


def test_a_late_bid_is_lot_closed_until_the_close_is_decided_then_auction_closed():
    """docs/protocol.md, "When a bid is judged": both mean too late; which one depends on whether
    the tick that closes the last lot was decided before the bid."""
    state = opened()
    assert refused(state, bid("sup-a", 90_000, END)).reason is Reason.LOT_CLOSED  # end: exclusive
    assert state.phase is Phase.OPEN  # the end passed, the close is not decided yet
    accepted(state, tick(END))
    assert refused(state, bid("sup-a", 90_000, END)).reason is Reason.AUCTION_CLOSED


def test_the_auction_closes_when_the_last_lot_closes_and_then_takes_no_bid():
    state = opened()
    accepted(state, tick(END))
    assert state.phase is Phase.CLOSED
    assert refused(state, bid("sup-a", 90_000, END + 1)).reason is Reason.AUCTION_CLOSED
    assert accepted(state, tick(END + 100_000)) == []


# ================================================================== buyer actions


def test_pause_refuses_bids_and_freezes_the_clock():
    state = opened(config(lots=lots("L1", "L2"), lot_close=LotCloseMode.STAGGERED, stagger_ms=5_000))
    [paused] = accepted(state, pause(T0 + 10_000, reason="supplier connectivity"))
    assert (paused.reason, state.phase) == ("supplier connectivity", Phase.PAUSED)
    assert refused(state, bid("sup-a", 90_000, T0 + 10_001)).reason is Reason.AUCTION_PAUSED
    assert refused(state, phoned("sup-a", 90_000, T0 + 10_001)).reason is Reason.AUCTION_PAUSED
    assert accepted(state, tick(END + 50_000)) == []  # no lot closes while paused
    assert refused(state, pause(T0 + 11_000)).reason is Reason.AUCTION_PAUSED
    [resumed] = accepted(state, resume(T0 + 25_000))
    assert dict((e.lot_id, e.end_at) for e in resumed.lot_ends) == {
        "L1": END + 15_000, "L2": END + 20_000}
    assert ends(state) == {"L1": END + 15_000, "L2": END + 20_000} and state.phase is Phase.OPEN
    accepted(state, bid("sup-a", 90_000, END + 14_999))
    assert refused(state, resume(T0 + 26_000)).reason is Reason.NOT_PAUSED


def test_resume_moves_only_open_lots():
    state = opened(config(lots=lots("L1", "L2"), lot_close=LotCloseMode.STAGGERED, stagger_ms=30_000))
    accepted(state, tick(END))
    accepted(state, pause(END + 1_000))
    accepted(state, resume(END + 4_000))
    assert ends(state) == {"L1": END, "L2": END + 33_000}


def test_pausing_at_the_epoch_still_gives_the_paused_time_back():
    """Time 0 is a valid time (``start_at`` may be 0): a pause at 0 must count like any other."""
    state = opened(config(duration_ms=60_000), at=0)
    accepted(state, pause(0))
    accepted(state, resume(10_000))
    assert state.lots["L1"].end_at == 70_000


def test_the_buyer_extends_one_lot_or_every_open_lot():
    state = opened(config(lots=lots("L1", "L2", "L3")))
    [one] = accepted(state, extend(T0 + 1, 5_000, lot_id="L2"))
    assert (one.lot_id, one.end_at, one.cause) == ("L2", END + 5_000, ev.ExtensionCause.BUYER)
    events = accepted(state, extend(T0 + 2, 1_000))
    assert [(e.lot_id, e.end_at) for e in events] == [
        ("L1", END + 1_000), ("L2", END + 6_000), ("L3", END + 1_000)]
    for by in (0, -1):
        assert refused(state, extend(T0 + 3, by)).reason is Reason.INVALID_EXTENSION
    assert refused(state, extend(T0 + 3, 1_000, lot_id="L9")).reason is Reason.UNKNOWN_LOT


def test_the_buyer_may_extend_while_paused():
    state = opened()
    accepted(state, pause(T0 + 10_000))
    accepted(state, extend(T0 + 20_000, 5_000))
    accepted(state, resume(T0 + 30_000))
    assert state.lots["L1"].end_at == END + 5_000 + 20_000


def test_a_closed_lot_cannot_be_extended():
    state = opened(config(lots=lots("L1", "L2"), lot_close=LotCloseMode.STAGGERED, stagger_ms=30_000))
    accepted(state, tick(END))
    assert refused(state, extend(END + 1, 5_000, lot_id="L1")).reason is Reason.LOT_CLOSED
    events = accepted(state, extend(END + 1, 5_000))  # every open lot: L2 only
    assert [e.lot_id for e in events] == ["L2"]


def test_a_lot_whose_end_has_passed_cannot_be_extended_before_the_tick_closes_it():
    """Whether a lot is over is decided by its end, not by when the timer's tick arrives: an
    extension after the end would reopen a lot for bids after its close."""
    state = opened(config(lots=lots("L1", "L2"), lot_close=LotCloseMode.STAGGERED, stagger_ms=30_000))
    assert refused(state, extend(END, 5_000, lot_id="L1")).reason is Reason.LOT_CLOSED
    events = accepted(state, extend(END + 1, 5_000))  # every lot still running: L2 only
    assert [(e.lot_id, e.end_at) for e in events] == [("L2", END + 35_000)]
    assert state.lots["L1"].end_at == END
    assert refused(state, bid("sup-a", 90_000, END + 2, lot_id="L1")).reason is Reason.LOT_CLOSED


def test_while_paused_a_lot_is_over_only_if_it_ended_before_the_pause():
    state = opened()
    accepted(state, pause(END - 1_000))
    accepted(state, extend(END + 5_000, 2_000))  # the clock stopped at END - 1 s
    accepted(state, resume(END + 10_000))
    assert state.lots["L1"].end_at == END + 2_000 + 11_000
    late = opened()
    accepted(late, pause(END + 1))  # the end passed before the pause (no tick yet)
    assert refused(late, extend(END + 2, 2_000, lot_id="L1")).reason is Reason.LOT_CLOSED


def test_cancel_needs_a_reason_and_ends_everything():
    for reason in ("", "   "):
        assert refused(opened(), cancel(T0 + 1, reason=reason)).reason is Reason.REASON_REQUIRED
    state = opened()
    accepted(state, bid("sup-a", 90_000, T0 + 1))
    [cancelled] = accepted(state, cancel(T0 + 2, reason="specification error"))
    assert cancelled.reason == "specification error"
    assert (state.phase, state.cancel_reason, state.finished) == (
        Phase.CANCELLED, "specification error", True)
    assert refused(state, bid("sup-b", 80_000, T0 + 3)).reason is Reason.AUCTION_CANCELLED
    assert accepted(state, tick(END)) == []
    assert refused(state, cancel(T0 + 4)).reason is Reason.AUCTION_CANCELLED


def test_cancel_in_draft_while_paused_and_after_close_until_decided():
    state = draft()
    accepted(state, cancel(T0))
    state = opened()
    accepted(state, pause(T0 + 1))
    accepted(state, cancel(T0 + 2))
    undecided = opened(config(award_mode=AwardMode.BUYER))
    accepted(undecided, bid("sup-a", 90_000, T0 + 1))
    accepted(undecided, tick(END))
    accepted(undecided, cancel(END + 1, reason="budget withdrawn"))
    decided = opened()
    accepted(decided, bid("sup-a", 90_000, T0 + 1))
    accepted(decided, tick(END))
    assert refused(decided, cancel(END + 1)).reason is Reason.AUCTION_CLOSED


def test_voiding_a_bid_needs_a_reason_and_recomputes_the_ranks():
    state = opened()
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    accepted(state, bid("sup-b", 92_000, T0 + 2, bid_id="b1"))
    accepted(state, bid("sup-a", 90_000, T0 + 3, bid_id="a2"))
    accepted(state, bid("sup-c", 93_000, T0 + 4, bid_id="c1"))
    assert ranks(state) == ["sup-a", "sup-b", "sup-c"]
    assert refused(state, void("a2", T0 + 5, reason=" ")).reason is Reason.REASON_REQUIRED
    [voided] = accepted(state, void("a2", T0 + 5, reason="typing error confirmed by phone"))
    assert (voided.bid_id, voided.lot_id, voided.reason) == ("a2", "L1", "typing error confirmed by phone")
    assert ranks(state) == ["sup-b", "sup-c", "sup-a"]  # a falls back to its 95,000
    assert state.lots["L1"].rank_of("sup-a") == 3
    assert refused(state, void("a2", T0 + 6)).reason is Reason.ALREADY_VOIDED
    assert refused(state, void("nope", T0 + 6)).reason is Reason.UNKNOWN_BID
    # the supplier bids on from its remaining best
    assert refused(state, bid("sup-a", 94_950, T0 + 7)).max_amount == 94_900
    accepted(state, bid("sup-a", 94_900, T0 + 7))


def test_voiding_a_suppliers_only_bid_removes_it_from_the_ranking():
    state = opened()
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    accepted(state, void("a1", T0 + 2))
    assert ranks(state) == [] and state.lots["L1"].leader() is None
    accepted(state, bid("sup-a", 99_000, T0 + 3))  # a fresh first bid again


def test_voiding_after_the_close_changes_the_winner_of_an_undecided_lot():
    state = opened(config(award_mode=AwardMode.BUYER))
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    accepted(state, bid("sup-b", 90_000, T0 + 2, bid_id="b1"))
    accepted(state, tick(END))
    accepted(state, void("b1", END + 1, reason="withdrawn: calculation error"))
    [awarded] = accepted(state, award("L1", END + 2))
    assert (awarded.bid_id, awarded.basis) == ("a1", ev.AwardBasis.LOWEST)
    assert refused(state, void("a1", END + 3)).reason is Reason.ALREADY_AWARDED


def test_a_bid_on_a_suppliers_behalf_is_recorded_as_such_and_follows_the_rules():
    state = opened(config(fat_finger_bp=2_000))
    [event] = accepted(state, phoned("sup-c", 93_000, T0 + 1, bid_id="p1"))
    assert (event.supplier, event.entered_by) == ("sup-c", "org-buyer")
    assert state.bids["p1"].entered_by == "org-buyer" and leader_of(state) == "sup-c"
    assert state.last_bid_at["sup-c"] == T0 + 1
    assert refused(state, phoned("sup-c", 92_950, T0 + 2)).reason is Reason.DECREMENT_TOO_SMALL
    assert refused(state, phoned("sup-c", 50_000, T0 + 2)).reason is Reason.CONFIRMATION_REQUIRED
    assert refused(state, phoned("sup-z", 92_000, T0 + 2)).reason is Reason.NOT_INVITED
    [own] = accepted(state, bid("sup-c", 92_000, T0 + 3))
    assert own.entered_by is None


@pytest.mark.parametrize("actor", [OTHER_BUYER, OBSERVER, SYSTEM, supplier("sup-a")])
def test_only_the_auctions_buyer_bids_on_a_suppliers_behalf(actor):
    state = opened()
    assert refused(state, phoned("sup-b", 90_000, T0 + 1, actor=actor)).reason is Reason.FORBIDDEN


@pytest.mark.parametrize("actor", [BUYER, OBSERVER, SYSTEM])
def test_only_suppliers_bid_for_themselves(actor):
    state = opened()
    command = PlaceBid(actor=actor, at=T0 + 1, lot_id="L1", amount=90_000, bid_id="x")
    assert refused(state, command).reason is Reason.FORBIDDEN


BUYER_ACTIONS: list[Callable] = [
    lambda a: UpdateConfig(actor=a, at=T0, config=config()),
    lambda a: InviteSupplier(actor=a, at=T0, supplier="sup-z"),
    lambda a: StartAuction(actor=a, at=T0),
    lambda a: pause(T0 + 1, actor=a),
    lambda a: resume(T0 + 1, actor=a),
    lambda a: extend(T0 + 1, 1_000, actor=a),
    lambda a: cancel(T0 + 1, actor=a),
    lambda a: void("a1", T0 + 1, actor=a),
    lambda a: award("L1", END + 1, actor=a),
]


@pytest.mark.parametrize("make", BUYER_ACTIONS, ids=lambda m: type(m(BUYER)).__name__)
@pytest.mark.parametrize("actor", [supplier("sup-a"), OBSERVER, OTHER_BUYER, SYSTEM],
                         ids=["supplier", "observer", "other-buyer", "system"])
@pytest.mark.parametrize("stage", ["draft", "open", "paused", "closed"])
def test_nobody_but_the_auctions_buyer_may_take_a_buyer_action(make, actor, stage):
    state = in_phase(stage)
    assert refused(state, make(actor)).reason is Reason.FORBIDDEN


@pytest.mark.parametrize("actor", [BUYER, supplier("sup-a"), OBSERVER])
def test_ticks_come_from_the_server_only(actor):
    assert refused(opened(), Tick(actor=actor, at=END)).reason is Reason.FORBIDDEN


def test_only_a_buyer_creates_an_auction_and_only_once():
    for actor in (supplier("sup-a"), OBSERVER, SYSTEM):
        command = CreateAuction(actor=actor, at=T0, auction_id="auc-1", config=config())
        assert refused(AuctionState.new("auc-1"), command).reason is Reason.FORBIDDEN
    again = CreateAuction(actor=BUYER, at=T0, auction_id="auc-1", config=config())
    assert refused(draft(), again).reason is Reason.ALREADY_EXISTS
    other_id = CreateAuction(actor=BUYER, at=T0, auction_id="auc-2", config=config())
    assert refused(AuctionState.new("auc-1"), other_id).reason is Reason.INVALID_CONFIG


# ================================================================== invitations


def test_invitations_give_stable_aliases_and_uninvited_suppliers_cannot_bid():
    state = draft(suppliers=())
    accepted(state, InviteSupplier(actor=BUYER, at=T0, supplier="acme", name="ACME Ltd"))
    [invited] = accepted(state, InviteSupplier(actor=BUYER, at=T0, supplier="bolt"))
    assert invited.alias == "Supplier 2" and state.suppliers["acme"].alias == "Supplier 1"
    again = InviteSupplier(actor=BUYER, at=T0, supplier="acme")
    assert refused(state, again).reason is Reason.ALREADY_INVITED
    empty = InviteSupplier(actor=BUYER, at=T0, supplier=" ")
    assert refused(state, empty).reason is Reason.UNKNOWN_SUPPLIER
    accepted(state, StartAuction(actor=BUYER, at=T0))
    assert refused(state, bid("crane", 90_000, T0 + 1)).reason is Reason.NOT_INVITED
    accepted(state, InviteSupplier(actor=BUYER, at=T0 + 2, supplier="crane"))  # late invitation
    accepted(state, bid("crane", 90_000, T0 + 3))


# ================================================================== fat-finger guard


def test_a_large_drop_from_the_suppliers_last_bid_needs_confirmation():
    state = opened(config(fat_finger_bp=1_000))  # 10%
    accepted(state, bid("sup-a", 95_000, T0 + 1))
    rejection = refused(state, bid("sup-a", 85_499, T0 + 2))  # 10.0001% below
    assert rejection.reason is Reason.CONFIRMATION_REQUIRED
    accepted(state, bid("sup-a", 85_499, T0 + 2, confirm=True))
    accepted(state, bid("sup-a", 76_950, T0 + 3))  # 8,549 below 85,499: just under 10%, fine
    # another supplier's last bid is irrelevant: a first bid compares with the ceiling
    assert refused(state, bid("sup-b", 89_999, T0 + 4)).reason is Reason.CONFIRMATION_REQUIRED
    accepted(state, bid("sup-b", 90_000, T0 + 4))


def test_without_a_guard_no_confirmation_is_ever_needed():
    state = opened(config(fat_finger_bp=None))
    accepted(state, bid("sup-a", 95_000, T0 + 1))
    accepted(state, bid("sup-a", 1, T0 + 2))


def test_the_guard_is_checked_only_for_otherwise_acceptable_bids():
    state = opened(config(fat_finger_bp=1_000))
    assert refused(state, bid("sup-a", 100_001, T0 + 1)).reason is Reason.ABOVE_CEILING
    assert refused(state, bid("sup-a", 0, T0 + 1)).reason is Reason.INVALID_AMOUNT


def test_after_a_void_the_guard_compares_with_the_remaining_last_bid():
    state = opened(config(fat_finger_bp=1_000))
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    accepted(state, bid("sup-a", 90_000, T0 + 2, bid_id="a2"))
    accepted(state, void("a2", T0 + 3))
    assert refused(state, bid("sup-a", 85_000, T0 + 4)).reason is Reason.CONFIRMATION_REQUIRED
    accepted(state, bid("sup-a", 85_500, T0 + 4))


# ================================================================== rate limit and resends


def test_a_minimum_interval_between_one_suppliers_bids_across_lots():
    state = opened(config(lots=lots("L1", "L2"), min_bid_interval_ms=1_000))
    accepted(state, bid("sup-a", 95_000, T0 + 1))
    limited = refused(state, bid("sup-a", 95_000, T0 + 1_000, lot_id="L2"))
    assert (limited.reason, limited.retry_after_ms) == (Reason.RATE_LIMITED, 1)  # at T0 + 1_001
    accepted(state, bid("sup-b", 94_000, T0 + 2))  # another supplier is not limited
    accepted(state, bid("sup-a", 95_000, T0 + 1_001, lot_id="L2"))


def test_a_resent_bid_is_one_bid_and_a_reused_bid_id_is_refused():
    state = opened()
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="b-1"))
    before = state_bytes(state)
    assert handle(state, bid("sup-a", 95_000, T0 + 2, bid_id="b-1")).events == []
    assert state_bytes(state) == before
    assert refused(state, bid("sup-a", 94_000, T0 + 3, bid_id="b-1")).reason is Reason.DUPLICATE_BID_ID
    assert refused(state, bid("sup-b", 95_000, T0 + 3, bid_id="b-1")).reason is Reason.DUPLICATE_BID_ID


def test_a_refused_bid_id_is_used_up_by_its_refusal():
    """The issue: a refused id could be reused for a valid bid, and the refused bid's own resend
    was then answered duplicate_bid_id. A bid id is decided once, refusals included."""
    state, log = AuctionState.new("auc-1"), []

    def step(command):
        outcome = handle(state, command)
        log.extend(outcome.events)
        return outcome

    step(CreateAuction(actor=BUYER, at=T0 - 1, auction_id="auc-1", config=config()))
    step(InviteSupplier(actor=BUYER, at=T0 - 1, supplier="sup-a"))
    step(StartAuction(actor=BUYER, at=T0))
    first = step(bid("sup-a", 120_000, T0 + 1, bid_id="x"))
    assert first.rejection.reason is Reason.ABOVE_CEILING
    [record] = first.events
    assert (type(record), record.reason, record.supplier, record.max_amount) == (
        ev.BidRefused, Reason.ABOVE_CEILING, "sup-a", 100_000)
    # the same id with a valid bid: refused, and nothing recorded (the id names another bid)
    reused = step(bid("sup-a", 95_000, T0 + 2, bid_id="x"))
    assert (reused.rejection.reason, reused.events) == (Reason.DUPLICATE_BID_ID, [])
    # the refused bid resent (confirm does not make it another bid): its first answer, not recorded
    before = state_bytes(state)
    again = step(bid("sup-a", 120_000, T0 + 3, bid_id="x", confirm=True))
    assert again.rejection == first.rejection and again.events == []
    assert state_bytes(state) == before
    # answered from the events alone: a replay (a restart) answers the same
    rebuilt = replay("auc-1", [ev.decode_event(ev.encode_event(e)) for e in log])
    assert state_bytes(rebuilt) == state_bytes(state)
    assert decide(rebuilt, bid("sup-a", 120_000, T0 + 4, bid_id="x")) == first.rejection
    assert decide(rebuilt, bid("sup-a", 95_000, T0 + 4, bid_id="x")).reason is Reason.DUPLICATE_BID_ID
    accepted(state, bid("sup-a", 95_000, T0 + 5, bid_id="y"))  # a new id is a new bid


def test_a_refused_id_is_answered_the_same_after_the_phase_changed():
    state = opened()
    assert handle(state, bid("sup-a", 95_000, END, bid_id="late")).rejection.reason is Reason.LOT_CLOSED
    accepted(state, tick(END))
    assert decide(state, bid("sup-a", 95_000, END + 9, bid_id="late")).reason is Reason.LOT_CLOSED


@pytest.mark.parametrize("reason", [Reason.RATE_LIMITED, Reason.CONFIRMATION_REQUIRED])
def test_refusals_that_ask_for_the_same_bid_again_do_not_use_up_its_id(reason):
    state = opened(config(min_bid_interval_ms=1_000, fat_finger_bp=1_000))
    accepted(state, bid("sup-a", 95_000, T0 + 1))
    amount, at = (94_000, T0 + 2) if reason is Reason.RATE_LIMITED else (80_000, T0 + 1_001)
    first = handle(state, bid("sup-a", amount, at, bid_id="z"))
    assert first.rejection.reason is reason and type(first.events[0]) is ev.BidRefused  # recorded
    accepted(state, bid("sup-a", amount, T0 + 2_002, bid_id="z", confirm=True))
    assert [r.bid_id for r in state.refusals] == ["z"] and "z" not in state.refused


def test_who_refused_bids_were_for_and_who_sent_them():
    state = opened()
    buyer_person = msgspec.structs.replace(BUYER, user="bob")
    [record] = handle(state, PlaceBid(actor=buyer_person, at=T0 + 1, lot_id="L9", amount=1,
                                      bid_id="p", on_behalf_of="sup-b")).events
    assert (record.reason, record.supplier, record.role, record.party, record.entered_by,
            record.user) == (Reason.UNKNOWN_LOT, "sup-b", Role.BUYER, "org-buyer", "org-buyer", "bob")
    [record] = handle(state, PlaceBid(actor=OBSERVER, at=T0 + 1, lot_id="L1", amount=1,
                                      bid_id="o")).events
    assert (record.reason, record.role, record.user) == (Reason.FORBIDDEN, Role.OBSERVER, msgspec.UNSET)


@pytest.mark.parametrize("stop", ["pause", "close", "cancel"])
def test_a_resent_accepted_bid_is_answered_as_accepted_whatever_the_phase(stop):
    """The answer to a last-second bid may be lost; its resend after the close must not say
    'closed' to a supplier whose bid stands (and may win)."""
    state = opened()
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="b-1"))
    accepted(state, {"pause": pause(T0 + 2), "close": tick(END), "cancel": cancel(T0 + 2)}[stop])
    before = state_bytes(state)
    assert handle(state, bid("sup-a", 95_000, END + 5, bid_id="b-1")).events == []
    assert state_bytes(state) == before
    assert refused(state, bid("sup-a", 94_000, END + 5, bid_id="b-1")).reason is Reason.DUPLICATE_BID_ID
    assert refused(state, bid("sup-a", 94_000, END + 5, bid_id="b-2")).reason in (
        Reason.AUCTION_PAUSED, Reason.AUCTION_CLOSED, Reason.AUCTION_CANCELLED)


# ================================================================== awards


def test_the_lowest_valid_bid_is_awarded_at_close():
    state = opened(config(lots=lots("L1", "L2")))
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    accepted(state, bid("sup-b", 94_000, T0 + 2, bid_id="b1"))
    accepted(state, bid("sup-b", 93_000, T0 + 3, bid_id="b2"))
    accepted(state, bid("sup-a", 92_000, T0 + 4, bid_id="a2"))
    accepted(state, void("a2", T0 + 5))
    events = accepted(state, tick(END))
    [awarded] = of_type(events, ev.LotAwarded)
    assert (awarded.lot_id, awarded.award_id, awarded.bid_id, awarded.supplier, awarded.amount,
            awarded.basis, awarded.reason) == (
        "L1", "auc-1:L1", "b2", "sup-b", 93_000, ev.AwardBasis.LOWEST, "")
    assert state.lots["L2"].phase is LotPhase.CLOSED and state.lots["L2"].award is None  # no bid
    assert state.finished


def test_in_buyer_award_mode_nothing_is_awarded_at_close():
    state = opened(config(award_mode=AwardMode.BUYER))
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    accepted(state, bid("sup-b", 94_000, T0 + 2, bid_id="b1"))
    assert of_type(accepted(state, tick(END)), ev.LotAwarded) == []
    assert not state.finished
    [awarded] = accepted(state, award("L1", END + 1))  # no bid named: the lowest
    assert (awarded.bid_id, awarded.basis) == ("b1", ev.AwardBasis.LOWEST)
    assert state.finished


def test_the_buyer_may_choose_another_bid_only_with_a_written_reason():
    state = opened(config(award_mode=AwardMode.BUYER))
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    accepted(state, bid("sup-b", 94_000, T0 + 2, bid_id="b1"))
    accepted(state, tick(END))
    for reason in ("", "  "):
        assert refused(state, award("L1", END + 1, "a1", reason)).reason is Reason.REASON_REQUIRED
    [awarded] = accepted(state, award("L1", END + 1, "a1", "better delivery terms"))
    assert (awarded.supplier, awarded.amount, awarded.basis, awarded.reason) == (
        "sup-a", 95_000, ev.AwardBasis.BUYER_CHOICE, "better delivery terms")
    assert state.lots["L1"].award.reason == "better delivery terms"
    assert refused(state, award("L1", END + 2)).reason is Reason.ALREADY_AWARDED


def test_a_suppliers_superseded_bid_is_not_its_lowest():
    state = opened(config(award_mode=AwardMode.BUYER))
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    accepted(state, bid("sup-a", 90_000, T0 + 2, bid_id="a2"))
    accepted(state, tick(END))
    assert refused(state, award("L1", END + 1, "a1")).reason is Reason.REASON_REQUIRED


def test_awarding_below_an_unmet_reserve_needs_a_reason():
    state = opened(config(lots=(lot(reserve=80_000),), award_mode=AwardMode.BUYER))
    accepted(state, bid("sup-a", 85_000, T0 + 1, bid_id="a1"))
    accepted(state, tick(END))
    assert refused(state, award("L1", END + 1)).reason is Reason.REASON_REQUIRED
    [awarded] = accepted(state, award("L1", END + 1, reason="still below the market price"))
    assert awarded.basis is ev.AwardBasis.LOWEST and awarded.reason == "still below the market price"


def test_award_refusals():
    state = opened(config(lots=lots("L1", "L2", "L3"), award_mode=AwardMode.BUYER))
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    accepted(state, bid("sup-b", 94_000, T0 + 2, bid_id="b1"))
    accepted(state, bid("sup-a", 95_000, T0 + 3, lot_id="L3", bid_id="a3"))
    assert refused(state, award("L1", T0 + 4)).reason is Reason.LOT_NOT_CLOSED
    accepted(state, void("b1", T0 + 5))
    accepted(state, tick(END))
    assert refused(state, award("L9", END + 1)).reason is Reason.UNKNOWN_LOT
    assert refused(state, award("L2", END + 1)).reason is Reason.NO_VALID_BID
    assert refused(state, award("L1", END + 1, "b1", "x")).reason is Reason.UNKNOWN_BID  # voided
    assert refused(state, award("L1", END + 1, "a3", "x")).reason is Reason.UNKNOWN_BID  # other lot
    assert refused(state, award("L1", END + 1, "zz", "x")).reason is Reason.UNKNOWN_BID


# ================================================================== the transition table


def in_phase(stage: str) -> AuctionState:
    """An auction of two lots, three suppliers, a bid "a1" on L1, in the named phase."""
    if stage == "new":
        return AuctionState.new("auc-1")
    cfg = config(lots=lots("L1", "L2"), award_mode=AwardMode.BUYER)
    state = draft(cfg)
    if stage == "draft":
        return state
    accepted(state, StartAuction(actor=BUYER, at=T0))
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    if stage == "paused":
        accepted(state, pause(T0 + 2))
    elif stage == "closed":
        accepted(state, tick(END))
    elif stage == "cancelled":
        accepted(state, cancel(T0 + 2))
    return state


COMMANDS: dict[str, Callable] = {
    "CreateAuction": lambda: CreateAuction(actor=BUYER, at=T0, auction_id="auc-1", config=config()),
    "UpdateConfig": lambda: UpdateConfig(actor=BUYER, at=T0, config=config()),
    "InviteSupplier": lambda: InviteSupplier(actor=BUYER, at=T0, supplier="sup-z"),
    "StartAuction": lambda: StartAuction(actor=BUYER, at=T0),
    "PlaceBid": lambda: bid("sup-b", 90_000, T0 + 3),
    "PauseAuction": lambda: pause(T0 + 3),
    "ResumeAuction": lambda: resume(T0 + 3),
    "ExtendAuction": lambda: extend(T0 + 3, 1_000),
    "CancelAuction": lambda: cancel(T0 + 3),
    "VoidBid": lambda: void("a1", T0 + 3),
    "AwardLot": lambda: award("L1", END + 3),
    "Tick": lambda: tick(T0 + 3),
    "AcceptTerms": lambda: AcceptTerms(actor=supplier("sup-b"), at=T0 + 3, terms_hash=NO_TERMS),
    "ApproveAward": lambda: ApproveAward(actor=BUYER, at=END + 3, lot_id="L1", approve=True),
    "SetSupplierStanding": lambda: standing("sup-b", T0 + 3),
}

# Which commands each phase handles; any other (phase, command) is a table miss with this reason.
HANDLED = {
    "new": {"CreateAuction"},
    "draft": {"UpdateConfig", "InviteSupplier", "StartAuction", "CancelAuction", "PlaceBid", "Tick",
              "AcceptTerms", "SetSupplierStanding"},
    "open": {"InviteSupplier", "PauseAuction", "ExtendAuction", "CancelAuction", "VoidBid",
             "PlaceBid", "Tick", "AcceptTerms", "ApproveAward", "SetSupplierStanding"},
    "paused": {"InviteSupplier", "ResumeAuction", "ExtendAuction", "CancelAuction", "VoidBid",
               "PlaceBid", "Tick", "AcceptTerms", "ApproveAward", "SetSupplierStanding"},
    "closed": {"CancelAuction", "VoidBid", "AwardLot", "PlaceBid", "Tick", "ApproveAward",
               "SetSupplierStanding"},
    "cancelled": {"PlaceBid", "Tick"},
}
MISSES = {
    "new": {name: Reason.UNKNOWN_AUCTION for name in COMMANDS if name != "CreateAuction"},
    "draft": {"CreateAuction": Reason.ALREADY_EXISTS, "PauseAuction": Reason.AUCTION_NOT_OPEN,
              "ResumeAuction": Reason.NOT_PAUSED, "ExtendAuction": Reason.AUCTION_NOT_OPEN,
              "VoidBid": Reason.AUCTION_NOT_OPEN, "AwardLot": Reason.LOT_NOT_CLOSED,
              "ApproveAward": Reason.AUCTION_NOT_OPEN},
    "open": {"CreateAuction": Reason.ALREADY_EXISTS, "UpdateConfig": Reason.CONFIG_LOCKED,
             "StartAuction": Reason.ALREADY_STARTED, "ResumeAuction": Reason.NOT_PAUSED,
             "AwardLot": Reason.LOT_NOT_CLOSED},
    "paused": {"CreateAuction": Reason.ALREADY_EXISTS, "UpdateConfig": Reason.CONFIG_LOCKED,
               "StartAuction": Reason.ALREADY_STARTED, "PauseAuction": Reason.AUCTION_PAUSED,
               "AwardLot": Reason.LOT_NOT_CLOSED},
    "closed": {"CreateAuction": Reason.ALREADY_EXISTS, "UpdateConfig": Reason.CONFIG_LOCKED,
               "InviteSupplier": Reason.AUCTION_CLOSED, "StartAuction": Reason.ALREADY_STARTED,
               "PauseAuction": Reason.AUCTION_CLOSED, "ResumeAuction": Reason.NOT_PAUSED,
               "ExtendAuction": Reason.AUCTION_CLOSED, "AcceptTerms": Reason.AUCTION_CLOSED},
    "cancelled": {"CreateAuction": Reason.ALREADY_EXISTS,
                  **{name: Reason.AUCTION_CANCELLED for name in COMMANDS
                     if name not in ("CreateAuction", "PlaceBid", "Tick")}},
}
PHASE_VALUE = {"new": "new", "draft": "draft", "open": "open", "paused": "paused",
               "closed": "closed", "cancelled": "cancelled"}


@pytest.mark.parametrize("stage", list(MISSES))
@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_table_miss_names_the_command_and_the_phase(stage, name):
    state = in_phase(stage)
    command = COMMANDS[name]()
    decision = decide(state, command)
    if name in HANDLED[stage]:
        # handled: whatever the outcome, it is not the table's "not in this phase" answer
        assert isinstance(decision, list) or "is not possible while" not in decision.detail
        return
    rejection = refused(state, command)
    assert rejection.reason is MISSES[stage][name]
    assert name in rejection.detail and PHASE_VALUE[stage] in rejection.detail


@pytest.mark.parametrize(("stage", "reason"), [
    ("draft", Reason.AUCTION_NOT_OPEN), ("paused", Reason.AUCTION_PAUSED),
    ("closed", Reason.AUCTION_CLOSED), ("cancelled", Reason.AUCTION_CANCELLED),
])
def test_bids_outside_the_open_phase_name_the_phase(stage, reason):
    state = in_phase(stage)
    rejection = refused(state, bid("sup-b", 90_000, T0 + 3))
    assert rejection.reason is reason and PHASE_VALUE[stage] in rejection.detail


def test_a_configuration_is_checked_on_create_and_on_update_and_locked_once_open():
    bad = config(lots=(lot(ceiling=100, reserve=200),))
    state = AuctionState.new("auc-1")
    rejection = refused(state, CreateAuction(actor=BUYER, at=T0, auction_id="auc-1", config=bad))
    assert rejection.reason is Reason.INVALID_CONFIG and "reserve" in rejection.detail
    state = draft()
    assert refused(state, UpdateConfig(actor=BUYER, at=T0, config=bad)).reason is Reason.INVALID_CONFIG
    accepted(state, UpdateConfig(actor=BUYER, at=T0, config=config(lots=lots("X"))))
    assert set(state.lots) == {"X"} and set(state.suppliers) == {"sup-a", "sup-b", "sup-c"}


# ================================================================== every reason is reachable


def _scenario(reason: Reason) -> tuple[AuctionState, object]:
    """A state and a command that is refused with ``reason``."""
    match reason:
        case Reason.FORBIDDEN:
            return opened(), pause(T0 + 1, actor=supplier("sup-a"))
        case Reason.NOT_INVITED:
            return opened(), bid("sup-z", 90_000, T0 + 1)
        case Reason.UNKNOWN_AUCTION:
            return AuctionState.new("auc-1"), bid("sup-a", 90_000, T0 + 1)
        case Reason.ALREADY_EXISTS:
            return draft(), COMMANDS["CreateAuction"]()
        case Reason.INVALID_CONFIG:
            return draft(), UpdateConfig(actor=BUYER, at=T0, config=config(duration_ms=0))
        case Reason.CONFIG_LOCKED:
            return opened(), COMMANDS["UpdateConfig"]()
        case Reason.ALREADY_INVITED:
            return draft(), InviteSupplier(actor=BUYER, at=T0, supplier="sup-a")
        case Reason.ALREADY_STARTED:
            return opened(), COMMANDS["StartAuction"]()
        case Reason.AUCTION_NOT_OPEN:
            return draft(), bid("sup-a", 90_000, T0 + 1)
        case Reason.AUCTION_PAUSED:
            return in_phase("paused"), bid("sup-b", 90_000, T0 + 3)
        case Reason.AUCTION_CLOSED:
            return in_phase("closed"), bid("sup-b", 90_000, END + 3)
        case Reason.AUCTION_CANCELLED:
            return in_phase("cancelled"), bid("sup-b", 90_000, T0 + 3)
        case Reason.NOT_PAUSED:
            return opened(), resume(T0 + 1)
        case Reason.UNKNOWN_LOT:
            return opened(), bid("sup-a", 90_000, T0 + 1, lot_id="nope")
        case Reason.LOT_CLOSED:
            return opened(), bid("sup-a", 90_000, END)
        case Reason.INVALID_AMOUNT:
            return opened(), bid("sup-a", 0, T0 + 1)
        case Reason.ABOVE_CEILING:
            return opened(), bid("sup-a", 100_001, T0 + 1)
        case Reason.DECREMENT_TOO_SMALL:
            state = in_phase("open")
            return state, bid("sup-a", 94_999, T0 + 3)
        case Reason.TIE_NOT_ALLOWED:
            return in_phase("open"), bid("sup-b", 95_000, T0 + 3)
        case Reason.CONFIRMATION_REQUIRED:
            return opened(config(fat_finger_bp=100)), bid("sup-a", 90_000, T0 + 1)
        case Reason.RATE_LIMITED:
            state = opened(config(min_bid_interval_ms=5_000))
            accepted(state, bid("sup-a", 95_000, T0 + 1))
            return state, bid("sup-a", 94_000, T0 + 2)
        case Reason.DUPLICATE_BID_ID:
            return in_phase("open"), bid("sup-b", 94_000, T0 + 3, bid_id="a1")
        case Reason.UNKNOWN_BID:
            return in_phase("open"), void("zz", T0 + 3)
        case Reason.ALREADY_VOIDED:
            state = in_phase("open")
            accepted(state, void("a1", T0 + 3))
            return state, void("a1", T0 + 4)
        case Reason.UNKNOWN_SUPPLIER:
            return draft(), InviteSupplier(actor=BUYER, at=T0, supplier="")
        case Reason.INVALID_EXTENSION:
            return opened(), extend(T0 + 1, 0)
        case Reason.LOT_NOT_CLOSED:
            return in_phase("open"), COMMANDS["AwardLot"]()
        case Reason.ALREADY_AWARDED:
            state = in_phase("closed")
            accepted(state, award("L1", END + 1))
            return state, award("L1", END + 2)
        case Reason.REASON_REQUIRED:
            return opened(), cancel(T0 + 1, reason="")
        case Reason.NO_VALID_BID:
            return in_phase("closed"), award("L2", END + 1)
        case Reason.TERMS_NOT_ACCEPTED:
            return opened(config(terms="Payment at 60 days.")), bid("sup-a", 90_000, T0 + 1)
        case Reason.STALE_TERMS:
            return opened(config(terms="Payment at 60 days.")), COMMANDS["AcceptTerms"]()
        case Reason.APPROVAL_PENDING:
            return _proposed(), award("L1", END + 2, actor=BOSS)
        case Reason.SAME_USER:
            return _proposed(), ApproveAward(actor=CLERK, at=END + 2, lot_id="L1", approve=True)
        case Reason.NOTHING_TO_APPROVE:
            return in_phase("closed"), ApproveAward(actor=BOSS, at=END + 2, lot_id="L1", approve=True)
        case Reason.SUPPLIER_RESTRICTED:
            state = opened()
            accepted(state, standing("sup-a", T0 + 1))
            return state, bid("sup-a", 90_000, T0 + 2)
    raise AssertionError(f"no scenario for {reason}")


CLERK = Actor(Role.BUYER, "org-buyer", "clerk")
BOSS = Actor(Role.BUYER, "org-buyer", "boss")
NO_TERMS = "sha256:" + "0" * 64  # the hash of no terms this auction has


def _proposed() -> AuctionState:
    """A closed lot whose award, above the approval threshold, the clerk proposed."""
    state = draft(config(award_mode=AwardMode.BUYER, approval_threshold=1))
    accepted(state, StartAuction(actor=BUYER, at=T0))
    accepted(state, bid("sup-a", 95_000, T0 + 1))
    accepted(state, tick(END))
    accepted(state, award("L1", END + 1, actor=CLERK))
    return state


@pytest.mark.parametrize("reason", [r for r in Reason
                                    if r not in TENDER_REASONS + ADMISSION_REASONS + SERVICE_REASONS])
def test_every_reason_is_reachable_and_machine_readable(reason):
    state, command = _scenario(reason)
    rejection = refused(state, command)
    assert rejection.reason is reason
    assert reason.value.isascii() and reason.value == reason.value.lower() and " " not in reason.value
    assert rejection.detail  # a human-readable explanation too
    data = msgspec.json.decode(msgspec.json.encode(rejection))
    assert data["reason"] == reason.value


def test_decide_never_mutates_the_state_even_when_it_accepts():
    state = opened(config(soft_close=SoftClose(window_ms=10_000, extension_ms=10_000)))
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    before = state_bytes(state)
    for command in (bid("sup-b", 90_000, END - 1), void("a1", T0 + 2), pause(T0 + 2),
                    extend(T0 + 2, 5_000), cancel(T0 + 2), tick(END)):
        assert isinstance(decide(state, command), list)
        assert state_bytes(state) == before
