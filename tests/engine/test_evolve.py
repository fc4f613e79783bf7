"""``evolve`` applies one event as a plain fact; ``replay`` is a fold; ``state_bytes`` is canonical.

Events are built by hand here (not through ``decide``), so each test shows what one event does to
the state, independent of the rules that would produce it.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from bidserver.engine.reverse import AuctionState, LotPhase, Phase, evolve, replay, restore, state_bytes
from bidserver.engine.reverse import events as ev
from bidserver.engine.reverse.state import BidRecord, LotState
from bidserver.engine.reverse.values import LotSpec

from .builders import T0, accepted, bid, config, lot, lots, setup_log, tick, void


def created(*lot_ids: str) -> list[ev.Event]:
    cfg = config(lots=lots(*lot_ids) if lot_ids else (lot(),))
    return [
        ev.AuctionCreated(at=T0 - 3, auction_id="auc-1", buyer="org-buyer", config=cfg),
        ev.SupplierInvited(at=T0 - 2, supplier="sup-a", alias="Supplier 1", name="A Ltd"),
        ev.SupplierInvited(at=T0 - 1, supplier="sup-b", alias="Supplier 2"),
        ev.AuctionOpened(at=T0, lot_ends=tuple(ev.LotEnd(s.lot_id, T0 + 60_000) for s in cfg.lots)),
    ]


def bid_event(bid_id: str, party: str, amount: int, at: int, lot_id: str = "L1", **kw):
    return ev.BidAccepted(at=at, bid_id=bid_id, lot_id=lot_id, supplier=party, amount=amount, **kw)


def folded(events) -> AuctionState:
    return replay("auc-1", events)


# ------------------------------------------------------------------ one event each


def test_creation_invitations_and_opening():
    state = folded(created("L1", "L2")[:1])
    assert (state.phase, state.buyer, state.seq) == (Phase.DRAFT, "org-buyer", 1)
    assert set(state.lots) == {"L1", "L2"} and all(
        lot_state.phase is LotPhase.PENDING and lot_state.end_at is None
        for lot_state in state.lots.values())
    state = folded(created("L1", "L2"))
    assert state.suppliers["sup-a"].alias == "Supplier 1" and state.suppliers["sup-a"].name == "A Ltd"
    assert state.suppliers["sup-b"].invited_at == T0 - 1
    assert (state.phase, state.opened_at, state.seq) == (Phase.OPEN, T0, 4)
    assert {i: (s.phase, s.end_at) for i, s in state.lots.items()} == {
        "L1": (LotPhase.OPEN, T0 + 60_000), "L2": (LotPhase.OPEN, T0 + 60_000)}


def test_a_config_update_replaces_the_config_and_the_lots():
    state = folded(created("L1")[:1])
    evolve(state, ev.ConfigUpdated(at=T0, config=config(lots=lots("X", "Y"))))
    assert set(state.lots) == {"X", "Y"} and state.config.lots[0].lot_id == "X"


def test_an_accepted_bid_is_recorded_with_its_sequence_number_and_becomes_best_and_last():
    state = folded(created())
    evolve(state, bid_event("b1", "sup-a", 90_000, T0 + 5))
    record = state.bids["b1"]
    assert (record.supplier, record.amount, record.at, record.seq, record.entered_by) == (
        "sup-a", 90_000, T0 + 5, 5, None)
    lot_state = state.lots["L1"]
    assert lot_state.best["sup-a"] is record and lot_state.last["sup-a"] is record
    assert lot_state.leader() is record and state.last_bid_at["sup-a"] == T0 + 5
    evolve(state, bid_event("b2", "sup-b", 80_000, T0 + 6, entered_by="org-buyer"))
    assert lot_state.leader().bid_id == "b2" and state.bids["b2"].entered_by == "org-buyer"
    assert (lot_state.rank_of("sup-b"), lot_state.rank_of("sup-a"), lot_state.rank_of("sup-c")) == (
        1, 2, None)


def test_a_worse_bid_from_the_journal_becomes_last_but_never_best():
    state = folded(created())
    evolve(state, bid_event("b1", "sup-a", 90_000, T0 + 5))
    evolve(state, bid_event("b2", "sup-a", 95_000, T0 + 6))
    lot_state = state.lots["L1"]
    assert lot_state.best["sup-a"].bid_id == "b1" and lot_state.last["sup-a"].bid_id == "b2"
    assert len(lot_state.order) == 1


def test_equal_amounts_rank_by_time_then_by_sequence():
    state = folded(created())
    evolve(state, bid_event("b1", "sup-b", 90_000, T0 + 5))
    evolve(state, bid_event("b2", "sup-a", 90_000, T0 + 5))  # same ms: the event order decides
    lot_state = state.lots["L1"]
    assert [entry[3] for entry in lot_state.order] == ["sup-b", "sup-a"]
    assert lot_state.tied(90_000, "sup-a") and lot_state.tied(90_000, "sup-b")
    assert not lot_state.tied(90_001, "sup-a")


def test_extension_pause_resume_cancel_close_award_and_auction_close():
    state = folded(created("L1", "L2"))
    evolve(state, ev.LotExtended(at=T0 + 1, lot_id="L2", end_at=T0 + 90_000,
                                 cause=ev.ExtensionCause.SOFT_CLOSE, extensions=1))
    assert (state.lots["L2"].end_at, state.lots["L2"].extensions) == (T0 + 90_000, 1)
    assert state.lots["L1"].end_at == T0 + 60_000
    evolve(state, ev.AuctionPaused(at=T0 + 2, reason="network"))
    assert (state.phase, state.paused_at) == (Phase.PAUSED, T0 + 2)
    evolve(state, ev.AuctionResumed(at=T0 + 5, lot_ends=(ev.LotEnd("L1", T0 + 60_003),)))
    assert (state.phase, state.paused_at, state.lots["L1"].end_at) == (Phase.OPEN, None, T0 + 60_003)
    evolve(state, bid_event("b1", "sup-a", 90_000, T0 + 6))
    evolve(state, ev.LotClosed(at=T0 + 60_003, lot_id="L1"))
    assert state.lots["L1"].phase is LotPhase.CLOSED and state.phase is Phase.OPEN
    evolve(state, ev.LotAwarded(at=T0 + 60_003, lot_id="L1", award_id="auc-1:L1", bid_id="b1",
                                supplier="sup-a", amount=90_000, basis=ev.AwardBasis.LOWEST))
    award = state.lots["L1"].award
    assert state.lots["L1"].phase is LotPhase.AWARDED
    assert (award.supplier, award.amount, award.basis, award.bid_id) == ("sup-a", 90_000, "lowest", "b1")
    evolve(state, ev.LotClosed(at=T0 + 90_000, lot_id="L2"))
    evolve(state, ev.AuctionClosed(at=T0 + 90_000))
    assert state.phase is Phase.CLOSED and state.finished  # L2 has no bid
    evolve(state, ev.AuctionCancelled(at=T0 + 90_001, reason="fraud"))
    assert (state.phase, state.cancel_reason) == (Phase.CANCELLED, "fraud")


def test_a_void_falls_back_to_the_suppliers_best_remaining_bid_and_reranks():
    state = folded(created())
    for event in (
        bid_event("a1", "sup-a", 95_000, T0 + 1),
        bid_event("b1", "sup-b", 93_000, T0 + 2),
        bid_event("a2", "sup-a", 91_000, T0 + 3),
        bid_event("a3", "sup-a", 90_000, T0 + 4),
    ):
        evolve(state, event)
    lot_state = state.lots["L1"]
    evolve(state, ev.BidVoided(at=T0 + 5, bid_id="a3", lot_id="L1", reason="typo"))
    assert state.bids["a3"].voided and state.bids["a3"].void_reason == "typo"
    assert lot_state.best["sup-a"].bid_id == "a2" and lot_state.last["sup-a"].bid_id == "a2"
    evolve(state, ev.BidVoided(at=T0 + 6, bid_id="a1", lot_id="L1", reason="typo"))  # not best
    assert lot_state.best["sup-a"].bid_id == "a2" and lot_state.last["sup-a"].bid_id == "a2"
    evolve(state, ev.BidVoided(at=T0 + 7, bid_id="a2", lot_id="L1", reason="typo"))
    assert "sup-a" not in lot_state.best and "sup-a" not in lot_state.last
    assert [entry[3] for entry in lot_state.order] == ["sup-b"] and lot_state.rank_of("sup-a") is None
    assert lot_state.leader().bid_id == "b1"


def test_seq_counts_every_event():
    events = created()
    state = AuctionState.new("auc-1")
    for n, event in enumerate(events, 1):
        evolve(state, event)
        assert state.seq == n


# ------------------------------------------------------------------ replay and canonical bytes


def live_auction():
    """An auction run through ``handle`` (bids, a void, a phone-in, a close and an award)."""
    state, log = setup_log(config(lots=(lot("L1", reserve=92_000), lot("L2"))))
    for command in (
        bid("sup-a", 95_000, T0 + 1, bid_id="a1"),
        bid("sup-b", 94_000, T0 + 2, bid_id="b1"),
        bid("sup-a", 91_000, T0 + 3, bid_id="a2"),
        bid("sup-c", 50_000, T0 + 4, lot_id="L2", bid_id="c1", confirm=True),
        void("a2", T0 + 5),
        bid("sup-a", 93_000, T0 + 6, bid_id="a3"),
        tick(T0 + 60_000),
    ):
        log += accepted(state, command)
    return state, log


def test_replay_of_the_journal_gives_the_live_state_byte_for_byte():
    state, log = live_auction()
    assert state.phase is Phase.CLOSED and state.lots["L1"].phase is LotPhase.CLOSED  # reserve unmet
    assert state.lots["L2"].award.bid_id == "c1"
    once = state_bytes(replay("auc-1", log))
    assert once == state_bytes(state) == state_bytes(replay("auc-1", log))
    through_journal = [ev.decode_event(ev.encode_event(e)) for e in log]
    assert through_journal == log
    assert state_bytes(replay("auc-1", through_journal)) == once


def test_every_prefix_replays_to_the_state_at_that_point():
    state, log = setup_log(config())
    snapshots = {len(log): state_bytes(state)}
    for command in (bid("sup-a", 95_000, T0 + 1), bid("sup-b", 94_000, T0 + 2), tick(T0 + 60_000)):
        log += accepted(state, command)
        snapshots[len(log)] = state_bytes(state)
    assert len(snapshots) == 4
    for length, snapshot in snapshots.items():
        assert state_bytes(replay("auc-1", log[:length])) == snapshot


def test_state_bytes_differ_when_the_state_differs():
    state, _ = live_auction()
    before = state_bytes(state)
    state.lots["L2"].extensions += 1
    assert state_bytes(state) != before


def test_state_bytes_do_not_depend_on_dict_insertion_order():
    one, two = folded(created()), folded(created())
    one.last_bid_at = {"sup-a": 1, "sup-b": 2}
    two.last_bid_at = {"sup-b": 2, "sup-a": 1}
    assert state_bytes(one) == state_bytes(two)


@pytest.mark.parametrize("event", [
    ev.AuctionCreated(at=1, auction_id="a", buyer="o", config=config(lots=(
        lot("L1", reserve=5),))),
    ev.ConfigUpdated(at=1, config=config()),
    ev.SupplierInvited(at=1, supplier="s", alias="Supplier 1", name="S"),
    ev.AuctionOpened(at=1, lot_ends=(ev.LotEnd("L1", 5),)),
    ev.BidAccepted(at=1, bid_id="b", lot_id="L1", supplier="s", amount=7, entered_by="o"),
    ev.LotExtended(at=1, lot_id="L1", end_at=9, cause=ev.ExtensionCause.STAGGER, extensions=2),
    ev.AuctionPaused(at=1, reason="r"),
    ev.AuctionResumed(at=1, lot_ends=(ev.LotEnd("L1", 5),)),
    ev.AuctionCancelled(at=1, reason="r"),
    ev.BidVoided(at=1, bid_id="b", lot_id="L1", reason="r"),
    ev.LotClosed(at=1, lot_id="L1"),
    ev.LotAwarded(at=1, lot_id="L1", award_id="a:L1", bid_id="b", supplier="s", amount=7,
                  basis=ev.AwardBasis.BUYER_CHOICE, reason="r"),
    ev.AuctionClosed(at=1),
], ids=lambda e: type(e).__name__)
def test_every_event_survives_the_journal_encoding(event):
    data = ev.encode_event(event)
    again = ev.decode_event(data)
    assert again == event and type(again) is type(event)
    assert not any(isinstance(v, float) for v in leaves(msgspec.json.decode(data)))


def leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value


def test_quantities_stay_decimal_through_the_journal():
    cfg = config(lots=(LotSpec(lot_id="L1", title="salt", ceiling=10, quantity=Decimal("12.5"),
                               unit="t"),))
    event = ev.AuctionCreated(at=1, auction_id="a", buyer="o", config=cfg)
    assert ev.decode_event(ev.encode_event(event)).config.lots[0].quantity == Decimal("12.5")


def test_the_order_book_helpers():
    lot_state = LotState("L1")
    assert lot_state.leader() is None and lot_state.rank_of("x") is None
    a = BidRecord("a", "L1", "sup-a", 100, 5, 1)
    b = BidRecord("b", "L1", "sup-b", 100, 4, 2)
    c = BidRecord("c", "L1", "sup-c", 99, 9, 3)
    for record in (a, b, c):
        lot_state.set_best(record.supplier, record)
    assert [lot_state.rank_of(s) for s in ("sup-c", "sup-b", "sup-a")] == [1, 2, 3]
    lot_state.set_best("sup-c", None)
    assert lot_state.leader() is b and lot_state.rank_of("sup-c") is None and len(lot_state.order) == 2
    lot_state.set_best("sup-a", BidRecord("a2", "L1", "sup-a", 50, 10, 4))
    assert lot_state.leader().bid_id == "a2" and len(lot_state.order) == 2


# ------------------------------------------------------------------ journals of older versions

# An auction_created entry as bidserver 0.2 wrote it, before configurations had a buyer name.
OLD_CREATED = (
    b'{"type":"auction_created","auction_id":"auc-1","buyer":"org-buyer","config":{"format":'
    b'"reverse_auction","title":"Road salt","currency":"EUR","lots":[{"lot_id":"L1","title":"lot L1",'
    b'"quantity":"1","unit":"lot","ceiling":100000,"reserve":null}],"duration_ms":60000,"decrement":'
    b'{"kind":"amount","value":100},"start_at":null,"bid_rule":"improve_own","tie_rule":"reject",'
    b'"visibility":"rank_only","lot_close":"parallel","stagger_ms":0,"soft_close":null,'
    b'"fat_finger_bp":null,"min_bid_interval_ms":0,"award_mode":"auto_lowest","minor_units":2},'
    b'"at":1799999990000}'
)


def test_a_configuration_without_a_buyer_name_keeps_its_bytes():
    """The buyer name is left out of a configuration that has none (not written as ""), so an
    older journal's events, and the states and snapshots folded from them, keep their exact bytes."""
    event = ev.decode_event(OLD_CREATED)
    assert ev.encode_event(event) == OLD_CREATED
    assert event.config == config()
    state = replay("auc-1", [event])
    assert b"buyer_name" not in state_bytes(state)
    named = msgspec.structs.replace(event, config=config(buyer_name="Road Authority"))
    assert ev.decode_event(ev.encode_event(named)).config.buyer_name == "Road Authority"


