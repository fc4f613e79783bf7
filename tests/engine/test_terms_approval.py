"""A reverse auction's terms (accepted before bidding) and the approval of awards above a
threshold (four eyes): deciding, the views, who is listed what, the OCDS releases and replay."""

from __future__ import annotations

import msgspec
import pytest

from bidserver.engine.rejections import Reason
from bidserver.engine.reverse import FORMAT, AuctionState, view_for, you_view
from bidserver.engine.reverse import events as ev
from bidserver.engine.reverse.commands import (
    AcceptTerms, ApproveAward, CreateAuction, InviteSupplier, StartAuction, UpdateConfig,
)
from bidserver.engine.reverse.values import AuctionConfig, AwardMode
from bidserver.engine.terms import MAX_TERMS, terms_hash
from bidserver.engine.values import Actor, Role, TeamRole

from .builders import (
    BUYER, OBSERVER, T0, accepted, award, bid, cancel, config, draft, handle, lots, of_type,
    phoned, refused, supplier, tick, void,
)

END = T0 + 60_000
TERMS = "Delivery within 30 days of the award; payment at 60 days."
HASH = terms_hash(TERMS)
# A manager who is an approver too: approves others' awards, never their own.
MANAGER_APPROVER = frozenset({TeamRole.PROCUREMENT_MANAGER, TeamRole.APPROVER})
CLERK = Actor(Role.BUYER, "org-buyer", "clerk", MANAGER_APPROVER)
BOSS = Actor(Role.BUYER, "org-buyer", "boss",
             MANAGER_APPROVER)  # a manager who approves


def accept(party: str, at: int = T0 - 1, hash_: str = HASH) -> AcceptTerms:
    return AcceptTerms(actor=supplier(party), at=at, terms_hash=hash_)


def approval(at: int, lot_id: str = "L1", approve: bool = True, reason: str = "",
             actor: Actor = BOSS) -> ApproveAward:
    return ApproveAward(actor=actor, at=at, lot_id=lot_id, approve=approve, reason=reason)


def with_terms(**overrides) -> AuctionState:
    state = draft(config(terms=TERMS, **overrides))
    accepted(state, StartAuction(actor=BUYER, at=T0))
    return state


# ================================================================== terms


def test_a_configuration_without_the_new_fields_encodes_as_before():
    data = msgspec.json.encode(config())
    assert b"terms" not in data and b"approval_threshold" not in data


def test_terms_are_checked_with_the_configuration():
    rejection = refused(draft(), UpdateConfig(actor=BUYER, at=T0, config=config(terms="  \n")))
    assert (rejection.reason, rejection.field) == (Reason.INVALID_CONFIG, "config.terms")
    data = msgspec.to_builtins(config())
    with pytest.raises(msgspec.ValidationError, match="terms"):
        msgspec.convert(data | {"terms": "x" * (MAX_TERMS + 1)}, AuctionConfig)
    assert msgspec.convert(data | {"terms": "x" * MAX_TERMS}, AuctionConfig).terms


def test_everyone_who_may_see_the_auction_sees_the_terms_with_their_hash_and_version():
    state = with_terms()
    for actor in (BUYER, OBSERVER, supplier("sup-a")):
        shown = view_for(state, actor).terms
        assert (shown.text, shown.hash, shown.version) == (TERMS, HASH, 1)
    assert view_for(opened_without_terms(), BUYER).terms is None


def opened_without_terms() -> AuctionState:
    state = draft()
    accepted(state, StartAuction(actor=BUYER, at=T0))
    return state


