"""Conflicts of interest of a tender's officers and evaluators (EU 2014/24/EU Art. 24; China,
Tendering and Bidding Law Art. 37: an evaluator related to a bidder withdraws). Pure.

Each user the configuration names as an opening officer or an evaluator declares their interests
once (``DeclareInterests``), before they act on the bids:

- until they declared "no conflict", their key share, qualifications, scores and the award steps
  are refused (``declaration_required``), and the opened bids are withheld from them: their view
  of the tender is a buyer's without the opening record, the qualifications, the decision and the
  complaints, and so are the bid history, the results sheet, the comparison and the bid files;
- a declared conflict removes them from the tender's work for good (``conflicted``): the buyer's
  view lists them as removed, the evaluation completes without them, and the opening needs k of
  the officers left. If fewer than k are left before the opening, the bids can never be opened:
  the buyer's view says so, and the buyer cancels the tender (and tenders again).

The rule binds the people the tender names; a user of the buyer's organisation whom it does not
name is not asked (the platform's roles say what they may do). A declaration is journaled, seen by
the buyer's organisation alone.
"""

from __future__ import annotations

from ..rejections import Reason, Rejection
from ..values import Actor, Role
from .commands import (
    DecideAward, DeclareInterests, PresentShare, Qualify, ResolveComplaint, Score,
    StartFollowOnAuction,
)
from .events import Event, InterestsDeclared
from .state import TenderState

Decision = list[Event] | Rejection

# The commands that act on the bids (open, qualify, score, decide, answer a complaint about the
# decision): refused to a named user until they declared "no conflict".
GUARDED = frozenset({PresentShare, Qualify, Score, DecideAward, StartFollowOnAuction,
                     ResolveComplaint})


def _named(state: TenderState, user: str) -> bool:
    config = state.config
    return user in config.officers or user in config.evaluators


def refusal(state: TenderState, actor: Actor) -> Rejection | None:
    """Why ``actor`` may neither act on the bids nor see the opened ones: a user the tender names
    who has not declared "no conflict"; None for anyone else."""
    if (state.config is None or actor.role is not Role.BUYER or actor.party != state.buyer
            or not _named(state, actor.user)):
        return None
    declared = state.declarations.get(actor.user)
    if declared is None:
        return Rejection(reason=Reason.DECLARATION_REQUIRED, detail=(
            "declare your interests in this tender first (POST /api/tenders/{id}/declarations)"))
    if declared.conflict:
        return Rejection(reason=Reason.CONFLICTED, detail=(
            "you declared a conflict of interest: you are removed from this tender's work"))
    return None


def withheld(state: TenderState, actor: Actor) -> bool:
    """Whether the opened bids are withheld from ``actor`` (``refusal``)."""
    return refusal(state, actor) is not None


def removed(state: TenderState) -> tuple[str, ...]:
    """The users who declared a conflict, in the order they declared it."""
    return tuple(user for user, d in sorted(state.declarations.items(), key=lambda i: i[1].at)
                 if d.conflict)


def active_evaluators(state: TenderState) -> tuple[str, ...]:
    """The evaluators who score: those the configuration names, but the removed."""
    return tuple(e for e in state.config.evaluators
                 if (d := state.declarations.get(e)) is None or not d.conflict)


def opening_short(state: TenderState) -> bool:
    """Before the opening: fewer than k officers are left to open the bids (the others declared a
    conflict), so they never can be; the buyer cancels and tenders again."""
    if state.opened_at is not None:
        return False
    config = state.config
    left = [o for o in config.officers if (d := state.declarations.get(o)) is None or not d.conflict]
    return len(left) < config.k


def declare(state: TenderState, c: DeclareInterests) -> Decision:
    user = c.actor.user
    if c.actor.role is not Role.BUYER or c.actor.party != state.buyer or not _named(state, user):
        return Rejection(reason=Reason.FORBIDDEN, detail=(
            "only the tender's opening officers and evaluators declare their interests"))
    if user in state.declarations:
        return Rejection(reason=Reason.ALREADY_DECLARED, detail="you have declared already")
    if c.conflict and not c.statement.strip():
        return Rejection(reason=Reason.REASON_REQUIRED, detail="say what the conflict is")
    return [InterestsDeclared(at=c.at, user=user, conflict=c.conflict, statement=c.statement)]
