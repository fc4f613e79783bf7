"""A sealed tender's terms (accepted before a bid or a quote) and the approval of an award decision
above a threshold (four eyes): deciding, who is told what, the OCDS releases and replay."""

from __future__ import annotations

import msgspec

from bidserver.engine.rejections import Reason
from bidserver.engine.tender import FORMAT, Phase, TenderState
from bidserver.engine.tender import events as ev
from bidserver.engine.tender.commands import AcceptTerms, ApproveAward, Publish, UpdateTender
from bidserver.engine.tender.views import view_for, you
from bidserver.engine.terms import terms_hash
from bidserver.engine.values import Actor, Role, TeamRole

from .builders import (
    BUYER, DAY, DEADLINE, OBSERVER, OPENING, ORG, RFQ_DEADLINE, TENDER, T0, Run, bid, config,
    decide_award, follow_on, officer, opened, published, qualified, qualify, quote, refused,
    revise, rfq_config, supplier, then, tick,
)

TERMS = "The supplier keeps its bid open for 90 days and signs the model contract."
HASH = terms_hash(TERMS)
# A manager who is an approver too: approves others' awards, never their own.
MANAGER_APPROVER = frozenset({TeamRole.PROCUREMENT_MANAGER, TeamRole.APPROVER})
BOSS = Actor(Role.BUYER, ORG, "boss", MANAGER_APPROVER)
CLERK_APPROVER = Actor(Role.BUYER, ORG, "clerk", MANAGER_APPROVER)  # BUYER's user
PROPOSED_AT = OPENING + 2 * DAY


def accept(party: str, at: int = T0 + 1, hash_: str = HASH) -> AcceptTerms:
    return AcceptTerms(actor=supplier(party), at=at, terms_hash=hash_)


def approval(at: int, approve: bool = True, reason: str = "", actor: Actor = BOSS) -> ApproveAward:
    return ApproveAward(actor=actor, at=at, approve=approve, reason=reason)


# ================================================================== terms


def test_a_bid_waits_for_the_terms_and_only_its_author_is_told():
    run = published(config(terms=TERMS))
    assert you(run.state, supplier("sup-a")).terms_accepted is False
    outcome = run.try_(bid("sup-a", "a1", {"L1": 4_000_000}, T0 + DAY))
    assert outcome.rejection.reason is Reason.TERMS_NOT_ACCEPTED
    (record,) = outcome.events
    assert FORMAT.shown_to(run.state, record, BUYER) is None  # nothing tells the buyer who bid
    assert FORMAT.shown_to(run.state, record, supplier("sup-a"))["reason"] == "terms_not_accepted"
    (event,) = run.do(accept("sup-a", T0 + DAY + 1))
    assert (event.supplier, event.hash, event.version) == ("sup-a", HASH, 1)
    assert you(run.state, supplier("sup-a")).terms_accepted is True
    # The refusal did not use up the bid id: the same bid goes in once the terms are accepted.
    assert [type(e) for e in run.do(bid("sup-a", "a1", {"L1": 4_000_000}, T0 + DAY + 2))] == [
        ev.BidSubmitted]


def test_a_revision_needs_the_current_terms_too():
    """Terms change only in a draft, so a supplier with a bid in has accepted them; should a
    journal fold to a state where it has not (a later version), its revision is refused."""
    run = published()
    run.do(bid("sup-a", "a1", {"L1": 4_000_000}, T0 + DAY))
    FORMAT.evolve(run.state, ev.TenderUpdated(at=T0 + DAY, config=config(terms=TERMS)))
    refusal = refused(run.state, revise("sup-a", "a2", "a1", {"L1": 3_900_000}, T0 + DAY + 1))
    assert refusal.reason is Reason.TERMS_NOT_ACCEPTED


def test_an_rfq_quote_waits_for_the_terms():
    run = Run(rfq_config(terms=TERMS)).publish()
    command = quote("sup-a", "q1", {"P1": 1_000, "P2": 2_000, "P3": 300}, RFQ_DEADLINE - 1)
    assert run.try_(command).rejection.reason is Reason.TERMS_NOT_ACCEPTED
    run.do(accept("sup-a", RFQ_DEADLINE - 2))
    assert run.try_(command).rejection is None