def test_a_bid_waits_for_the_terms_and_its_id_stays_free_for_the_same_bid():
    state = with_terms()
    assert you_view(state, "sup-a").terms_accepted is False
    outcome = handle(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    assert outcome.rejection.reason is Reason.TERMS_NOT_ACCEPTED
    (record,) = outcome.events  # the attempt is in the buyer's audit trail
    assert (type(record), record.reason) == (ev.BidRefused, Reason.TERMS_NOT_ACCEPTED)
    (event,) = accepted(state, accept("sup-a", T0 + 2))
    assert (event.supplier, event.hash, event.version, event.at) == ("sup-a", HASH, 1, T0 + 2)
    assert you_view(state, "sup-a").terms_accepted is True
    assert of_type(accepted(state, bid("sup-a", 95_000, T0 + 3, bid_id="a1")), ev.BidAccepted)


def test_accepting_again_is_done_already_and_other_hashes_are_stale():
    state = with_terms()
    accepted(state, accept("sup-a"))
    assert accepted(state, accept("sup-a", T0 + 5)) == []  # no second event
    assert refused(state, accept("sup-b", T0 + 5, terms_hash("other"))).reason is Reason.STALE_TERMS
    assert refused(opened_without_terms(), accept("sup-a", T0 + 5)).reason is Reason.STALE_TERMS


def test_who_may_accept_and_when():
    state = with_terms()
    refusal = refused(state, AcceptTerms(actor=BUYER, at=T0 + 1, terms_hash=HASH))
    assert refusal.reason is Reason.FORBIDDEN
    assert refused(state, accept("sup-z", T0 + 1)).reason is Reason.NOT_INVITED
    accepted(state, tick(END))
    assert refused(state, accept("sup-a", END + 1)).reason is Reason.AUCTION_CLOSED


def test_a_change_of_the_text_makes_earlier_acceptances_stale():
    state = draft(config(terms=TERMS))
    accepted(state, accept("sup-a"))
    accepted(state, UpdateConfig(actor=BUYER, at=T0 - 1, config=config(terms=TERMS, title="Salt")))
    assert you_view(state, "sup-a").terms_accepted is True  # the same text: the same version
    new = TERMS + " Penalties apply."
    accepted(state, UpdateConfig(actor=BUYER, at=T0 - 1, config=config(terms=new)))
    assert (state.terms.version, state.terms.hash) == (2, terms_hash(new))
    assert you_view(state, "sup-a").terms_accepted is False
    accepted(state, StartAuction(actor=BUYER, at=T0))
    assert refused(state, bid("sup-a", 95_000, T0 + 1)).reason is Reason.TERMS_NOT_ACCEPTED
    assert refused(state, accept("sup-a", T0 + 1)).reason is Reason.STALE_TERMS
    (event,) = accepted(state, accept("sup-a", T0 + 2, terms_hash(new)))
    assert event.version == 2
    shown = {a.supplier: (a.version, a.current) for a in view_for(state, BUYER).acceptances}
    assert shown == {"sup-a": (2, True)}


def test_leaving_the_terms_out_leaves_nothing_to_accept():
    state = draft(config(terms=TERMS))
    accepted(state, UpdateConfig(actor=BUYER, at=T0 - 1, config=config()))
    accepted(state, StartAuction(actor=BUYER, at=T0))
    assert view_for(state, BUYER).terms is None and you_view(state, "sup-a").terms_accepted
    assert of_type(accepted(state, bid("sup-a", 95_000, T0 + 1)), ev.BidAccepted)


def test_a_phone_in_bid_needs_the_suppliers_own_acceptance():
    state = with_terms()
    rejection = refused(state, phoned("sup-a", 95_000, T0 + 1))
    assert rejection.reason is Reason.TERMS_NOT_ACCEPTED and "sup-a" in rejection.detail
    accepted(state, accept("sup-a", T0 + 2))
    assert of_type(accepted(state, phoned("sup-a", 95_000, T0 + 3)), ev.BidAccepted)


def test_an_acceptance_is_shown_to_its_author_and_the_buyer_alone():
    state = with_terms()
    (event,) = accepted(state, accept("sup-a", T0 + 1))
    assert FORMAT.shown_to(state, event, BUYER) == event
    assert FORMAT.shown_to(state, event, supplier("sup-a")) == event
    assert FORMAT.shown_to(state, event, supplier("sup-b")) is None
    assert FORMAT.shown_to(state, event, OBSERVER) is None
    assert FORMAT.redact(state, event, supplier("sup-b")) is None  # whatever the delivery
    assert FORMAT.redact(state, event, OBSERVER) is None
    assert view_for(state, supplier("sup-a")).acceptances is None
    assert view_for(state, OBSERVER).acceptances is None
    (listed,) = view_for(state, BUYER).acceptances
    assert (listed.supplier, listed.version, listed.hash, listed.at, listed.current) == (
        "sup-a", 1, HASH, T0 + 1, True)


# ================================================================== approval of awards


def closed(threshold: int = 90_000, **overrides) -> AuctionState:
    """Two lots closed, the buyer awards: L1's lowest bid 95,000, L2's 85,000."""
    state = draft(config(lots=lots("L1", "L2"), award_mode=AwardMode.BUYER,
                         approval_threshold=threshold, **overrides))
    accepted(state, StartAuction(actor=BUYER, at=T0))
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    accepted(state, bid("sup-b", 96_000, T0 + 2, bid_id="b1"))
    accepted(state, bid("sup-b", 85_000, T0 + 3, lot_id="L2", bid_id="b2"))
    accepted(state, tick(END))
    return state


def test_an_award_above_the_threshold_is_only_proposed_and_publishes_nothing():
    state = closed()
    events = accepted(state, award("L1", END + 1, actor=CLERK))
    (proposal,) = events
    assert type(proposal) is ev.AwardProposed
    assert (proposal.lot_id, proposal.bid_id, proposal.supplier, proposal.amount,
            proposal.proposed_by) == ("L1", "a1", "sup-a", 95_000, "clerk")
    assert FORMAT.awards(state, events) == []
    assert FORMAT.releases(state, BUYER) == []
    assert state.lots["L1"].award is None and not FORMAT.finished(state)
    lot = view_for(state, BUYER).lots[0]
    assert (lot.phase, lot.award, lot.proposal.amount, lot.proposal.proposed_by) == (
        "closed", None, 95_000, "clerk")
    for actor in (supplier("sup-a"), OBSERVER):
        assert view_for(state, actor).lots[0].proposal is None
        assert FORMAT.shown_to(state, proposal, actor) is None


def test_an_award_at_the_threshold_is_made_at_once():
    state = closed(threshold=95_000)
    (event,) = accepted(state, award("L1", END + 1, actor=CLERK))
    assert type(event) is ev.LotAwarded and event.approved_by is msgspec.UNSET


def test_four_eyes_approve_the_award_as_it_would_have_been_made():
    state = closed()
    accepted(state, award("L1", END + 1, actor=CLERK))
    assert refused(state, approval(END + 2, actor=CLERK)).reason is Reason.SAME_USER
    unnamed = Actor(Role.BUYER, "org-buyer")
    assert refused(state, approval(END + 2, actor=unnamed)).reason is Reason.FORBIDDEN
    assert refused(state, approval(END + 2, actor=supplier("sup-b"))).reason is Reason.FORBIDDEN
    events = accepted(state, approval(END + 2))
    (made,) = events
    assert (type(made), made.user, made.approved_by, made.at) == (
        ev.LotAwarded, "clerk", "boss", END + 2)
    assert state.lots["L1"].proposal is None and state.lots["L1"].award.approved_by == "boss"
    assert view_for(state, BUYER).lots[0].award.approved_by == "boss"
    assert view_for(state, supplier("sup-a")).lots[0].award.approved_by is None
    assert "approved_by" not in msgspec.to_builtins(FORMAT.redact(state, made, supplier("sup-a")))
    # The release is the one an award made then without a threshold publishes.
    plain = closed(threshold=200_000)
    (direct,) = accepted(plain, award("L1", END + 2, actor=CLERK))
    assert FORMAT.awards(state, events) == FORMAT.awards(plain, [direct])
    assert refused(state, approval(END + 3)).reason is Reason.NOTHING_TO_APPROVE


def test_a_declined_award_leaves_the_lot_to_be_awarded_again():
    state = closed()
    accepted(state, award("L1", END + 1, actor=CLERK))
    refusal = refused(state, approval(END + 2, approve=False))
    assert refusal.reason is Reason.REASON_REQUIRED
    (declined,) = accepted(state, approval(END + 2, approve=False, reason="over budget"))
    assert (type(declined), declined.reason, declined.user) == (ev.AwardDeclined, "over budget", "boss")
    assert state.lots["L1"].proposal is None and state.lots["L1"].award is None
    assert FORMAT.shown_to(state, declined, supplier("sup-a")) is None
    assert refused(state, approval(END + 3)).reason is Reason.NOTHING_TO_APPROVE
    (again,) = accepted(state, award("L1", END + 4, bid_id="b1", reason="better terms", actor=BOSS))
    assert type(again) is ev.AwardProposed and again.proposed_by == "boss"


def test_nothing_changes_under_a_pending_proposal():
    state = closed()
    accepted(state, award("L1", END + 1, actor=CLERK))
    assert refused(state, award("L1", END + 2, actor=BOSS)).reason is Reason.APPROVAL_PENDING
    assert refused(state, void("b1", END + 2)).reason is Reason.APPROVAL_PENDING
    assert refused(state, approval(END + 2, lot_id="L2")).reason is Reason.NOTHING_TO_APPROVE
    assert refused(state, approval(END + 2, lot_id="L9")).reason is Reason.UNKNOWN_LOT
    (made,) = accepted(state, award("L2", END + 2, actor=CLERK))  # 85,000: below the threshold
    assert type(made) is ev.LotAwarded


def test_a_cancel_ends_a_proposal_without_an_award():
    state = closed()
    accepted(state, award("L1", END + 1, actor=CLERK))
    events = accepted(state, cancel(END + 2))
    (release,) = FORMAT.awards(state, events)
    assert release.lot_id == ""  # the cancellation, no award
    assert refused(state, approval(END + 3)).reason is Reason.AUCTION_CANCELLED


def test_an_automatic_award_above_the_threshold_is_proposed_by_the_server():
    state = draft(config(approval_threshold=90_000))
    accepted(state, StartAuction(actor=BUYER, at=T0))
    accepted(state, bid("sup-a", 95_000, T0 + 1, bid_id="a1"))
    events = accepted(state, tick(END))
    assert [type(e) for e in events] == [ev.LotClosed, ev.AwardProposed, ev.AuctionClosed]
    assert events[1].proposed_by is msgspec.UNSET and not FORMAT.finished(state)
    (made,) = accepted(state, approval(END + 1, actor=CLERK))  # any named buyer user
    assert (made.user, made.approved_by, made.basis) == (msgspec.UNSET, "clerk", ev.AwardBasis.LOWEST)
    assert FORMAT.finished(state) and len(FORMAT.releases(state, BUYER)) == 1


# ================================================================== replay


def test_replay_with_the_new_events_gives_the_same_state_byte_for_byte():
    state = AuctionState.new("auc-1")
    log: list = []
    cfg = config(lots=lots("L1", "L2"), award_mode=AwardMode.BUYER, terms=TERMS,
                 approval_threshold=90_000)
    commands = [
        CreateAuction(actor=BUYER, at=T0 - 10, auction_id="auc-1", config=cfg),
        *(InviteSupplier(actor=BUYER, at=T0 - 5, supplier=p, name=p) for p in ("sup-a", "sup-b")),
        accept("sup-a"), accept("sup-b"),
        StartAuction(actor=BUYER, at=T0),
        bid("sup-a", 95_000, T0 + 1, bid_id="a1"), bid("sup-b", 85_000, T0 + 2, lot_id="L2"),
        tick(END),
        award("L1", END + 1, actor=CLERK), approval(END + 2, approve=False, reason="no"),
        award("L1", END + 3, actor=CLERK), approval(END + 4), award("L2", END + 5, actor=CLERK),
    ]
    for command in commands:
        log += accepted(state, command)
    kinds = {type(e) for e in log}
    assert {ev.TermsAccepted, ev.AwardProposed, ev.AwardDeclined, ev.LotAwarded} <= kinds
    stored = [FORMAT.encode_event(e) for e in log]
    assert [FORMAT.encode_event(FORMAT.decode_event(b)) for b in stored] == stored
    again = FORMAT.replay("auc-1", [FORMAT.decode_event(b) for b in stored])
    assert FORMAT.state_bytes(again) == FORMAT.state_bytes(state)
    assert FORMAT.state_bytes(FORMAT.restore(FORMAT.state_bytes(state))) == FORMAT.state_bytes(state)
