"""A supplier's standing pushed into a live reverse auction (``engine.standing``), and the auction's
category: the restricted supplier bids no more, its bids stand flagged to the buyer, no automatic
award goes to it, only it and the buyer are told; replay keeps it byte for byte."""

from __future__ import annotations

import json

import msgspec
import pytest

from bidserver.engine import ocds_common
from bidserver.engine.format import Delivery
from bidserver.engine.rejections import Reason
from bidserver.engine.reverse import FORMAT, LotPhase, replay, restore, state_bytes
from bidserver.engine.reverse import events as ev
from bidserver.engine.reverse.commands import CreateAuction
from bidserver.engine.reverse.records import awards
from bidserver.engine.reverse.values import AuctionConfig, AwardMode, Visibility

from .builders import (
    BUYER, OBSERVER, T0, accepted, award, bid, config, draft, handle, of_type, opened, phoned,
    refused, setup_log, standing, supplier, tick, void,
)

END = T0 + 60_000


def test_a_restriction_is_an_event_once_and_again_only_when_its_reason_changes():
    state = opened()
    [first] = accepted(state, standing("sup-a", T0 + 1))
    assert first == ev.SupplierRestricted(at=T0 + 1, supplier="sup-a", reason="suspended",
                                          detail="suspended by the registry")
    assert accepted(state, standing("sup-a", T0 + 2)) == []  # nothing changes: no event
    [worse] = accepted(state, standing("sup-a", T0 + 3, reason="blacklisted", detail="fraud"))
    assert type(worse) is ev.SupplierRestricted
    restriction = state.restricted["sup-a"]
    assert (restriction.reason, restriction.detail, restriction.since) == ("blacklisted", "fraud", T0 + 1)
    [back] = accepted(state, standing("sup-a", T0 + 4, restricted=False, reason="lifted"))
    assert type(back) is ev.SupplierReinstated and state.restricted == {}
    assert accepted(state, standing("sup-a", T0 + 5, restricted=False)) == []


@pytest.mark.parametrize("actor", [BUYER, supplier("sup-a"), OBSERVER])
def test_only_the_server_pushes_a_standing(actor):
    assert refused(opened(), standing("sup-a", T0 + 1, actor=actor)).reason is Reason.FORBIDDEN


def test_a_standing_is_for_an_invited_supplier_of_an_auction_still_running():
    assert refused(opened(), standing("sup-z", T0 + 1)).reason is Reason.NOT_INVITED
    assert accepted(draft(), standing("sup-a", T0))  # before the opening too
    state = opened()
    accepted(state, bid("sup-a", 95_000, T0 + 1))
    accepted(state, tick(END))  # awarded at the close: every lot decided
    assert state.finished
    assert refused(state, standing("sup-a", END + 1)).reason is Reason.AUCTION_CLOSED


def test_a_restricted_suppliers_new_bids_are_refused_and_recorded_its_bids_stand():
    state = opened()
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    accepted(state, standing("sup-a", T0 + 2))
    outcome = handle(state, bid("sup-a", 90_000, T0 + 3, bid_id="a2"))
    rejection = outcome.rejection
    assert rejection.reason is Reason.SUPPLIER_RESTRICTED and "suspended" in rejection.detail
    [record] = outcome.events  # journalled like every refused bid: its id is used up
    assert type(record) is ev.BidRefused and record.reason is Reason.SUPPLIER_RESTRICTED
    assert refused(state, phoned("sup-a", 90_000, T0 + 3)).reason is Reason.SUPPLIER_RESTRICTED
    assert accepted(state, bid("sup-a", 95_000, T0 + 4, bid_id="a1")) == []  # a resend: as decided
    assert state.lots["L1"].leader().bid_id == "a1"  # its bid stands on the board
    accepted(state, standing("sup-a", T0 + 5, restricted=False))
    assert accepted(state, bid("sup-a", 90_000, T0 + 6, bid_id="a3"))  # reinstated: bids again


def test_no_automatic_award_goes_to_a_restricted_leader_the_buyer_decides():
    state = opened()
    accepted(state, bid("sup-a", 90_000, T0 + 1, bid_id="a1"))
    accepted(state, bid("sup-b", 95_000, T0 + 2, bid_id="b1"))
    accepted(state, standing("sup-a", T0 + 3))
    events = accepted(state, tick(END))
    assert of_type(events, ev.LotAwarded) == [] and state.lots["L1"].phase is LotPhase.CLOSED
    assert not state.finished  # the lot waits for the buyer's award
    rejection = refused(state, award("L1", END + 1))  # the lowest bid is the restricted one's
    assert rejection.reason is Reason.SUPPLIER_RESTRICTED and "void" in rejection.detail
    accepted(state, void("a1", END + 2, reason="supplier suspended by the registry"))
    [awarded] = accepted(state, award("L1", END + 3))
    assert (awarded.supplier, awarded.bid_id) == ("sup-b", "b1")