def test_accepting_again_is_done_already_and_other_hashes_are_stale():
    run = published(config(terms=TERMS))
    run.do(accept("sup-a"))
    assert run.do(accept("sup-a", T0 + 2)) == []
    assert refused(run.state, accept("sup-b", T0 + 2, terms_hash("other"))).reason is Reason.STALE_TERMS
    assert refused(published().state, accept("sup-a")).reason is Reason.STALE_TERMS  # no terms
    by_the_buyer = AcceptTerms(actor=BUYER, at=T0 + 2, terms_hash=HASH)
    assert refused(run.state, by_the_buyer).reason is Reason.FORBIDDEN
    assert refused(run.state, accept("sup-z", T0 + 2)).reason is Reason.NOT_INVITED
    assert refused(Run(config(terms=TERMS)).state, accept("sup-a")).reason is Reason.WRONG_PHASE
    closed = then(run, tick(DEADLINE)).state
    assert refused(closed, accept("sup-b", DEADLINE)).reason is Reason.WRONG_PHASE


def test_the_terms_are_everyones_and_acceptances_the_buyers():
    run = published(config(terms=TERMS))
    (event,) = run.do(accept("sup-b"))
    for actor in (BUYER, OBSERVER, supplier("sup-a")):
        terms = view_for(run.state, actor).terms
        assert (terms.text, terms.hash, terms.version) == (TERMS, HASH, 1)
    (listed,) = view_for(run.state, BUYER).buyer.acceptances
    assert (listed.supplier, listed.version, listed.user, listed.current) == (
        "sup-b", 1, "sup-b-person", True)
    assert FORMAT.shown_to(run.state, event, BUYER) == event
    assert FORMAT.shown_to(run.state, event, supplier("sup-b")) == event
    assert FORMAT.shown_to(run.state, event, supplier("sup-a")) is None
    assert FORMAT.shown_to(run.state, event, OBSERVER) is None
    assert view_for(published().state, BUYER).terms is None


def test_a_changed_draft_makes_earlier_versions_stale():
    run = Run(config(terms=TERMS))
    new = TERMS + " Penalties apply."
    for _ in range(2):  # the same text again: the same version
        run.do(UpdateTender(actor=BUYER, at=T0 - DAY, config=config(terms=new)))
        assert (run.state.terms.version, run.state.terms.hash) == (2, terms_hash(new))


# ================================================================== approval of the award


def evaluated(threshold: int | None = 5_000_000) -> Run:
    """Every bid opened and valid; winners' prices: L1 3,800,000 (sup-b), L2 1,400,000 (sup-c)."""
    cfg = config() if threshold is None else config(approval_threshold=threshold)
    return qualified(opened(cfg))


def test_a_decision_above_the_threshold_is_only_proposed_and_publishes_nothing():
    run = evaluated()
    (proposal,) = run.do(decide_award(PROPOSED_AT))
    assert type(proposal) is ev.AwardProposed
    assert (proposal.total, proposal.proposed_by) == (5_200_000, "clerk")
    assert [(lot.lot_id, lot.winner) for lot in proposal.lots] == [("L1", "sup-b"), ("L2", "sup-c")]
    assert run.state.phase is Phase.EVALUATION and run.state.decision is None
    assert FORMAT.next_deadline(run.state) is None  # no standstill runs
    assert run.do(tick(PROPOSED_AT + 30 * DAY)) == []
    desk = view_for(run.state, BUYER).buyer
    assert (desk.proposal.total, desk.proposal.proposed_by) == (5_200_000, "clerk")
    for actor in (supplier("sup-b"), OBSERVER):
        assert FORMAT.shown_to(run.state, proposal, actor) is None
        assert view_for(run.state, actor).decision is None
    assert FORMAT.releases(run.state, BUYER) == []


def test_nothing_changes_under_a_pending_proposal():
    run = evaluated()
    run.do(decide_award(PROPOSED_AT))
    for command in (decide_award(PROPOSED_AT + 1, BOSS), qualify("sup-a", PROPOSED_AT + 1),
                    follow_on(PROPOSED_AT + 1)):
        assert refused(run.state, command).reason is Reason.APPROVAL_PENDING


