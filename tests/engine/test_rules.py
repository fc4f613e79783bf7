"""The integer arithmetic of the rules (``bidserver.engine.reverse.rules``), one function at a time."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidserver.engine.reverse.events import LotEnd
from bidserver.engine.reverse.rules import (
    ceil_div,
    config_fault,
    config_problem,
    confirm_below,
    lot_ends,
    max_acceptable,
    needs_confirmation,
    step,
    stagger_pushes,
    told_limit,
)
from bidserver.engine.reverse.state import BidRecord, LotPhase, LotState
from bidserver.engine.reverse.values import (
    BidRule,
    Decrement,
    DecrementKind,
    LotCloseMode,
    LotSpec,
    SoftClose,
    Visibility,
)

from .builders import T0, config, lot, lots, opened

PCT = DecrementKind.PERCENT
AMT = DecrementKind.AMOUNT


def book(*bids: tuple[str, int]) -> LotState:
    """A lot whose suppliers' best (and last) bids are the given (supplier, amount) pairs, in order."""
    state = LotState("L1", phase=LotPhase.OPEN, end_at=T0 + 60_000)
    for seq, (party, amount) in enumerate(bids, 1):
        record = BidRecord(f"b{seq}", "L1", party, amount, T0 + seq, seq)
        state.last[party] = record
        if party not in state.best or record.key < state.best[party].key:
            state.set_best(party, record)
    return state


# ------------------------------------------------------------------ configuration


def test_ceil_div_rounds_up_for_positive_numbers():
    assert [ceil_div(a, 4) for a in (0, 1, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3]


def test_a_sound_configuration_has_no_problem():
    assert config_problem(config()) == ""
    full = config(
        lots=(lot("L1", reserve=80_000), lot("L2", ceiling=5, reserve=5)),
        lot_close=LotCloseMode.STAGGERED, stagger_ms=1,
        soft_close=SoftClose(window_ms=1, extension_ms=1, max_extensions=0),
        decrement=Decrement(PCT, 10_000), fat_finger_bp=10_000, minor_units=4, start_at=0,
    )
    assert config_problem(full) == ""
    # a single staggered lot needs no gap
    assert config_problem(config(lot_close=LotCloseMode.STAGGERED, stagger_ms=0)) == ""


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"title": "  "}, "title"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "QQQ"}, "ISO 4217"),  # three capitals, but no currency
        ({"currency": "DEM"}, "ISO 4217"),  # withdrawn (the euro replaced it)
        ({"lots": ()}, "lot"),
        ({"lots": (lot("L1"), lot("L1"))}, "unique"),
        ({"lots": (lot(" "),)}, "unique"),
        ({"lots": (lot(ceiling=0),)}, "ceiling"),
        ({"lots": (lot(ceiling=-5),)}, "ceiling"),
        ({"lots": (lot(ceiling=100, reserve=101),)}, "reserve"),
        ({"lots": (lot(reserve=0),)}, "reserve"),
        ({"lots": (LotSpec(lot_id="L1", title="x", ceiling=1, quantity=Decimal(0)),)}, "quantity"),
        *(
            ({"lots": (LotSpec(lot_id="L1", title="x", ceiling=1, quantity=Decimal(q)),)}, "finite")
            for q in ("NaN", "sNaN", "Infinity", "-Infinity")
        ),
        ({"duration_ms": 0}, "duration_ms"),
        ({"decrement": Decrement(AMT, 0)}, "decrement"),
        ({"decrement": Decrement(PCT, -1)}, "decrement"),
        ({"decrement": Decrement(PCT, 10_001)}, "10000"),
        ({"stagger_ms": -1}, "stagger_ms"),
        ({"lot_close": LotCloseMode.STAGGERED, "lots": lots("L1", "L2")}, "stagger_ms"),
        ({"soft_close": SoftClose(window_ms=0, extension_ms=1)}, "window_ms"),
        ({"soft_close": SoftClose(window_ms=1, extension_ms=0)}, "extension_ms"),
        ({"soft_close": SoftClose(window_ms=1, extension_ms=1, max_extensions=-1)}, "max_extensions"),
        ({"fat_finger_bp": 0}, "fat_finger_bp"),
        ({"fat_finger_bp": 10_001}, "fat_finger_bp"),
        ({"min_bid_interval_ms": -1}, "min_bid_interval_ms"),
        ({"minor_units": 5}, "minor_units"),
        ({"minor_units": -1}, "minor_units"),
        ({"start_at": -1}, "start_at"),
    ],
)
def test_each_configuration_problem_is_named(overrides, words):
    problem = config_problem(msgspec.structs.replace(config(), **overrides))
    assert words in problem


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "  "}, "config.title"),
        ({"currency": "QQQ"}, "config.currency"),
        ({"lots": ()}, "config.lots"),
        ({"lots": (lot("L1"), lot("L1"))}, "config.lots[1].lot_id"),
        ({"lots": (lot("L1"), lot("L2", ceiling=100, reserve=101))}, "config.lots[1].reserve"),
        ({"lots": (lot(ceiling=0),)}, "config.lots[0].ceiling"),
        ({"decrement": Decrement(PCT, 10_001)}, "config.decrement.value"),
        ({"lot_close": LotCloseMode.STAGGERED, "lots": lots("L1", "L2")}, "config.stagger_ms"),
        ({"soft_close": SoftClose(window_ms=1, extension_ms=0)}, "config.soft_close.extension_ms"),
        ({"fat_finger_bp": 0}, "config.fat_finger_bp"),
    ],
)
def test_each_configuration_problem_names_its_field(overrides, field):
    """The console shows a refused configuration next to the field a person typed it in."""
    fault = config_fault(msgspec.structs.replace(config(), **overrides))
    assert fault is not None and fault.field == field
    assert config_problem(msgspec.structs.replace(config(), **overrides)) == fault.message
    assert config_fault(config()) is None


