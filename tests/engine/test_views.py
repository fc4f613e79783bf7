"""What each participant may see: views and redacted events, per role and visibility."""

from __future__ import annotations

import msgspec
import pytest

from bidserver.engine.reverse import events as ev
from bidserver.engine.reverse import FORMAT, AuctionState, audience_view, next_deadline, view_for, you_view
from bidserver.engine.reverse.commands import (
    AwardLot, CancelAuction, CreateAuction, ExtendAuction, InviteSupplier, PauseAuction, PlaceBid,
    ResumeAuction,
    VoidBid,
)
from bidserver.engine.reverse.values import (
    SYSTEM, AwardMode, BidRule, Decrement, DecrementKind, LotCloseMode, Role, Visibility,
)

from .builders import (
    handle, BUYER, OBSERVER, OTHER_BUYER, SUPPLIERS, T0, bid, config, draft, lot, lots, opened, supplier, tick,
)


def auction(visibility: Visibility):
    state = opened(config(visibility=visibility, lots=(lot(reserve=81_234),)))
    log = []
    for i, (party, amount) in enumerate((("sup-a", 95_000), ("sup-b", 93_000), ("sup-c", 94_000))):
        log += handle(state, bid(party, amount, T0 + 1 + i, bid_id=f"b-{party}")).events
    return state, log


def encoded(value) -> bytes:
    return msgspec.json.encode(value)


def redact(state, event, actor):
    """The event as ``actor`` sees it, as JSON-ready data (redact may return the event itself)."""
    shown = FORMAT.redact(state, event, actor)
    return None if shown is None else msgspec.to_builtins(shown)


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


@pytest.mark.parametrize("visibility", list(Visibility))
def test_an_award_shows_suppliers_no_more_than_the_visibility_does(visibility):
    """Under rank only no supplier learns the winning price from the award (staggered lots are
    still being bid on); the alias only where the board shows aliases. The winner knows its own
    price; the buyer and observers see both."""
    state = opened(config(visibility=visibility))
    handle(state, bid("sup-a", 95_000, T0 + 1))
    handle(state, bid("sup-b", 93_000, T0 + 2))
    [award] = [e for e in handle(state, tick(T0 + 60_000)).events if isinstance(e, ev.LotAwarded)]
    shows_price = visibility is not Visibility.RANK_ONLY
    shows_alias = visibility is Visibility.FULL_BOARD
    loser, winner = redact(state, award, supplier("sup-a")), redact(state, award, supplier("sup-b"))
    assert ("amount" in loser, "alias" in loser) == (shows_price, shows_alias)
    assert (winner["amount"], "alias" in winner) == (93_000, shows_alias)
    lost = view_for(state, supplier("sup-a")).lots[0].award
    assert (lost.amount is not None, lost.alias is not None) == (shows_price, shows_alias)
    assert view_for(state, supplier("sup-b")).lots[0].award.amount == 93_000
    shared = audience_view(state, Role.SUPPLIER).lots[0].award
    assert (shared.amount is not None, shared.alias is not None) == (shows_price, shows_alias)
    for viewer in (BUYER, OBSERVER):
        seen = view_for(state, viewer).lots[0].award
        assert (seen.amount, seen.alias) == (93_000, "Supplier 2")
        assert redact(state, award, viewer)["amount"] == 93_000


def test_accepted_bids_are_folded_except_for_the_buyer_and_phone_in_bids():
    state, log = auction(Visibility.FULL_BOARD)
    accepted = log[0]

    def listed(event, actor):
        return FORMAT.listed_to(state, event, actor)

    assert not listed(accepted, supplier("sup-a")) and not listed(accepted, OBSERVER)
    assert listed(accepted, BUYER)
    [phoned] = handle(state, PlaceBid(actor=BUYER, at=T0 + 20, lot_id="L1", amount=90_000,
                                      bid_id="p", on_behalf_of="sup-c")).events
    assert listed(phoned, supplier("sup-c")) and not listed(phoned, supplier("sup-a"))


# ------------------------------------------------------------------ per visibility, per role


