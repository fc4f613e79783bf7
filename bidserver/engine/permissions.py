"""Who may do what: team roles x actions, the one table (docs/suppliers.md, "Roles and
permissions", shows it; a test keeps the two equal).

A token names its party's side (``Role``: buyer, supplier, observer, platform) and, optionally, the
person's team roles (``TeamRole``). The side says whose event it is (each format's ``decide``
keeps its own checks: the auction's buyer, an invited supplier); the team role says which of that
party's people may do it. A procurement team is several people so that no one of them does
everything: the evaluator who scored is not the approver who signs the award off, the auditor
reads and changes nothing. Each format maps its command types to an ``Action`` (its
``actions.py``) and asks ``refusal`` before anything else.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from .rejections import Reason, Rejection
from .values import Actor, Role, TeamRole


class Action(enum.StrEnum):
    # an event, the buyer's side
    CREATE_EVENT = "create_event"
    CONFIGURE_EVENT = "configure_event"  # its configuration, its documents
    INVITE_SUPPLIER = "invite_supplier"
    RUN_EVENT = "run_event"  # start, publish, pause, resume, extend, cancel, go on as an auction
    VOID_BID = "void_bid"
    BID_ON_BEHALF = "bid_on_behalf"  # a bid phoned in, entered by the buyer
    AWARD = "award"
    APPROVE_AWARD = "approve_award"  # four eyes: an award above the threshold
    ANSWER_QUESTION = "answer_question"
    RESOLVE_COMPLAINT = "resolve_complaint"
    OPEN_BIDS = "open_bids"  # present a key share of a sealed tender
    QUALIFY_BIDS = "qualify_bids"
    SCORE_BIDS = "score_bids"
    DECLARE_INTERESTS = "declare_interests"  # conflict of interest, before opening or evaluating
    READ_EVENT = "read_event"
    READ_AUDIT = "read_audit"
    # the supplier's side
    BID = "bid"  # bids, their revisions and withdrawals, questions about the documents
    ACCEPT_TERMS = "accept_terms"
    REGISTER_SUPPLIER = "register_supplier"
    APPEAL = "appeal"  # against a registry decision, or a complaint against an award decision
    READ_OWN_RECORD = "read_own_record"
    # the supplier registry
    READ_REGISTRY = "read_registry"
    REVIEW_SUPPLIER = "review_supplier"
    RESTRICT_SUPPLIER = "restrict_supplier"
    ANSWER_APPEAL = "answer_appeal"
    RATE_SUPPLIER = "rate_supplier"


_A = Action
TABLE: Mapping[TeamRole, frozenset[Action]] = MappingProxyType({
    TeamRole.PROCUREMENT_MANAGER: frozenset({
        _A.CREATE_EVENT, _A.CONFIGURE_EVENT, _A.INVITE_SUPPLIER, _A.RUN_EVENT, _A.VOID_BID,
        _A.BID_ON_BEHALF, _A.AWARD, _A.ANSWER_QUESTION, _A.RESOLVE_COMPLAINT, _A.READ_EVENT,
        _A.READ_REGISTRY, _A.RATE_SUPPLIER,
    }),
    TeamRole.OPENING_OFFICER: frozenset({_A.OPEN_BIDS, _A.DECLARE_INTERESTS, _A.READ_EVENT}),
    TeamRole.EVALUATOR: frozenset({
        _A.QUALIFY_BIDS, _A.SCORE_BIDS, _A.DECLARE_INTERESTS, _A.READ_EVENT,
    }),
    TeamRole.APPROVER: frozenset({_A.APPROVE_AWARD, _A.READ_EVENT, _A.READ_REGISTRY}),
    TeamRole.AUDITOR: frozenset({_A.READ_EVENT, _A.READ_AUDIT, _A.READ_REGISTRY}),
    TeamRole.SUPPLIER_REVIEWER: frozenset({
        _A.READ_REGISTRY, _A.REVIEW_SUPPLIER, _A.RESTRICT_SUPPLIER, _A.ANSWER_APPEAL,
    }),
    TeamRole.SUPPLIER_ADMIN: frozenset({
        _A.REGISTER_SUPPLIER, _A.APPEAL, _A.READ_OWN_RECORD, _A.BID, _A.ACCEPT_TERMS,
        _A.READ_EVENT,
    }),
    TeamRole.SUPPLIER_BIDDER: frozenset({_A.BID, _A.ACCEPT_TERMS, _A.READ_OWN_RECORD, _A.READ_EVENT}),
    TeamRole.OBSERVER: frozenset({_A.READ_EVENT}),
})
"""What each team role may do: the one home of it."""

SIDE: Mapping[TeamRole, Role] = MappingProxyType({
    TeamRole.PROCUREMENT_MANAGER: Role.BUYER,
    TeamRole.OPENING_OFFICER: Role.BUYER,
    TeamRole.EVALUATOR: Role.BUYER,
    TeamRole.APPROVER: Role.BUYER,
    TeamRole.AUDITOR: Role.BUYER,
    TeamRole.SUPPLIER_REVIEWER: Role.PLATFORM,
    TeamRole.SUPPLIER_ADMIN: Role.SUPPLIER,
    TeamRole.SUPPLIER_BIDDER: Role.SUPPLIER,
    TeamRole.OBSERVER: Role.OBSERVER,
})
"""The side each team role is on: a token's ``roles`` must all be of its ``role``'s side (an
auditor is a buyer's person, so it reads what its organisation's buyer reads, and only that)."""

DEFAULT_ROLES: Mapping[Role, frozenset[TeamRole]] = MappingProxyType({
    # The whole team in one person, as bidserver was before roles; never the approver (four eyes
    # need a second person named for it) nor the auditor (who may not act).
    Role.BUYER: frozenset({TeamRole.PROCUREMENT_MANAGER, TeamRole.OPENING_OFFICER,
                           TeamRole.EVALUATOR}),
    Role.SUPPLIER: frozenset({TeamRole.SUPPLIER_ADMIN, TeamRole.SUPPLIER_BIDDER}),
    Role.OBSERVER: frozenset({TeamRole.OBSERVER}),
    Role.PLATFORM: frozenset({TeamRole.SUPPLIER_REVIEWER}),
})
"""The team roles of a token (an actor) that names none: its side's whole work but approval and
audit, so that a platform issuing tokens without ``roles`` keeps working."""


def roles_of(actor: Actor) -> frozenset[TeamRole]:
    """The actor's team roles: those it names, or its side's defaults. A named role of another
    side counts for nothing (the token check refuses it, ``auth``; an actor built in code cannot
    slip a buyer's right to a supplier either)."""
    if actor.roles is None:
        return DEFAULT_ROLES.get(actor.role, frozenset())
    return frozenset(role for role in actor.roles if SIDE[role] is actor.role)


def allows(actor: Actor, action: Action) -> bool:
    """Whether one of the actor's team roles may ``action``; the server itself (timer ticks, a
    supplier's standing pushed in) always may."""
    if actor.role is Role.SYSTEM:
        return True
    return any(action in TABLE[role] for role in roles_of(actor))


def refusal(actor: Actor, action: Action) -> Rejection | None:
    """Why ``actor`` may not ``action`` (``forbidden``, naming the action, the roles that may and
    the actor's), or None when it may: the one check of every command."""
    if allows(actor, action):
        return None
    needed = ", ".join(sorted(role for role, actions in TABLE.items() if action in actions))
    held = ", ".join(sorted(roles_of(actor))) or "none"
    return Rejection(reason=Reason.FORBIDDEN,
                     detail=f"{action} needs one of the roles {needed}; yours: {held}")
