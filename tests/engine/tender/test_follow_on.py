"""The follow-on auction (EU 2014/24/EU Art. 35): after the full initial evaluation, the buyer
may, instead of deciding the award, take the qualified bidders into a live reverse auction with
their sealed prices as opening bids. The tender records the auction it goes on as and ends in
phase ``auction``."""

from __future__ import annotations

import msgspec

from bidserver.engine.rejections import Reason
from bidserver.engine.reverse.values import Decrement, DecrementKind, OpeningBid, Visibility
from bidserver.engine.tender import Phase, TenderState, evolve, state_bytes, view_for
from bidserver.engine.tender import events as ev
from bidserver.engine.tender.evolve import restore

from .builders import (
    BUYER, DAY, MEAT, NAMES, OPENING, RULES, TENDER, cancel, config, decide_award, follow_on,
    opened, qualified, qualify, refused, score, supplier, tick,
)

AT = OPENING + 2 * DAY


def test_the_qualified_bidders_go_on_into_an_auction_with_their_sealed_prices_as_opening_bids():
    run = qualified(opened())
    rules = msgspec.structs.replace(RULES, visibility=Visibility.FULL_BOARD)
    (started,) = run.do(follow_on(AT, rules=rules))
    assert started.auction_id == f"{TENDER}-auction"
    auction = started.config
    assert (auction.currency, auction.duration_ms, auction.visibility) == ("EUR", RULES.duration_ms,
                                                                          Visibility.FULL_BOARD)
    assert auction.decrement == Decrement(DecrementKind.AMOUNT, 10_000)
    # each lot's ceiling: its highest valid sealed price; the opening bids in the sealed ranking
    assert [(lot.lot_id, lot.ceiling) for lot in auction.lots] == [("L1", 4_200_000), ("L2", 1_500_000)]
    assert auction.opening_bids == (
        OpeningBid(lot_id="L1", supplier="sup-b", amount=3_800_000),
        OpeningBid(lot_id="L1", supplier="sup-a", amount=4_000_000),
        OpeningBid(lot_id="L1", supplier="sup-c", amount=4_200_000),
        OpeningBid(lot_id="L2", supplier="sup-c", amount=1_400_000),
        OpeningBid(lot_id="L2", supplier="sup-a", amount=1_500_000),
    )
    assert started.suppliers == tuple(ev.AuctionInvitee(s, NAMES[s]) for s in ("sup-a", "sup-b", "sup-c"))
    assert run.state.phase is Phase.AUCTION and run.state.finished
    assert view_for(run.state, supplier("sup-a")).follow_on_auction == f"{TENDER}-auction"


def test_a_disqualified_bidder_is_left_out_and_so_is_a_lot_without_a_valid_price():
    run = opened()
    run.do(qualify("sup-a", AT))
    run.do(qualify("sup-b", AT))
    run.do(qualify("sup-c", AT, reason="no bid security", valid=False))
    (started,) = run.do(follow_on(AT))
    assert [s.supplier for s in started.suppliers] == ["sup-a", "sup-b"]
    assert [lot.lot_id for lot in started.config.lots] == ["L1", "L2"]
    assert {(b.lot_id, b.supplier) for b in started.config.opening_bids} == {
        ("L1", "sup-a"), ("L1", "sup-b"), ("L2", "sup-a")}
    assert started.config.lots[1].ceiling == 1_500_000


def test_the_auction_buys_what_the_tender_buys():
    run = qualified(opened(config(category="14410000-8")))
    (started,) = run.do(follow_on(AT))
    assert started.config.category == "14410000-8"
    (plain,) = qualified(opened()).do(follow_on(AT))
    assert plain.config.category is msgspec.UNSET


def test_the_full_initial_evaluation_comes_first():
    run = opened()
    run.do(qualify("sup-a", AT))
    assert refused(run.state, follow_on(AT)).reason is Reason.EVALUATION_INCOMPLETE


def test_an_auction_needs_two_qualified_bidders():
    run = opened()
    run.do(qualify("sup-a", AT))
    for party in ("sup-b", "sup-c"):
        run.do(qualify(party, AT, reason="late security", valid=False))
    assert refused(run.state, follow_on(AT)).reason is Reason.NO_VALID_BID


def test_a_meat_tender_is_refused_its_award_rests_on_the_scores():
    run = qualified(opened(config(award=MEAT)))
    for evaluator in ("ev-1", "ev-2"):
        for party in ("sup-a", "sup-b", "sup-c"):
            for criterion in ("quality", "delivery"):
                run.do(score(evaluator, party, criterion, 70, AT))
    rejection = refused(run.state, follow_on(AT))
    assert rejection.reason is Reason.INVALID_CONFIG and rejection.field == "config.award.kind"
    run.do(decide_award(AT))  # the direct award is still there


def test_the_rules_are_checked_as_the_auctions_configuration():
    run = qualified(opened())
    bad = msgspec.structs.replace(RULES, decrement=Decrement(DecrementKind.PERCENT, 20_000))
    rejection = refused(run.state, follow_on(AT, rules=bad))
    assert rejection.reason is Reason.INVALID_CONFIG and rejection.field == "rules.decrement.value"


def test_only_the_buyer_starts_it_and_only_once():
    run = qualified(opened())
    assert refused(run.state, follow_on(AT, actor=supplier("sup-a"))).reason is Reason.FORBIDDEN
    run.do(follow_on(AT))
    assert refused(run.state, follow_on(AT + 1)).reason is Reason.WRONG_PHASE
    assert refused(run.state, decide_award(AT + 1)).reason is Reason.WRONG_PHASE
    assert refused(run.state, cancel(AT + 1)).reason is Reason.WRONG_PHASE
    assert run.do(tick(AT + 30 * DAY)) == []


def test_it_replays_and_restores_to_the_same_state():
    run = qualified(opened())
    run.do(follow_on(AT))
    replayed = TenderState.new(TENDER)
    for event in run.log:
        evolve(replayed, ev.decode_event(ev.encode_event(event)))
    assert state_bytes(replayed) == state_bytes(run.state)
    assert state_bytes(restore(state_bytes(run.state))) == state_bytes(run.state)


def test_its_event_is_the_buyers_the_views_name_the_auction_to_everyone():
    assert ev.EVENT_TABLE[ev.FollowOnAuctionStarted][1] is ev.Shown.BUYER
    run = qualified(opened())
    run.do(follow_on(AT))
    assert view_for(run.state, BUYER).follow_on_auction == f"{TENDER}-auction"