# Entries as bidserver wrote them before events named the acting person (the fields ``user``, an
# extension's ``reason``) and before refused bids were recorded: encoded by that version.
OLD_JOURNAL = [
    b'{"type":"auction_created","auction_id":"a","buyer":"b","config":{"format":"reverse_auction",'
    b'"title":"t","currency":"EUR","lots":[{"lot_id":"L1","title":"l","quantity":"1","unit":"lot",'
    b'"ceiling":100,"reserve":null}],"duration_ms":1000,"decrement":{"kind":"amount","value":1},'
    b'"start_at":null,"bid_rule":"improve_own","tie_rule":"reject","visibility":"rank_only",'
    b'"lot_close":"parallel","stagger_ms":0,"soft_close":null,"fat_finger_bp":null,'
    b'"min_bid_interval_ms":0,"award_mode":"auto_lowest","minor_units":2},"at":1}',
    b'{"type":"supplier_invited","supplier":"s","alias":"Supplier 1","name":"S","at":2}',
    b'{"type":"auction_opened","lot_ends":[{"lot_id":"L1","end_at":1003}],"at":3}',
    b'{"type":"bid_accepted","bid_id":"x","lot_id":"L1","supplier":"s","amount":90,"entered_by":"b","at":4}',
    b'{"type":"lot_extended","lot_id":"L1","end_at":2003,"cause":"buyer","extensions":0,"at":5}',
    b'{"type":"auction_paused","reason":"p","at":6}',
    b'{"type":"auction_resumed","lot_ends":[{"lot_id":"L1","end_at":2004}],"at":7}',
    b'{"type":"lot_closed","lot_id":"L1","at":2004}',
    b'{"type":"lot_awarded","lot_id":"L1","award_id":"a:L1","bid_id":"x","supplier":"s","amount":90,'
    b'"basis":"buyer_choice","reason":"r","at":2005}',
    b'{"type":"auction_closed","at":2004}',
]
OLD_ELSEWHERE = [
    b'{"type":"bid_voided","bid_id":"x","lot_id":"L1","reason":"v","at":8}',
    b'{"type":"auction_cancelled","reason":"c","at":9}',
]


