"""Properties that must hold for every sequence of commands (Hypothesis).

Random configurations (rules, ties, decrements, soft close, lots, staggering) and random streams of
bids, buyer actions and ticks on a clock that only moves forward. After every step:

- the leader of each lot is the best valid bid, recomputed here from the accepted bids alone;
- no bid is accepted at or after its lot's end;
- an extension moves a lot's end only by the configured amount, only for a bid inside the
  window (or the buyer, or to keep the stagger), and never beyond the maximum;
- replaying the events gives the same state, byte for byte, however often;
- every amount is an int (money stays exact).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidserver.engine.reverse import AuctionState, decide, evolve, replay, state_bytes
from bidserver.engine.reverse import events as ev
from bidserver.engine.reverse.commands import (
    ExtendAuction,
    PauseAuction,
    PlaceBid,
    ResumeAuction,
    VoidBid,
)
from bidserver.engine.rejections import Rejection
from bidserver.engine.reverse.rules import max_acceptable
from bidserver.engine.reverse.state import LotPhase
from bidserver.engine.reverse.values import (
    BidRule,
    Decrement,
    DecrementKind,
    LotCloseMode,
    SoftClose,
    SoftCloseTrigger,
    TieRule,
    Visibility,
)

from .builders import BUYER, SUPPLIERS, T0, config, lot, opened, supplier, tick

PROPERTY = settings(
    max_examples=150, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def configs(draw):
    lots = draw(st.integers(1, 3))
    staggered = lots > 1 and draw(st.booleans())
    soft = None
    if draw(st.booleans()):
        soft = SoftClose(
            window_ms=draw(st.integers(1_000, 20_000)),
            extension_ms=draw(st.integers(1_000, 20_000)),
            trigger=draw(st.sampled_from(SoftCloseTrigger)),
            max_extensions=draw(st.none() | st.integers(0, 3)),
        )
    kind = draw(st.sampled_from(DecrementKind))
    value = draw(st.integers(1, 500)) if kind is DecrementKind.AMOUNT else draw(st.integers(1, 300))
    return config(
        lots=tuple(lot(f"L{i + 1}", ceiling=draw(st.integers(1_000, 100_000))) for i in range(lots)),
        duration_ms=draw(st.integers(5_000, 60_000)),
        decrement=Decrement(kind, value),
        bid_rule=draw(st.sampled_from(BidRule)),
        tie_rule=draw(st.sampled_from(TieRule)),
        visibility=draw(st.sampled_from(Visibility)),
        lot_close=LotCloseMode.STAGGERED if staggered else LotCloseMode.PARALLEL,
        stagger_ms=draw(st.integers(1_000, 10_000)) if staggered else 0,
        soft_close=soft,
    )


@st.composite
def steps(draw, cfg):
    """(advance_ms, command factory) pairs: the factory gets the time and the state."""
    count = draw(st.integers(1, 80))
    out = []
    for _ in range(count):
        advance = draw(st.integers(0, max(1, cfg.duration_ms // 15)))
        kind = draw(st.sampled_from(["bid"] * 8 + ["tick", "tick", "pause", "resume", "extend", "void"]))
        party = draw(st.sampled_from(SUPPLIERS))
        lot_id = draw(st.sampled_from([spec.lot_id for spec in cfg.lots]))
        fraction = draw(st.floats(0.0, 1.05))
        pick = draw(st.integers(0, 1_000))
        out.append((advance, kind, party, lot_id, fraction, pick))
    return out


def command_for(state: AuctionState, at: int, kind, party, lot_id, fraction, pick):
    if kind == "bid":
        spec = next(s for s in state.config.lots if s.lot_id == lot_id)
        leader = state.lots[lot_id].leader()
        if pick % 4 == 1 and leader is not None:  # the leader's amount: a tie
            amount = leader.amount
        elif pick % 4:  # mostly a bid the rules should accept: just under the highest acceptable
            limit = max_acceptable(state.config, state.lots[lot_id], party, spec.ceiling)
            amount = max(1, limit - pick % 7)
        else:  # sometimes anything, up to above the ceiling
            amount = max(1, int(spec.ceiling * fraction))
        return PlaceBid(actor=supplier(party), at=at, lot_id=lot_id, amount=amount,
                        bid_id=f"b{state.seq}-{pick}", confirm=True)
    if kind == "tick":
        return tick(at)
    if kind == "pause":
        return PauseAuction(actor=BUYER, at=at)
    if kind == "resume":
        return ResumeAuction(actor=BUYER, at=at)
    if kind == "extend":
        return ExtendAuction(actor=BUYER, at=at, by_ms=1 + pick)
    bids = list(state.bids)
    return VoidBid(actor=BUYER, at=at, bid_id=bids[pick % len(bids)] if bids else "none",
                   reason="checked")


def best_valid(state: AuctionState, lot_id: str):
    """The lot's best valid bid from the accepted bids alone: per supplier its best (lowest, then
    earliest), then the lowest of those, then the earliest."""
    valid = [b for b in state.bids.values() if b.lot_id == lot_id and not b.voided]
    return min(valid, key=lambda b: (b.amount, b.at, b.seq), default=None)


def check_event(state: AuctionState, before: dict, command, event) -> None:
    cfg = state.config
    if isinstance(event, ev.BidAccepted):
        assert isinstance(event.amount, int)
        if cfg.tie_rule is TieRule.REJECT:  # nobody else's best bid is at this amount
            assert all(
                best.amount != event.amount
                for other, best in state.lots[event.lot_id].best.items()
                if other != event.supplier
            )
        assert before[event.lot_id][0] is not None and event.at < before[event.lot_id][0]
        assert state.lots[event.lot_id].phase is LotPhase.OPEN
    if isinstance(event, ev.LotExtended):
        old_end, old_count = before[event.lot_id]
        assert event.end_at > old_end
        if event.cause is ev.ExtensionCause.SOFT_CLOSE:
            soft = cfg.soft_close
            assert soft is not None and isinstance(command, PlaceBid)
            assert old_end - command.at <= soft.window_ms  # the bid was inside the window
            assert event.end_at == old_end + soft.extension_ms
            assert event.extensions == old_count + 1
            assert soft.max_extensions is None or event.extensions <= soft.max_extensions
        elif event.cause is ev.ExtensionCause.BUYER:
            assert isinstance(command, ExtendAuction) and event.end_at == old_end + command.by_ms
        else:  # stagger: kept exactly stagger_ms after the lot before it
            assert cfg.lot_close is LotCloseMode.STAGGERED


def _nothing(*_args) -> None:
    pass


def run(state: AuctionState, plan, before=_nothing, after=_nothing) -> list:
    """Play the steps on a clock that only moves forward; ``before(state, command, event)`` runs
    before each event is applied, ``after(state)`` after each step. Returns the events applied."""
    log: list = []
    now = T0
    for advance, *args in plan:
        now += advance
        command = command_for(state, now, *args)
        decision = decide(state, command)
        if isinstance(decision, Rejection):
            continue
        for event in decision:
            before(state, command, event)
            evolve(state, event)
            log.append(event)
        after(state)
    return log


@PROPERTY
@given(st.data())
def test_invariants_hold_after_every_step(data):
    cfg = data.draw(configs())
    state = opened(cfg)

    def before(state, command, event):
        ends = {i: (lot.end_at, lot.extensions) for i, lot in state.lots.items()}
        check_event(state, ends, command, event)

    def after(state):
        for lot_id, lot_state in state.lots.items():
            expected = best_valid(state, lot_id)
            leader = lot_state.leader()
            assert (leader and leader.bid_id) == (expected and expected.bid_id)
            ranks = [lot_state.rank_of(s) for s in lot_state.best]
            assert sorted(ranks) == list(range(1, len(ranks) + 1))

    log = run(state, data.draw(steps(cfg)), before, after)
    assert state.seq == 1 + len(SUPPLIERS) + 1 + len(log)  # create, invitations, opening, steps


@PROPERTY
@given(st.data())
def test_replay_gives_the_same_state_byte_for_byte(data):
    cfg = data.draw(configs())
    state = opened(cfg)
    log = list(_events_of_setup(cfg)) + run(state, data.draw(steps(cfg)))
    once = state_bytes(replay("auc-1", log))
    assert once == state_bytes(state)
    assert state_bytes(replay("auc-1", log)) == once
    encoded = [ev.encode_event(e) for e in log]  # through the journal's bytes and back
    assert state_bytes(replay("auc-1", [ev.decode_event(b) for b in encoded])) == once


def _events_of_setup(cfg):
    """The events ``opened`` applied, recovered by replaying its commands into a log."""
    from bidserver.engine.reverse.commands import CreateAuction, InviteSupplier, StartAuction

    state = AuctionState.new("auc-1")
    for command in (
        CreateAuction(actor=BUYER, at=T0 - 10_000, auction_id="auc-1", config=cfg),
        *(InviteSupplier(actor=BUYER, at=T0 - 5_000, supplier=p, name=p.upper()) for p in SUPPLIERS),
        StartAuction(actor=BUYER, at=T0),
    ):
        for event in decide(state, command):
            evolve(state, event)
            yield event


@PROPERTY
@given(st.data())
def test_no_bid_is_accepted_after_a_close(data):
    cfg = data.draw(configs())
    closed: set[str] = set()

    def check(state, command, event):
        if isinstance(event, ev.LotClosed):
            closed.add(event.lot_id)
        if isinstance(event, ev.BidAccepted):
            assert event.lot_id not in closed

    run(opened(cfg), data.draw(steps(cfg)), before=check)