def test_four_eyes_approve_the_decision_and_the_standstill_starts_then():
    run = evaluated()
    run.do(decide_award(PROPOSED_AT))
    assert refused(run.state, approval(PROPOSED_AT + 1, actor=CLERK_APPROVER)).reason is Reason.SAME_USER
    refusal = refused(run.state, approval(PROPOSED_AT + 1, actor=supplier("sup-b")))
    assert refusal.reason is Reason.FORBIDDEN
    approved_at = PROPOSED_AT + DAY
    (decided,) = run.do(approval(approved_at))
    assert type(decided) is ev.AwardDecided
    assert (decided.user, decided.approved_by) == ("clerk", "boss")
    assert decided.standstill_ends_at == approved_at + run.state.config.standstill_ms
    assert run.state.phase is Phase.STANDSTILL and run.state.proposal is None
    assert view_for(run.state, BUYER).buyer.proposal is None
    redacted = FORMAT.shown_to(run.state, decided, supplier("sup-b"))
    assert "approved_by" not in redacted and "user" not in redacted
    assert refused(run.state, approval(approved_at + 1)).reason is Reason.NOTHING_TO_APPROVE
    events = run.do(tick(decided.standstill_ends_at))
    assert [type(e) for e in events] == [ev.AwardFinal]
    assert len(FORMAT.awards(run.state, events)) == 2  # the awards' releases, as without approval


def test_a_declined_decision_leaves_the_evaluation_to_go_on():
    run = evaluated()
    run.do(decide_award(PROPOSED_AT))
    assert refused(run.state, approval(PROPOSED_AT + 1, approve=False)).reason is Reason.REASON_REQUIRED
    (declined,) = run.do(approval(PROPOSED_AT + 1, approve=False, reason="re-check sup-b's price"))
    assert (type(declined), declined.user) == (ev.AwardDeclined, "boss")
    assert run.state.phase is Phase.EVALUATION and run.state.proposal is None
    assert FORMAT.shown_to(run.state, declined, supplier("sup-b")) is None
    assert refused(run.state, approval(PROPOSED_AT + 2)).reason is Reason.NOTHING_TO_APPROVE
    run.do(qualify("sup-b", PROPOSED_AT + 2, reason="abnormally low", valid=False))
    (again,) = run.do(decide_award(PROPOSED_AT + 3, BOSS))
    assert type(again) is ev.AwardProposed and again.proposed_by == "boss"
    assert again.lots[0].winner == "sup-a"


def test_a_decision_at_the_threshold_is_made_at_once():
    (decided,) = evaluated(threshold=5_200_000).do(decide_award(PROPOSED_AT))
    assert type(decided) is ev.AwardDecided and decided.approved_by is msgspec.UNSET
    assert refused(evaluated().state, approval(PROPOSED_AT)).reason is Reason.NOTHING_TO_APPROVE


def test_a_follow_on_auction_keeps_the_threshold():
    run = evaluated()
    (started,) = run.do(follow_on(PROPOSED_AT))
    assert started.config.approval_threshold == 5_000_000


# ================================================================== replay


def test_replay_with_the_new_events_gives_the_same_state_byte_for_byte():
    run = Run(config(terms=TERMS, approval_threshold=5_000_000))
    run.do(Publish(actor=BUYER, at=T0))
    prices = {"sup-a": {"L1": 4_000_000, "L2": 1_500_000}, "sup-b": {"L1": 3_800_000},
              "sup-c": {"L1": 4_200_000, "L2": 1_400_000}}
    for i, (party, offer) in enumerate(prices.items()):
        run.do(accept(party, T0 + 1 + i))
        run.do(bid(party, f"{party}-1", offer, T0 + DAY + i))
    run.close().start_opening().open()
    qualified(run)
    run.do(decide_award(PROPOSED_AT))
    run.do(approval(PROPOSED_AT + 1, approve=False, reason="again"))
    run.do(decide_award(PROPOSED_AT + 2))
    run.do(approval(PROPOSED_AT + 3))
    kinds = {type(e) for e in run.log}
    assert {ev.TermsAccepted, ev.AwardProposed, ev.AwardDeclined, ev.AwardDecided} <= kinds
    stored = [FORMAT.encode_event(e) for e in run.log]
    assert [FORMAT.encode_event(FORMAT.decode_event(b)) for b in stored] == stored
    again = FORMAT.replay(TENDER, [FORMAT.decode_event(b) for b in stored])
    assert FORMAT.state_bytes(again) == FORMAT.state_bytes(run.state)
    assert isinstance(FORMAT.restore(FORMAT.state_bytes(run.state)), TenderState)