def test_every_supplier_always_knows_its_own_rank():
    for visibility in Visibility:
        state, _ = auction(visibility)
        got = {p: (view_for(state, supplier(p)).lots[0].your_rank,
                   view_for(state, supplier(p)).lots[0].your_best) for p in SUPPLIERS}
        assert got == {"sup-a": (3, 95_000), "sup-b": (1, 93_000), "sup-c": (2, 94_000)}


@pytest.mark.parametrize(("visibility", "price", "board", "participants"), [
    (Visibility.RANK_ONLY, False, False, False),
    (Visibility.RANK_AND_LEADING_PRICE, True, False, False),
    (Visibility.FULL_BOARD, True, True, True),
])
def test_what_a_supplier_sees_follows_the_auctions_visibility(visibility, price, board, participants):
    state, _ = auction(visibility)
    for view in (view_for(state, supplier("sup-a")), audience_view(state, Role.SUPPLIER)):
        assert (view.lots[0].leading_price == 93_000) is price
        assert (view.lots[0].leading_price is None) is not price
        assert (view.lots[0].board is not None) is board
        assert (view.participants == 3) is participants and (view.participants is None) is not participants
    # the buyer and observers see the board, the price and the count whatever the visibility
    for viewer in (BUYER, OBSERVER):
        view = view_for(state, viewer)
        assert view.lots[0].leading_price == 93_000 and view.participants == 3
        assert [e.alias for e in view.lots[0].board] == ["Supplier 2", "Supplier 3", "Supplier 1"]


@pytest.mark.parametrize("visibility", list(Visibility))
def test_another_suppliers_bid_event_shows_only_what_the_visibility_allows(visibility):
    state, log = auction(visibility)
    theirs = redact(state, log[1], supplier("sup-a"))  # sup-b's bid
    assert "supplier" not in theirs and "bid_id" not in theirs and "yours" not in theirs
    if visibility is Visibility.FULL_BOARD:
        assert (theirs["alias"], theirs["amount"]) == ("Supplier 2", 93_000)
    else:
        assert "alias" not in theirs and "amount" not in theirs
    mine = redact(state, log[0], supplier("sup-a"))
    assert (mine["bid_id"], mine["amount"], mine["yours"]) == ("b-sup-a", 95_000, True)
    assert redact(state, log[1], BUYER)["supplier"] == "sup-b"


def test_creation_and_invitation_events_hide_the_buyer_the_reserve_and_the_other_suppliers():
    state = AuctionState.new("auc-1")
    log = []
    for command in (
        CreateAuction(actor=BUYER, at=T0, auction_id="auc-1", config=config(lots=(lot(reserve=81_234),))),
        InviteSupplier(actor=BUYER, at=T0, supplier="sup-a", name="SUP-A Ltd"),
        InviteSupplier(actor=BUYER, at=T0, supplier="sup-b", name="SUP-B Ltd"),
    ):
        log += handle(state, command).events
    for viewer in (supplier("sup-a"), OBSERVER):
        created = redact(state, log[0], viewer)
        assert "buyer" not in created and all("reserve" not in spec for spec in created["config"]["lots"])
        assert redact(state, log[1], viewer) is None and redact(state, log[2], viewer) is None
    assert redact(state, log[0], BUYER)["config"]["lots"][0]["reserve"] == 81_234
    assert redact(state, log[2], BUYER)["name"] == "SUP-B Ltd"


def test_the_buyers_configured_name_is_hidden_like_its_id():
    state = AuctionState.new("auc-1")
    cfg = config(buyer_name="Road Authority")
    [created] = handle(state, CreateAuction(actor=BUYER, at=T0, auction_id="auc-1", config=cfg)).events
    handle(state, InviteSupplier(actor=BUYER, at=T0, supplier="sup-a", name="SUP-A Ltd"))
    for viewer in (supplier("sup-a"), OBSERVER):
        assert b"Road Authority" not in encoded(redact(state, created, viewer))
        assert b"Road Authority" not in encoded(view_for(state, viewer))
    assert redact(state, created, BUYER)["config"]["buyer_name"] == "Road Authority"


