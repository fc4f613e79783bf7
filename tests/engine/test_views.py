"""What each participant may see: views and redacted events, per role and visibility."""

from __future__ import annotations

import msgspec
import pytest

from bidserver.engine import events as ev
from bidserver.engine import audience_view, conflated, handle, redact, view_for, you_view
from bidserver.engine.commands import PlaceBid, VoidBid
from bidserver.engine.values import Role, Visibility

from .builders import BUYER, OBSERVER, OTHER_BUYER, SUPPLIERS, T0, bid, config, lot, opened, supplier, tick


def auction(visibility: Visibility):
    state = opened(config(visibility=visibility, lots=(lot(reserve=81_234),)))
    log = []
    for i, (party, amount) in enumerate((("sup-a", 95_000), ("sup-b", 93_000), ("sup-c", 94_000))):
        log += handle(state, bid(party, amount, T0 + 1 + i, bid_id=f"b-{party}")).events
    return state, log


def encoded(value) -> bytes:
    return msgspec.json.encode(value)


@pytest.mark.parametrize("visibility", list(Visibility))
def test_a_supplier_never_sees_another_suppliers_identity_nor_the_reserve(visibility):
    state, log = auction(visibility)
    for party in SUPPLIERS:
        me = supplier(party)
        seen = encoded(view_for(state, me)) + b"".join(
            encoded(redact(state, e, me)) for e in log
        )
        for other in SUPPLIERS:
            if other != party:
                assert other.encode() not in seen and other.upper().encode() not in seen
        assert b"org-buyer" not in seen and b"81234" not in seen


def test_rank_only_shows_the_rank_and_nothing_of_the_others_prices():
    state, _ = auction(Visibility.RANK_ONLY)
    lot_view = view_for(state, supplier("sup-c")).lots[0]
    assert (lot_view.your_rank, lot_view.your_best) == (2, 94_000)
    assert lot_view.leading_price is None and lot_view.board is None
    assert b"93000" not in encoded(view_for(state, supplier("sup-c")))


def test_rank_and_leading_price():
    state, _ = auction(Visibility.RANK_AND_LEADING_PRICE)
    lot_view = view_for(state, supplier("sup-a")).lots[0]
    assert (lot_view.your_rank, lot_view.leading_price, lot_view.board) == (3, 93_000, None)


def test_the_full_board_is_anonymised_for_suppliers_and_observers():
    state, _ = auction(Visibility.FULL_BOARD)
    for viewer in (supplier("sup-a"), OBSERVER):
        board = view_for(state, viewer).lots[0].board
        assert [(e.rank, e.alias, e.amount) for e in board] == [
            (1, "Supplier 2", 93_000), (2, "Supplier 3", 94_000), (3, "Supplier 1", 95_000)]
        assert all(e.supplier is None and e.name is None for e in board)
    buyer_board = view_for(state, BUYER).lots[0].board
    assert [e.supplier for e in buyer_board] == ["sup-b", "sup-c", "sup-a"]
    assert view_for(state, BUYER).lots[0].reserve == 81_234
    assert view_for(state, OBSERVER).lots[0].reserve is None


def test_the_shared_view_and_you_make_the_personal_view():
    state, _ = auction(Visibility.RANK_AND_LEADING_PRICE)
    shared = audience_view(state, Role.SUPPLIER)
    assert shared.your_alias is None and shared.lots[0].your_rank is None
    you = you_view(state, "sup-c")
    personal = view_for(state, supplier("sup-c"))
    assert you.alias == personal.your_alias == "Supplier 3"
    assert (you.lots[0].best, you.lots[0].rank) == (personal.lots[0].your_best, personal.lots[0].your_rank)
    assert msgspec.structs.replace(personal, your_alias=None, lots=tuple(
        msgspec.structs.replace(v, your_best=None, your_rank=None) for v in personal.lots)) == shared


def test_views_refuse_outsiders():
    state, _ = auction(Visibility.FULL_BOARD)
    for outsider in (OTHER_BUYER, supplier("sup-z")):
        with pytest.raises(ValueError):
            view_for(state, outsider)


def test_a_void_is_told_to_everyone_anonymously_and_to_its_author_as_theirs():
    state, _ = auction(Visibility.FULL_BOARD)
    [voided] = handle(state, VoidBid(actor=BUYER, at=T0 + 10, bid_id="b-sup-b", reason="typo")).events
    mine = redact(state, voided, supplier("sup-b"))
    theirs = redact(state, voided, supplier("sup-a"))
    assert mine["yours"] and mine["bid_id"] == "b-sup-b"
    assert "bid_id" not in theirs and "supplier" not in theirs and theirs["reason"] == "typo"
    assert view_for(state, supplier("sup-a")).lots[0].board[0].amount == 94_000  # ranks recomputed


def test_the_award_tells_each_supplier_whether_it_is_theirs():
    state = opened(config(visibility=Visibility.RANK_ONLY))
    for i, (party, amount) in enumerate((("sup-a", 95_000), ("sup-b", 93_000))):
        handle(state, bid(party, amount, T0 + 1 + i))
    events = handle(state, tick(T0 + 60_000)).events
    [award] = [e for e in events if isinstance(e, ev.LotAwarded)]
    assert redact(state, award, supplier("sup-b"))["yours"] is True
    assert redact(state, award, supplier("sup-a"))["yours"] is False
    assert "supplier" not in redact(state, award, supplier("sup-a"))
    assert (you_view(state, "sup-b").lots[0].awarded, you_view(state, "sup-a").lots[0].awarded) == (
        True, False)
    assert you_view(state, "sup-c").lots[0].awarded is False  # no bid, still told it is not theirs


def test_accepted_bids_are_conflated_except_for_the_buyer_and_phone_in_bids():
    state, log = auction(Visibility.FULL_BOARD)
    accepted = log[0]
    assert conflated(accepted, supplier("sup-a")) and conflated(accepted, OBSERVER)
    assert not conflated(accepted, BUYER)
    [phoned] = handle(state, PlaceBid(actor=BUYER, at=T0 + 20, lot_id="L1", amount=90_000,
                                      bid_id="p", on_behalf_of="sup-c")).events
    assert not conflated(phoned, supplier("sup-c")) and conflated(phoned, supplier("sup-a"))