@pytest.mark.parametrize("code", ["EUR", "JPY", "CHF", "CNY", "XOF", "KWD"])
def test_iso_4217_codes_are_accepted(code):
    assert config_problem(config(currency=code)) == ""


# ------------------------------------------------------------------ lot ends


def test_parallel_lots_all_end_after_the_duration():
    cfg = config(lots=lots("L1", "L2", "L3"), duration_ms=45_000, stagger_ms=7_000)  # ignored
    assert lot_ends(cfg, T0) == tuple(LotEnd(i, T0 + 45_000) for i in ("L1", "L2", "L3"))


def test_staggered_lot_n_ends_the_interval_after_lot_n_minus_1():
    cfg = config(lots=lots("A", "B", "C"), duration_ms=45_000, lot_close=LotCloseMode.STAGGERED,
                 stagger_ms=7_000)
    assert lot_ends(cfg, T0) == (
        LotEnd("A", T0 + 45_000), LotEnd("B", T0 + 52_000), LotEnd("C", T0 + 59_000))


# ------------------------------------------------------------------ decrements


def test_an_amount_decrement_is_the_same_at_any_price():
    cfg = config(decrement=Decrement(AMT, 250))
    assert step(cfg, 1_000_000) == step(cfg, 300) == 250


@pytest.mark.parametrize(
    ("bp", "reference", "expected"),
    [
        (100, 90_000, 900),  # 1% exactly
        (150, 90_001, 1_351),  # 1350.015 rounded up
        (150, 101, 2),  # 1.515 rounded up
        (1, 50, 1),  # 0.005 rounded up: never zero
        (10_000, 777, 777),  # 100%
    ],
)
def test_a_percentage_decrement_is_of_the_reference_rounded_up(bp, reference, expected):
    got = step(config(decrement=Decrement(PCT, bp)), reference)
    assert got == expected and type(got) is int


# ------------------------------------------------------------------ the highest acceptable amount


def test_a_first_bid_may_be_anything_up_to_the_ceiling():
    for rule in BidRule:
        cfg = config(bid_rule=rule)
        assert max_acceptable(cfg, book(), "sup-a", 100_000) == 100_000