def test_a_phone_in_bid_is_shown_as_such_to_the_buyer_only():
    state, _ = auction(Visibility.FULL_BOARD)
    [phoned] = handle(state, PlaceBid(actor=BUYER, at=T0 + 20, lot_id="L1", amount=90_000,
                                      bid_id="p", on_behalf_of="sup-c")).events
    buyer_board = view_for(state, BUYER).lots[0].board
    assert (buyer_board[0].supplier, buyer_board[0].entered_by) == ("sup-c", "org-buyer")
    assert view_for(state, supplier("sup-a")).lots[0].board[0].entered_by is None
    assert redact(state, phoned, BUYER)["entered_by"] == "org-buyer"
    assert redact(state, phoned, supplier("sup-c"))["yours"] is True
    for party in SUPPLIERS:
        assert b"org-buyer" not in encoded(redact(state, phoned, supplier(party)))


def test_an_award_with_a_reason_tells_the_reason_to_the_buyer_only():
    state = opened(config(award_mode=AwardMode.BUYER, visibility=Visibility.FULL_BOARD))
    handle(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    handle(state, bid("sup-b", 94_000, T0 + 2, bid_id="b1"))
    handle(state, tick(T0 + 60_000))
    [awarded] = handle(state, AwardLot(actor=BUYER, at=T0 + 61_000, lot_id="L1", bid_id="a1",
                                       reason="confidential: quality audit of sup-b")).events
    assert view_for(state, BUYER).lots[0].award.reason == "confidential: quality audit of sup-b"
    assert view_for(state, BUYER).lots[0].award.supplier == "sup-a"
    for viewer in (supplier("sup-a"), supplier("sup-b"), OBSERVER):
        award_view = view_for(state, viewer).lots[0].award
        assert (award_view.alias, award_view.amount, award_view.reason, award_view.supplier) == (
            "Supplier 1", 95_000, None, None)
        assert "reason" not in redact(state, awarded, viewer)
    assert view_for(state, supplier("sup-a")).lots[0].award.yours is True
    assert view_for(state, supplier("sup-b")).lots[0].award.yours is False


@pytest.mark.parametrize("visibility", list(Visibility))
def test_the_shared_supplier_view_names_no_supplier(visibility):
    state, _ = auction(visibility)
    shared = encoded(audience_view(state, Role.SUPPLIER)) + encoded(audience_view(state, Role.OBSERVER))
    for party in SUPPLIERS:
        assert party.encode() not in shared and party.upper().encode() not in shared
    assert b"81234" not in shared


def test_a_cancellation_reason_is_shown_to_everyone():
    state, _ = auction(Visibility.RANK_ONLY)
    handle(state, CancelAuction(actor=BUYER, at=T0 + 10, reason="tender documents changed"))
    for viewer in (BUYER, OBSERVER, supplier("sup-a")):
        assert view_for(state, viewer).cancel_reason == "tender documents changed"
        assert view_for(state, viewer).phase == "cancelled"


def test_the_system_has_no_view():
    state, _ = auction(Visibility.FULL_BOARD)
    with pytest.raises(ValueError):
        view_for(state, SYSTEM)
    with pytest.raises(ValueError):
        audience_view(state, Role.SYSTEM)


def test_next_deadline_is_the_scheduled_start_or_the_earliest_running_end():
    assert next_deadline(draft(config(start_at=T0 + 5_000))) == T0 + 5_000
    assert next_deadline(draft()) is None  # opened by the buyer: nothing to wait for
    state = opened(config(lots=lots("L1", "L2"), lot_close=LotCloseMode.STAGGERED, stagger_ms=9_000))
    assert next_deadline(state) == T0 + 60_000
    handle(state, tick(T0 + 60_000))
    assert next_deadline(state) == T0 + 69_000
    handle(state, PauseAuction(actor=BUYER, at=T0 + 61_000))
    assert next_deadline(state) is None  # nothing closes while paused
    handle(state, ResumeAuction(actor=BUYER, at=T0 + 62_000))
    assert next_deadline(state) == T0 + 70_000
    handle(state, tick(T0 + 70_000))
    assert state.phase.value == "closed" and next_deadline(state) is None


def test_a_phone_in_bid_is_told_to_its_supplier_as_entered_by_the_buyer():
    state = opened(config())
    [phoned] = handle(state, PlaceBid(actor=BUYER, at=T0 + 1, lot_id="L1", amount=90_000,
                                      bid_id="p", on_behalf_of="sup-c")).events
    assert redact(state, phoned, supplier("sup-c"))["entered_by_buyer"] is True
    assert "org-buyer" not in str(redact(state, phoned, supplier("sup-c")))
    [own] = handle(state, bid("sup-c", 89_000, T0 + 2)).events
    assert "entered_by_buyer" not in redact(state, own, supplier("sup-c"))


def test_buyer_actions_name_the_person_for_the_buyer_only():
    """The audit trail: who paused, extended, voided, awarded, bid on a supplier's behalf (the
    token's sub), and refused bids, are the buyer's; other participants see the events without."""
    state = opened(config(award_mode=AwardMode.BUYER))
    bob = msgspec.structs.replace(BUYER, user="bob@buyer.example")
    alice = msgspec.structs.replace(supplier("sup-a"), user="alice@sup-a.example")
    commands = [
        PlaceBid(actor=alice, at=T0 + 1, lot_id="L1", amount=95_000, bid_id="a1"),
        PlaceBid(actor=alice, at=T0 + 2, lot_id="L1", amount=200_000, bid_id="a2"),  # refused
        PlaceBid(actor=bob, at=T0 + 3, lot_id="L1", amount=94_000, bid_id="p1", on_behalf_of="sup-b"),
        PauseAuction(actor=bob, at=T0 + 4, reason="line check"),
        ResumeAuction(actor=bob, at=T0 + 5),
        ExtendAuction(actor=bob, at=T0 + 6, by_ms=1_000, reason="supplier's line dropped"),
        VoidBid(actor=bob, at=T0 + 7, bid_id="p1", reason="wrong supplier"),
        tick(T0 + 61_001),
        AwardLot(actor=bob, at=T0 + 61_002, lot_id="L1", reason=""),
    ]
    log = []
    for command in commands:
        log += handle(state, command).events
    users = {type(e).__name__: e.user for e in log if getattr(e, "user", msgspec.UNSET)}
    assert users == {
        "BidAccepted": "bob@buyer.example", "BidRefused": "alice@sup-a.example",
        "AuctionPaused": "bob@buyer.example", "AuctionResumed": "bob@buyer.example",
        "LotExtended": "bob@buyer.example", "BidVoided": "bob@buyer.example",
        "LotAwarded": "bob@buyer.example",
    }
    [extended] = [e for e in log if type(e) is ev.LotExtended]
    assert extended.reason == "supplier's line dropped"
    buyer_sees = b"".join(encoded(redact(state, e, BUYER)) for e in log)
    assert b"bob@buyer.example" in buyer_sees and b"alice@sup-a.example" in buyer_sees
    for viewer in (*(supplier(p) for p in SUPPLIERS), OBSERVER):
        seen = b"".join(encoded(redact(state, e, viewer)) for e in log)
        assert b"bob@" not in seen and b"line dropped" not in seen
        assert b"alice@" not in seen and b"a2" not in seen  # a refused bid is the buyer's


def test_the_buyer_sees_who_is_invited_and_the_bid_behind_each_board_entry():
    """The console lists the invited suppliers (for join links and presence) and voids a bid
    from the board; nobody else gets either."""
    state, _ = auction(Visibility.FULL_BOARD)
    buyer_view = view_for(state, BUYER)
    assert [s.supplier for s in buyer_view.suppliers] == list(SUPPLIERS)
    assert all(s.alias and s.invited_at for s in buyer_view.suppliers)
    assert [e.bid_id for e in buyer_view.lots[0].board] == ["b-sup-b", "b-sup-c", "b-sup-a"]
    assert audience_view(state, Role.BUYER).suppliers == buyer_view.suppliers
    for someone in (supplier("sup-a"), OBSERVER):
        seen = view_for(state, someone)
        assert seen.suppliers is None
        assert all(entry.bid_id is None for entry in seen.lots[0].board)


# ------------------------------------------------------------------ the limits of a supplier's next bid


def limits(state, party: str, lot_index: int = 0) -> tuple[int | None, int | None]:
    mine = you_view(state, party).lots[lot_index]
    return mine.max_bid, mine.confirm_below


def test_you_tell_the_highest_acceptable_bid_and_the_confirmation_threshold():
    state = opened(config(decrement=Decrement(DecrementKind.AMOUNT, 100), fat_finger_bp=2_000))
    assert limits(state, "sup-a") == (100_000, 80_000)  # a first bid: up to the ceiling
    handle(state, bid("sup-a", 90_000, T0 + 1))
    assert limits(state, "sup-a") == (89_900, 72_000)  # own best minus a step; 20% under it
    assert limits(state, "sup-b") == (100_000, 80_000)  # improve_own: the others' bids are theirs
    assert limits(opened(config()), "sup-a") == (100_000, None)  # without a guard, none...
    assert b"confirm_below" not in msgspec.json.encode(you_view(opened(config()), "sup-a"))  # sent


@pytest.mark.parametrize("visibility", [Visibility.RANK_AND_LEADING_PRICE, Visibility.FULL_BOARD])
def test_under_beat_leader_with_prices_shown_the_limit_follows_the_leader(visibility):
    cfg = config(bid_rule=BidRule.BEAT_LEADER, visibility=visibility,
                 decrement=Decrement(DecrementKind.AMOUNT, 100))
    state = opened(cfg)
    handle(state, bid("sup-a", 90_000, T0 + 1))
    assert {party: limits(state, party)[0] for party in SUPPLIERS} == dict.fromkeys(SUPPLIERS, 89_900)
    handle(state, bid("sup-b", 85_000, T0 + 2))
    assert limits(state, "sup-c")[0] == 84_900


def test_under_rank_only_and_beat_leader_only_the_leader_is_told_its_limit():
    """The limit is the leader's price minus a step: a supplier that does not lead must not learn
    it, nor learn from the limit vanishing that somebody bid."""
    cfg = config(bid_rule=BidRule.BEAT_LEADER, visibility=Visibility.RANK_ONLY,
                 decrement=Decrement(DecrementKind.AMOUNT, 100), fat_finger_bp=5_000)
    state = opened(cfg)
    before = you_view(state, "sup-c")
    assert before.lots[0].max_bid is None and before.lots[0].confirm_below == 50_000
    handle(state, bid("sup-a", 90_000, T0 + 1))
    handle(state, bid("sup-b", 93_000 - 4_000, T0 + 2))  # 89,000: leads
    assert you_view(state, "sup-c") == before  # nothing of the others' bids
    assert limits(state, "sup-b") == (88_900, 44_500)  # the leader knows its own price
    assert limits(state, "sup-a")[0] is None
    assert b"88900" not in msgspec.json.encode(you_view(state, "sup-a"))


def test_there_are_no_limits_where_nothing_can_be_bid():
    cfg = config(lots=lots("L1", "L2"), lot_close=LotCloseMode.STAGGERED, stagger_ms=9_000,
                 fat_finger_bp=1_000)
    assert limits(draft(cfg), "sup-a") == (None, None)  # not open yet
    state = opened(cfg)
    handle(state, bid("sup-a", 95_000, T0 + 1))
    handle(state, tick(T0 + 60_000))  # L1 closes (and is awarded), L2 runs on
    assert limits(state, "sup-a", 0) == (None, None)
    assert limits(state, "sup-a", 1) == (100_000, 90_000)
    handle(state, PauseAuction(actor=BUYER, at=T0 + 61_000))
    assert limits(state, "sup-a", 1) == (100_000, 90_000)  # they hold when bidding resumes
    handle(state, CancelAuction(actor=BUYER, at=T0 + 62_000, reason="budget withdrawn"))
    assert limits(state, "sup-a", 1) == (None, None)
