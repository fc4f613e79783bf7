"""Opening bids (``AuctionConfig.opening_bids``): bids standing for invited suppliers from the
moment the auction opens, as a follow-on auction's sealed prices do (EU Art. 35)."""

from __future__ import annotations

import msgspec

from bidserver.engine.rejections import Reason
from bidserver.engine.reverse import redact
from bidserver.engine.reverse.commands import StartAuction
from bidserver.engine.reverse.events import AuctionCreated, BidAccepted
from bidserver.engine.reverse.rules import config_fault
from bidserver.engine.reverse.values import BidRule, OpeningBid

from .builders import (
    BUYER, OBSERVER, T0, bid, config, draft, lot, of_type, ok, opened, refused, supplier, tick,
)

OPENING = (OpeningBid(lot_id="L1", supplier="sup-b", amount=90_000),
           OpeningBid(lot_id="L1", supplier="sup-a", amount=95_000),
           OpeningBid(lot_id="L1", supplier="sup-c", amount=95_000))


def test_opening_bids_stand_when_the_auction_opens_in_their_order():
    state = opened(config(opening_bids=OPENING))
    assert [(b.bid_id, b.supplier, b.amount, b.at) for b in state.bids.values()] == [
        ("opening:L1:sup-b", "sup-b", 90_000, T0), ("opening:L1:sup-a", "sup-a", 95_000, T0),
        ("opening:L1:sup-c", "sup-c", 95_000, T0)]
    lot_state = state.lots["L1"]
    assert [lot_state.rank_of(s) for s in ("sup-b", "sup-a", "sup-c")] == [1, 2, 3]  # ties: order
    assert all(b.entered_by is None for b in state.bids.values())


def test_a_scheduled_opening_enters_them_too():
    state = draft(config(opening_bids=OPENING, start_at=T0))
    events = ok(state, tick(T0 + 5)).events
    assert len(of_type(events, BidAccepted)) == 3 and state.lots["L1"].leader().supplier == "sup-b"


def test_after_the_opening_a_supplier_improves_on_its_opening_bid_by_the_decrement():
    state = opened(config(opening_bids=OPENING))
    assert refused(state, bid("sup-a", 94_950, T0 + 1)).reason is Reason.DECREMENT_TOO_SMALL
    ok(state, bid("sup-a", 89_000, T0 + 2))
    assert state.lots["L1"].leader().supplier == "sup-a"


def test_beat_the_leader_holds_from_the_opening_bids():
    state = opened(config(opening_bids=OPENING, bid_rule=BidRule.BEAT_LEADER))
    assert refused(state, bid("sup-c", 92_000, T0 + 1)).reason is Reason.DECREMENT_TOO_SMALL
    ok(state, bid("sup-c", 89_900, T0 + 2))


def test_the_start_is_refused_while_a_supplier_with_an_opening_bid_is_not_invited():
    state = draft(config(opening_bids=OPENING), suppliers=("sup-a", "sup-b"))
    rejection = refused(state, StartAuction(actor=BUYER, at=T0))
    assert rejection.reason is Reason.NOT_INVITED and rejection.field == "config.opening_bids[2].supplier"


def test_opening_bids_name_lots_and_keep_under_the_ceiling_once_per_supplier():
    assert config_fault(config(opening_bids=(OpeningBid(lot_id="L9", supplier="s", amount=1),))
                        ).field == "config.opening_bids[0].lot_id"
    assert config_fault(config(lots=(lot(ceiling=100),), opening_bids=(
        OpeningBid(lot_id="L1", supplier="s", amount=101),))).field == "config.opening_bids[0].amount"
    twice = (OpeningBid(lot_id="L1", supplier="s", amount=50),) * 2
    assert config_fault(config(opening_bids=twice)).field == "config.opening_bids[1].supplier"


def test_a_configuration_without_opening_bids_encodes_as_before():
    assert b"opening_bids" not in msgspec.json.encode(config())


def test_suppliers_and_observers_are_not_shown_the_opening_bids_in_the_configuration():
    state = draft(config(opening_bids=OPENING))
    event = AuctionCreated(at=T0, auction_id="auc-1", buyer="org-buyer", config=state.config)
    for actor in (supplier("sup-a"), OBSERVER):
        shown = msgspec.json.encode(redact(state, event, actor))
        assert b"opening_bids" not in shown and b"sup-b" not in shown
    assert redact(state, event, BUYER).config.opening_bids == OPENING