def test_improve_own_counts_only_the_suppliers_own_best():
    cfg = config(bid_rule=BidRule.IMPROVE_OWN, decrement=Decrement(AMT, 100))
    lot_state = book(("sup-a", 90_000), ("sup-b", 95_000))
    assert max_acceptable(cfg, lot_state, "sup-b", 100_000) == 94_900  # not 89_900
    assert max_acceptable(cfg, lot_state, "sup-a", 100_000) == 89_900
    assert max_acceptable(cfg, lot_state, "sup-c", 100_000) == 100_000


def test_beat_leader_counts_the_leading_bid_even_for_a_first_bid():
    cfg = config(bid_rule=BidRule.BEAT_LEADER, decrement=Decrement(AMT, 100))
    lot_state = book(("sup-a", 90_000), ("sup-b", 95_000))
    assert max_acceptable(cfg, lot_state, "sup-c", 100_000) == 89_900
    assert max_acceptable(cfg, lot_state, "sup-b", 100_000) == 89_900
    assert max_acceptable(cfg, lot_state, "sup-a", 100_000) == 89_900  # the leader beats itself


def test_the_percentage_reference_is_the_own_bid_or_the_leader():
    own = config(bid_rule=BidRule.IMPROVE_OWN, decrement=Decrement(PCT, 1_000))  # 10%
    lead = config(bid_rule=BidRule.BEAT_LEADER, decrement=Decrement(PCT, 1_000))
    lot_state = book(("sup-a", 50_000), ("sup-b", 80_000))
    assert max_acceptable(own, lot_state, "sup-b", 100_000) == 72_000
    assert max_acceptable(lead, lot_state, "sup-b", 100_000) == 45_000


def test_the_limit_never_exceeds_the_ceiling():
    cfg = config(bid_rule=BidRule.BEAT_LEADER, decrement=Decrement(AMT, 100))
    assert max_acceptable(cfg, book(("sup-a", 200_000)), "sup-b", 100_000) == 100_000


@pytest.mark.parametrize("visibility", list(Visibility))
@pytest.mark.parametrize("rule", list(BidRule))
def test_a_limit_is_told_unless_it_would_reveal_the_leaders_price(visibility, rule):
    cfg = config(bid_rule=rule, visibility=visibility, decrement=Decrement(AMT, 100))
    lot_state = book(("sup-a", 90_000), ("sup-b", 95_000))
    hidden = visibility is Visibility.RANK_ONLY and rule is BidRule.BEAT_LEADER
    assert told_limit(cfg, lot_state, "sup-a", 89_900) == 89_900  # the leader knows its price
    for other in ("sup-b", "sup-c"):
        assert told_limit(cfg, lot_state, other, 89_900) == (None if hidden else 89_900)
    # nobody has bid: telling the ceiling now and nothing after the first bid would tell that
    # someone bid
    assert told_limit(cfg, book(), "sup-a", 100_000) == (None if hidden else 100_000)


# ------------------------------------------------------------------ fat-finger guard


def test_no_guard_configured_means_no_confirmation():
    cfg = config(fat_finger_bp=None)
    assert not needs_confirmation(cfg, book(("sup-a", 90_000)), "sup-a", 100_000, 1)


def test_the_guard_compares_with_the_last_bid_and_allows_exactly_the_limit():
    cfg = config(fat_finger_bp=2_000)  # 20%
    lot_state = book(("sup-a", 50_000))
    assert not needs_confirmation(cfg, lot_state, "sup-a", 100_000, 40_000)  # exactly 20%
    assert needs_confirmation(cfg, lot_state, "sup-a", 100_000, 39_999)
    # a first bid is compared with the ceiling
    assert not needs_confirmation(cfg, lot_state, "sup-b", 100_000, 80_000)
    assert needs_confirmation(cfg, lot_state, "sup-b", 100_000, 79_999)