def test_a_restricted_supplier_behind_the_leader_does_not_stop_the_automatic_award():
    state = opened()
    accepted(state, bid("sup-a", 90_000, T0 + 1))
    accepted(state, bid("sup-b", 95_000, T0 + 2))
    accepted(state, standing("sup-b", T0 + 3))
    [awarded] = of_type(accepted(state, tick(END)), ev.LotAwarded)
    assert awarded.supplier == "sup-a"


def test_the_buyer_sees_the_restriction_per_supplier_the_supplier_in_its_you():
    state = opened()
    accepted(state, bid("sup-a", 95_000, T0 + 1))
    accepted(state, standing("sup-a", T0 + 2, detail="ISO 9001 expired"))
    buyer = {s.supplier: s.restricted for s in FORMAT.view(state, BUYER).suppliers}
    assert buyer["sup-b"] is None
    assert (buyer["sup-a"].reason, buyer["sup-a"].since) == ("suspended", T0 + 2)
    you = FORMAT.you_view(state, supplier("sup-a"))
    assert (you.restricted.reason, you.restricted.detail) == ("suspended", "ISO 9001 expired")
    assert all(lot.max_bid is None and lot.confirm_below is None for lot in you.lots)  # no bid taken
    other = FORMAT.you_view(state, supplier("sup-b"))
    assert other.restricted is None and other.lots[0].max_bid is not None
    for actor in (supplier("sup-b"), OBSERVER):
        assert b"restricted\":{" not in msgspec.json.encode(FORMAT.view(state, actor))


@pytest.mark.parametrize("visibility", list(Visibility))
def test_only_the_buyer_and_the_supplier_itself_are_told_at_once(visibility):
    state = opened(config(visibility=visibility))
    for event in (*accepted(state, standing("sup-a", T0 + 1)),
                  *accepted(state, standing("sup-a", T0 + 2, restricted=False))):
        assert FORMAT.delivery(event) is Delivery.URGENT
        assert FORMAT.shown_to(state, event, BUYER) == event
        assert FORMAT.shown_to(state, event, supplier("sup-a")) == event
        for other in (supplier("sup-b"), OBSERVER):
            assert FORMAT.shown_to(state, event, other) is None  # not even that something happened


def test_replay_with_standing_events_gives_the_state_byte_for_byte():
    state, log = setup_log(config())
    for command in (bid("sup-a", 95_000, T0 + 1), standing("sup-a", T0 + 2),
                    standing("sup-a", T0 + 3, reason="blacklisted"), bid("sup-a", 94_000, T0 + 4),
                    standing("sup-a", T0 + 5, restricted=False), tick(END)):
        log += handle(state, command).events
    assert "sup-a" not in state.restricted and state.refusals[-1].reason == "supplier_restricted"
    through_journal = [ev.decode_event(ev.encode_event(e)) for e in log]
    assert through_journal == log
    assert state_bytes(replay("auc-1", through_journal)) == state_bytes(state)
    assert state_bytes(restore(state_bytes(state))) == state_bytes(state)


# ------------------------------------------------------------------ the category


def test_a_category_is_a_cpv_code_shown_to_everyone():
    state = opened(config(category="14410000-8"))
    for actor in (BUYER, supplier("sup-a"), OBSERVER):
        assert FORMAT.view(state, actor).category == "14410000-8"
    bad = config(category="salt")  # built in code: decoding would refuse it first
    create = CreateAuction(actor=BUYER, at=T0, auction_id="auc-2", config=bad)
    rejection = refused(FORMAT.new_state("auc-2"), create)
    assert (rejection.reason, rejection.field) == (Reason.INVALID_CONFIG, "config.category")
    with pytest.raises(msgspec.ValidationError, match="category"):
        msgspec.json.decode(msgspec.json.encode(bad), type=AuctionConfig)  # the edges decode so


def test_a_configuration_without_a_category_keeps_its_bytes():
    assert b"category" not in msgspec.json.encode(config())
    assert FORMAT.view(opened(), BUYER).category is None


def test_the_releases_classify_every_item_by_the_category():
    state = opened(config(category="14410000-8", award_mode=AwardMode.AUTO_LOWEST))
    accepted(state, bid("sup-a", 95_000, T0 + 1))
    events = accepted(state, tick(END))
    [release] = [json.loads(r.payload) for r in awards(state, events)]
    for item in release["tender"]["items"]:
        assert item["classification"] == {"scheme": "CPV", "id": "14410000-8",
                                          "description": "Rock salt"}
    assert ocds_common.classified("00000000-0") == {"classification": {"scheme": "CPV",
                                                                       "id": "00000000-0"}}
    assert ocds_common.classified(msgspec.UNSET) == {}

