"""Conflicts of interest (``tender.conflicts``): every officer and evaluator the tender names
declares once; until "no conflict" they neither act on the bids nor see the opened ones (views,
history, results, comparison, files, the live room); a declared conflict removes them."""

from __future__ import annotations

import msgspec
import pytest

from bidserver.engine.rejections import Reason, Rejection
from bidserver.engine.tender import FORMAT, Phase, state_bytes
from bidserver.engine.tender import events as ev
from bidserver.engine.tender.bid_files import readable_from
from bidserver.engine.tender.comparison import comparison_for
from bidserver.engine.tender.evolve import restore
from bidserver.engine.tender.state import TenderState
from bidserver.engine.values import Actor, Role

from .builders import (
    BUYER, DAY, MEAT, OPENING, PRICES, RFQ_DEADLINE, RFQ_SHARES, T0, TENDER, Run, bid, config,
    decide_award, declare, evaluator, officer, qualify, quote, refused, rfq_config, score, share,
    supplier, tick,
)

CLERK = BUYER  # a user of the buyer's organisation whom the tender does not name


def undeclared(cfg=None) -> Run:
    """Published, with bids in, nobody having declared yet."""
    run = Run(cfg, declared=False).publish()
    for i, (party, offer) in enumerate(PRICES.items()):
        run.do(bid(party, f"{party}-1", offer, T0 + DAY + i))
    return run


def opened_by_two(cfg=None) -> Run:
    """Opened by off-1 and off-2, who declared no conflict; off-3 and the evaluators have not."""
    run = undeclared(cfg)
    run.do(declare("off-1", T0 + 1))
    run.do(declare("off-2", T0 + 2))
    run.close().start_opening().open()
    assert run.state.phase is Phase.EVALUATION
    return run


def test_a_declaration_is_made_once_by_a_named_user():
    run = undeclared()
    [made] = run.do(declare("off-1", T0 + 1))
    assert made == ev.InterestsDeclared(at=T0 + 1, user="off-1", conflict=False,
                                        statement="no interest in any supplier")
    assert refused(run.state, declare("off-1", T0 + 2)).reason is Reason.ALREADY_DECLARED
    assert refused(run.state, declare("clerk", T0 + 2)).reason is Reason.FORBIDDEN  # not named
    for actor in (supplier("sup-a"), Actor(Role.BUYER, "org-other", "off-2")):
        forged = msgspec.structs.replace(declare("off-2", T0 + 2), actor=actor)
        assert refused(run.state, forged).reason is Reason.FORBIDDEN
    conflict = declare("ev-1", T0 + 2, conflict=True, statement=" ")
    assert refused(run.state, conflict).reason is Reason.REASON_REQUIRED  # say what it is


def test_no_share_before_declaring_no_conflict_and_none_after_a_conflict():
    run = undeclared().close().start_opening()
    outcome = run.try_(share("off-1", 0, OPENING + 1))
    assert outcome.rejection.reason is Reason.DECLARATION_REQUIRED
    assert [type(e) for e in outcome.events] == [ev.ShareRefused]  # recorded, as every refusal
    run.do(declare("off-1", OPENING + 2, conflict=True, statement="my spouse directs SUP-A"))
    assert run.try_(share("off-1", 0, OPENING + 3)).rejection.reason is Reason.CONFLICTED
    run.do(declare("off-2", OPENING + 4))
    run.do(declare("off-3", OPENING + 5))
    run.do(share("off-2", 1, OPENING + 6))
    run.do(share("off-3", 2, OPENING + 7))  # k = 2 of the officers left open the bids
    assert run.state.phase is Phase.EVALUATION


def test_qualifying_scoring_and_deciding_need_the_declaration_of_a_named_user():
    run = opened_by_two(config(award=MEAT))
    at = OPENING + DAY
    for command in (qualify("sup-a", at, actor=officer("off-3")),
                    score("ev-1", "sup-a", "quality", 50, at),
                    decide_award(at, actor=evaluator("ev-2"))):
        assert refused(run.state, command).reason is Reason.DECLARATION_REQUIRED
    run.do(qualify("sup-a", at, actor=CLERK))  # a user the tender does not name is not asked
    run.do(declare("ev-1", at))
    run.do(score("ev-1", "sup-a", "quality", 50, at))


def test_an_evaluator_with_a_conflict_is_removed_and_the_others_complete_the_evaluation():
    run = opened_by_two(config(award=MEAT))
    at = OPENING + DAY
    run.do(declare("ev-1", at))
    run.do(declare("ev-2", at, conflict=True, statement="I advised SUP-B last year"))
    for party in ("sup-a", "sup-b", "sup-c"):
        run.do(qualify(party, at))
        run.do(score("ev-1", party, "quality", 70, at))
        run.do(score("ev-1", party, "delivery", 60, at))
    assert refused(run.state, score("ev-2", "sup-a", "quality", 1, at)).reason is Reason.CONFLICTED
    desk = FORMAT.view(run.state, CLERK).buyer
    assert desk.removed == ("ev-2",)
    assert [(d.user, d.conflict) for d in desk.declarations] == [
        ("off-1", False), ("off-2", False), ("ev-1", False), ("ev-2", True)]
    assert [s.evaluator for s in desk.scores] == ["ev-1"] * 6  # complete without ev-2
    [decided] = run.do(decide_award(at + 1))
    assert type(decided) is ev.AwardDecided