def test_the_guard_uses_the_last_bid_not_the_best():
    cfg = config(fat_finger_bp=1_000)
    lot_state = book(("sup-a", 50_000))
    lot_state.last["sup-a"] = BidRecord("x", "L1", "sup-a", 90_000, T0 + 9, 9)  # e.g. after a void
    assert needs_confirmation(cfg, lot_state, "sup-a", 100_000, 80_000)
    assert not needs_confirmation(cfg, lot_state, "sup-a", 100_000, 81_000)


# ------------------------------------------------------------------ stagger pushes


def staggered(gap: int = 10_000):
    cfg = config(lots=lots("L1", "L2", "L3"), lot_close=LotCloseMode.STAGGERED, stagger_ms=gap)
    return opened(cfg)


def test_parallel_lots_are_never_pushed():
    state = opened(config(lots=lots("L1", "L2")))
    assert list(stagger_pushes(state, {"L1": T0 + 999_999, "L2": T0 + 60_000})) == []


def test_later_lots_keep_the_gap_behind_an_earlier_lot():
    state = staggered()
    ends = {"L1": T0 + 65_000, "L2": T0 + 70_000, "L3": T0 + 80_000}
    assert list(stagger_pushes(state, ends)) == [("L2", T0 + 75_000), ("L3", T0 + 85_000)]
    assert ends == {"L1": T0 + 65_000, "L2": T0 + 75_000, "L3": T0 + 85_000}


def test_a_gap_wider_than_needed_is_left_alone():
    state = staggered()
    ends = {"L1": T0 + 61_000, "L2": T0 + 90_000, "L3": T0 + 100_000}
    assert list(stagger_pushes(state, ends)) == []
    ends = {"L1": T0 + 61_000, "L2": T0 + 71_000, "L3": T0 + 100_000}  # exactly the gap
    assert list(stagger_pushes(state, ends)) == []


def test_a_closed_lot_is_never_pushed_but_still_counts_as_the_lot_before():
    state = staggered()
    state.lots["L2"].phase = LotPhase.CLOSED
    ends = {"L1": T0 + 75_000, "L2": T0 + 70_000, "L3": T0 + 80_000}
    assert list(stagger_pushes(state, ends)) == []  # L2 is closed; L3 is 10 s after L2
    state.lots["L2"].phase = LotPhase.OPEN
    state.lots["L1"].phase = LotPhase.CLOSED
    ends = {"L1": T0 + 60_000, "L2": T0 + 95_000, "L3": T0 + 80_000}  # the buyer extended L2
    assert list(stagger_pushes(state, ends)) == [("L3", T0 + 105_000)]


def test_the_confirmation_threshold_is_the_lowest_amount_needing_none():
    cfg = config(fat_finger_bp=2_000)  # 20%
    lot_state = book(("sup-a", 50_000))
    assert confirm_below(cfg, lot_state, "sup-a", 100_000) == 40_000  # the last bid
    assert confirm_below(cfg, lot_state, "sup-b", 100_000) == 80_000  # the ceiling
    assert confirm_below(config(fat_finger_bp=None), lot_state, "sup-a", 100_000) is None
    # rounded up: 20% of 99,999 is 19,999.8, so 79,999 drops more than 20% and 80,000 does not
    assert confirm_below(cfg, book(("sup-a", 99_999)), "sup-a", 100_000) == 80_000


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(
    reference=st.integers(1, 10**12),
    bp=st.integers(1, 10_000),
    amount=st.integers(-(10**12), 10**12),
    first=st.booleans(),
)
def test_the_guard_and_its_threshold_are_one_rule(reference, bp, amount, first):
    """For every amount: it needs a confirmation exactly when it is below ``confirm_below``, and
    that is exactly a drop of more than ``bp`` basis points from the reference (the rule as the
    configuration states it), for a first bid (reference: the ceiling) and a later one."""
    cfg = config(fat_finger_bp=bp)
    lot_state = book() if first else book(("sup-a", reference))
    threshold = confirm_below(cfg, lot_state, "sup-a", reference)
    drop_too_big = (reference - amount) * 10_000 > reference * bp
    assert needs_confirmation(cfg, lot_state, "sup-a", reference, amount) == (amount < threshold)
    assert drop_too_big == (amount < threshold)