def test_entries_written_before_the_audit_fields_re_encode_byte_for_byte_and_replay():
    """``bidserver replay --verify`` re-encodes every entry and compares it with what its writer
    sealed: fields added later must not appear in an entry that did not have them."""
    for entry in OLD_JOURNAL + OLD_ELSEWHERE:
        assert ev.encode_event(ev.decode_event(entry)) == entry
    state = replay("a", [ev.decode_event(entry) for entry in OLD_JOURNAL])
    assert (state.phase, state.seq, state.refusals, state.refused) == (Phase.CLOSED, 10, [], {})
    record = state.bids["x"]
    assert (record.amount, record.entered_by, record.user, record.void_user) == (90, "b", "", "")
    award = state.lots["L1"].award
    assert (award.bid_id, award.basis, award.reason, award.user) == ("x", "buyer_choice", "r", "")


def test_a_snapshot_taken_before_the_audit_fields_restores_to_the_same_state():
    """A snapshot written by the previous version (no refusals, no users) is still good."""
    state = replay("a", [ev.decode_event(entry) for entry in OLD_JOURNAL])
    old = msgspec.json.decode(state_bytes(state))
    del old["refusals"], old["refused"]
    for record in [*old["bids"].values(), *(b for lot in old["lots"].values()
                                            for b in (*lot["best"].values(), *lot["last"].values()))]:
        del record["user"], record["void_user"]
    del old["lots"]["L1"]["award"]["user"]
    assert state_bytes(restore(msgspec.json.encode(old))) == state_bytes(state)


def test_the_listings_updated_at_moves_with_what_it_shows_never_with_a_bid():
    """``summary().updated_at``: the last change of the title, the phase or the invitations."""
    from bidserver.engine.reverse import FORMAT

    events = created()
    state = folded(events)
    assert FORMAT.summary(state).updated_at == T0  # opened
    extended = ev.LotExtended(at=T0 + 7, lot_id="L1", end_at=T0 + 90_000,
                              cause=ev.ExtensionCause.STAGGER, extensions=1)
    for event in (bid_event("b1", "sup-a", 90_000, T0 + 5),
                  bid_event("b2", "sup-b", 80_000, T0 + 6), extended):
        evolve(state, event)
        events.append(event)
    assert FORMAT.summary(state).updated_at == T0
    evolve(state, ev.AuctionPaused(at=T0 + 8, reason="check"))
    assert FORMAT.summary(state).updated_at == T0 + 8
    assert folded([*events, ev.AuctionPaused(at=T0 + 8, reason="check")]).listed_at == T0 + 8
    assert FORMAT.summary(restore(state_bytes(state))) == FORMAT.summary(state)