def test_with_every_evaluator_removed_a_meat_award_cannot_be_decided():
    run = opened_by_two(config(award=MEAT))
    at = OPENING + DAY
    for user in ("ev-1", "ev-2"):
        run.do(declare(user, at, conflict=True, statement="related to a bidder"))
    for party in ("sup-a", "sup-b", "sup-c"):
        run.do(qualify(party, at))
    rejection = refused(run.state, decide_award(at + 1))
    assert rejection.reason is Reason.EVALUATION_INCOMPLETE and "cancel" in rejection.detail


def test_the_buyers_view_says_when_too_few_officers_are_left_to_open():
    run = undeclared()
    desk = lambda: FORMAT.view(run.state, CLERK).buyer  # noqa: E731
    assert not desk().opening_short
    run.do(declare("off-1", T0 + 1, conflict=True, statement="related to SUP-A"))
    assert not desk().opening_short  # two are left, k = 2
    run.do(declare("off-2", T0 + 2, conflict=True, statement="related to SUP-B"))
    assert desk().opening_short and desk().removed == ("off-1", "off-2")


def test_the_opened_bids_are_withheld_from_a_named_user_who_has_not_declared_no_conflict():
    run = opened_by_two()
    clear = FORMAT.view(run.state, officer("off-1"))
    assert clear.opening is not None and clear.bids_withheld is None
    for user, why in (("off-3", "declaration_required"), ("ev-1", "declaration_required")):
        view = FORMAT.view(run.state, officer(user))
        assert (view.phase, view.opening, view.decision, view.qualifications) == (
            "evaluation", None, None, None)
        assert view.bids_withheld == why and view.buyer.flagged == ()
        seen = msgspec.json.encode([view, FORMAT.history(run.state, officer(user))])
        assert b"sup-a-1" not in seen and b"\"price\"" not in seen and b"private_key" not in seen
        assert FORMAT.results(run.state, officer(user)) is None
        assert readable_from(run.state, officer(user), "sha256:" + "0" * 64) == ()
    run.do(declare("ev-1", OPENING + DAY, conflict=True, statement="I own SUP-C shares"))
    assert FORMAT.view(run.state, officer("ev-1")).bids_withheld == "conflicted"
    assert FORMAT.view(run.state, CLERK).opening is not None  # the tender does not name the clerk
    assert FORMAT.history(run.state, CLERK) and FORMAT.results(run.state, CLERK).rows


def test_an_rfq_comparison_is_withheld_too():
    run = Run(rfq_config(), declared=False).publish()
    run.do(quote("sup-a", "q1", {"P1": 400, "P2": 9_000, "P3": 300}, T0 + 1))
    run.do(declare("off-1", T0 + 2))
    run.do(tick(RFQ_DEADLINE))
    run.do(share("off-1", 0, RFQ_DEADLINE + 1, shares=RFQ_SHARES))
    assert not isinstance(comparison_for(run.state, officer("off-1")), Rejection)
    assert comparison_for(run.state, officer("off-2")).reason is Reason.DECLARATION_REQUIRED


def test_the_live_room_refuses_whom_the_buyers_shared_view_would_tell_too_much():
    run = opened_by_two()
    refusal = FORMAT.live_refusal
    assert refusal(run.state, officer("off-3")).reason is Reason.DECLARATION_REQUIRED
    for actor in (officer("off-1"), CLERK, supplier("sup-a"), Actor(Role.OBSERVER, "org-buyer")):
        assert refusal(run.state, actor) is None
    assert refusal(TenderState.new(TENDER), officer("off-3")) is None


@pytest.mark.parametrize("conflict", [False, True])
def test_declarations_replay_byte_for_byte(conflict):
    run = opened_by_two()
    run.do(declare("ev-1", OPENING + DAY, conflict=conflict, statement="a statement"))
    assert [e for e in run.log if type(e) is ev.InterestsDeclared][-1].conflict is conflict
    decoded = [FORMAT.decode_event(FORMAT.encode_event(e)) for e in run.log]
    assert decoded == run.log
    assert state_bytes(FORMAT.replay(TENDER, decoded)) == state_bytes(run.state)
    assert state_bytes(restore(state_bytes(run.state))) == state_bytes(run.state)
    assert FORMAT.shown_to(run.state, run.log[-1], supplier("sup-a")) is None  # the buyer's own
    assert FORMAT.shown_to(run.state, run.log[-1], CLERK) == run.log[-1]
