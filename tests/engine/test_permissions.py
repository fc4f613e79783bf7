"""Team roles and permissions (``engine.permissions``): the matrix against a table written out
here (not read from the code), the defaults, roles of another side, the system; each format's
commands as actions, checked first by ``decide``; the platform shown no event; and the table in
docs/suppliers.md equal to the code's."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from bidserver.engine.permissions import (
    DEFAULT_ROLES, SIDE, TABLE, Action, allows, refusal, roles_of,
)
from bidserver.engine.rejections import Reason
from bidserver.engine.reverse import FORMAT as REVERSE
from bidserver.engine.reverse import actions as reverse_actions
from bidserver.engine.reverse import commands as reverse_commands
from bidserver.engine.tender import FORMAT as TENDER
from bidserver.engine.tender import actions as tender_actions
from bidserver.engine.tender import commands as tender_commands
from bidserver.engine.tender.comparison import comparison_for
from bidserver.engine.tender.events import AccessRefused
from bidserver.engine.values import SYSTEM, Actor, Role, TeamRole

from . import builders as rb
from .tender import builders as tb

DOCS = Path(__file__).resolve().parents[2] / "docs" / "suppliers.md"

R = TeamRole
EXPECTED: dict[TeamRole, set[str]] = {
    R.PROCUREMENT_MANAGER: {
        "create_event", "configure_event", "invite_supplier", "run_event", "void_bid",
        "bid_on_behalf", "award", "answer_question", "resolve_complaint", "read_event",
        "read_registry", "rate_supplier"},
    R.OPENING_OFFICER: {"open_bids", "declare_interests", "read_event"},
    R.EVALUATOR: {"qualify_bids", "score_bids", "declare_interests", "read_event"},
    R.APPROVER: {"approve_award", "read_event", "read_registry"},
    R.AUDITOR: {"read_event", "read_audit", "read_registry"},
    R.SUPPLIER_REVIEWER: {"read_registry", "review_supplier", "restrict_supplier",
                          "answer_appeal"},
    R.SUPPLIER_ADMIN: {"register_supplier", "appeal", "read_own_record", "bid", "accept_terms",
                       "read_event"},
    R.SUPPLIER_BIDDER: {"bid", "accept_terms", "read_own_record", "read_event"},
    R.OBSERVER: {"read_event"},
}
EXPECTED_SIDE = {
    R.PROCUREMENT_MANAGER: Role.BUYER, R.OPENING_OFFICER: Role.BUYER, R.EVALUATOR: Role.BUYER,
    R.APPROVER: Role.BUYER, R.AUDITOR: Role.BUYER, R.SUPPLIER_REVIEWER: Role.PLATFORM,
    R.SUPPLIER_ADMIN: Role.SUPPLIER, R.SUPPLIER_BIDDER: Role.SUPPLIER, R.OBSERVER: Role.OBSERVER,
}
ACTIONS = (
    "create_event", "configure_event", "invite_supplier", "run_event", "void_bid",
    "bid_on_behalf", "award", "approve_award", "answer_question", "resolve_complaint",
    "open_bids", "qualify_bids", "score_bids", "declare_interests", "read_event", "read_audit",
    "bid", "accept_terms", "register_supplier", "appeal", "read_own_record", "read_registry",
    "review_supplier", "restrict_supplier", "answer_appeal", "rate_supplier",
)


def person(*roles: TeamRole, party: str = "org-buyer", user: str = "u") -> Actor:
    """A person of the side of its (first) team role."""
    return Actor(EXPECTED_SIDE[roles[0]], party, user, frozenset(roles))


def test_the_actions_and_team_roles_are_the_designs():
    assert [a.value for a in Action] == list(ACTIONS)
    assert set(TeamRole) == set(EXPECTED) and dict(SIDE) == EXPECTED_SIDE
    assert Role.PLATFORM == "platform"


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("team_role", list(TeamRole))
def test_the_matrix(team_role, action):
    actor = person(team_role)
    expected = action in EXPECTED[team_role]
    assert allows(actor, Action(action)) is expected
    refused = refusal(actor, Action(action))
    if expected:
        assert refused is None
    else:
        assert refused.reason is Reason.FORBIDDEN
        assert action in refused.detail and team_role in refused.detail  # what, and who asked


def test_a_refusal_names_who_may():
    refused = refusal(person(R.EVALUATOR), Action.AWARD)
    assert refused.detail == "award needs one of the roles procurement_manager; yours: evaluator"
    refused = refusal(person(R.OBSERVER), Action.DECLARE_INTERESTS)
    assert "evaluator, opening_officer" in refused.detail


def test_every_action_is_someones():
    assert all(any(a in TABLE[r] for r in TeamRole) for a in Action)


def test_a_token_without_roles_gets_its_sides_defaults():
    assert DEFAULT_ROLES == {
        Role.BUYER: {R.PROCUREMENT_MANAGER, R.OPENING_OFFICER, R.EVALUATOR},
        Role.SUPPLIER: {R.SUPPLIER_ADMIN, R.SUPPLIER_BIDDER},
        Role.OBSERVER: {R.OBSERVER},
        Role.PLATFORM: {R.SUPPLIER_REVIEWER},
    }
    buyer = Actor(Role.BUYER, "org-buyer")  # as every actor before roles
    assert roles_of(buyer) == DEFAULT_ROLES[Role.BUYER]
    for action in ("create_event", "open_bids", "score_bids", "bid_on_behalf", "award"):
        assert allows(buyer, Action(action)), action
    for action in ("approve_award", "read_audit", "bid"):  # four eyes; the auditor's; a supplier's
        assert not allows(buyer, Action(action)), action
    assert allows(Actor(Role.SUPPLIER, "s"), Action.REGISTER_SUPPLIER)
    assert not allows(Actor(Role.OBSERVER, "org-buyer"), Action.BID)
    platform = Actor(Role.PLATFORM, "operator")
    assert allows(platform, Action.REVIEW_SUPPLIER) and not allows(platform, Action.READ_EVENT)


def test_a_role_of_another_side_counts_for_nothing():
    smuggled = Actor(Role.SUPPLIER, "s", roles=frozenset({R.PROCUREMENT_MANAGER, R.SUPPLIER_BIDDER}))
    assert roles_of(smuggled) == {R.SUPPLIER_BIDDER}
    assert not allows(smuggled, Action.CREATE_EVENT) and allows(smuggled, Action.BID)
    assert roles_of(Actor(Role.BUYER, "b", roles=frozenset())) == frozenset()  # named: nobody
    assert refusal(Actor(Role.BUYER, "b", roles=frozenset()), Action.READ_EVENT).detail.endswith(
        "yours: none")


def test_the_system_may_do_anything():
    assert all(allows(SYSTEM, action) for action in Action)
    assert roles_of(SYSTEM) == frozenset()


# ------------------------------------------------------------------ the formats' commands


@pytest.mark.parametrize("commands, actions", [
    (reverse_commands, reverse_actions), (tender_commands, tender_actions),
], ids=["reverse", "tender"])
def test_every_command_of_a_format_is_an_action_or_unchecked(commands, actions):
    every = set(typing.get_args(commands.Command))
    assert set(actions.ACTIONS) | actions.UNCHECKED == every
    assert not set(actions.ACTIONS) & actions.UNCHECKED


def test_the_unchecked_commands_are_the_systems_and_the_record_of_a_refused_read():
    assert reverse_actions.UNCHECKED == {reverse_commands.Tick, reverse_commands.SetSupplierStanding}
    assert tender_actions.UNCHECKED == {tender_commands.Tick, tender_commands.RecordAccessRefusal,
                                        tender_commands.SetSupplierStanding}


AUDITOR = person(R.AUDITOR, user="audrey")
MANAGER = person(R.PROCUREMENT_MANAGER, user="max")
BIDDER = Actor(Role.SUPPLIER, "sup-a", "bea", frozenset({R.SUPPLIER_BIDDER}))
SUPPLIER_ADMIN = Actor(Role.SUPPLIER, "sup-b", "ada", frozenset({R.SUPPLIER_ADMIN}))


def test_a_reverse_bid_is_a_suppliers_or_on_its_behalf():
    on_behalf = rb.phoned("sup-a", 90_000, rb.T0 + 1)
    assert reverse_actions.action_of(on_behalf) is Action.BID_ON_BEHALF
    assert reverse_actions.action_of(rb.bid("sup-a", 90_000, rb.T0 + 1)) is Action.BID
    assert reverse_actions.action_of(rb.tick(rb.T0)) is None  # unchecked


def test_the_reverse_auction_asks_the_team_role_first():
    state = rb.draft()
    refused = rb.refused(state, reverse_commands.StartAuction(actor=AUDITOR, at=rb.T0))
    assert (refused.reason, refused.detail) == (
        Reason.FORBIDDEN, "run_event needs one of the roles procurement_manager; yours: auditor")
    rb.ok(state, reverse_commands.StartAuction(actor=MANAGER, at=rb.T0))
    refused = rb.refused(state, rb.phoned("sup-a", 90_000, rb.T0 + 1, actor=AUDITOR))
    assert refused.reason is Reason.FORBIDDEN and "bid_on_behalf" in refused.detail
    rb.ok(state, rb.phoned("sup-a", 90_000, rb.T0 + 1, actor=MANAGER))
    evaluator = person(R.EVALUATOR)
    assert rb.refused(state, rb.pause(rb.T0 + 2, actor=evaluator)).reason is Reason.FORBIDDEN
    bid = reverse_commands.PlaceBid(actor=BIDDER, at=rb.T0 + 3, lot_id="L1", amount=80_000,
                                    bid_id="own")
    rb.ok(state, bid)  # a supplier's bidder bids
    observer = rb.OBSERVER
    refused = rb.refused(state, reverse_commands.PlaceBid(
        actor=observer, at=rb.T0 + 4, lot_id="L1", amount=70_000, bid_id="obs"))
    assert "bid needs one of the roles supplier_admin, supplier_bidder" in refused.detail
    # The side still counts: a manager of another organisation is not the auction's buyer.
    other = person(R.PROCUREMENT_MANAGER, party="org-other")
    assert "for the auction's buyer" in rb.refused(state, rb.pause(rb.T0 + 5, actor=other)).detail


def test_the_sealed_tender_asks_the_team_role_first():
    run = tb.opened()  # shares presented by the buyer's defaults (opening officers)
    officer = person(R.OPENING_OFFICER, party=tb.ORG, user="off-1")
    evaluator = person(R.EVALUATOR, party=tb.ORG, user="ev-1")
    refused = tb.refused(run.state, tb.qualify("sup-a", tb.OPENING + 1, actor=officer))
    assert refused.reason is Reason.FORBIDDEN and "qualify_bids" in refused.detail
    run.do(tb.qualify("sup-a", tb.OPENING + 1, actor=evaluator))
    assert tb.refused(run.state, tb.cancel(tb.OPENING + 2, actor=AUDITOR)).reason is Reason.FORBIDDEN
    assert tb.refused(run.state, tb.decide_award(tb.OPENING + 2, actor=evaluator)).reason \
        is Reason.FORBIDDEN
    # at the opening: an evaluator presents no share, an opening officer does
    run = tb.with_bids().close().start_opening()
    share = tender_commands.PresentShare(actor=evaluator, at=tb.OPENING + 1, share=tb.SHARES[0])
    assert "open_bids" in tb.refused(run.state, share).detail
    run.do(tender_commands.PresentShare(actor=officer, at=tb.OPENING + 1, share=tb.SHARES[0]))


def test_a_complaint_is_the_supplier_admins():
    run = tb.decided()  # sup-a and sup-b bid
    complaint = tender_commands.Complaint(actor=BIDDER, at=tb.OPENING + 3 * tb.DAY,
                                          complaint_id="k1", text="too cheap")
    refused = tb.refused(run.state, complaint)
    assert refused.reason is Reason.FORBIDDEN and "appeal" in refused.detail
    run.do(tender_commands.Complaint(actor=SUPPLIER_ADMIN, at=tb.OPENING + 3 * tb.DAY,
                                     complaint_id="k1", text="too cheap"))


@pytest.mark.parametrize("actor", [AUDITOR, rb.OBSERVER, Actor(Role.PLATFORM, "operator"),
                                   Actor(Role.BUYER, tb.ORG, "nobody", frozenset())])
def test_a_refused_read_is_recorded_whoever_made_it(actor):
    run = tb.published()
    events = run.do(tender_commands.RecordAccessRefusal(actor=actor, at=tb.T0 + 1, what="files",
                                                        reason="not_found"))
    assert [type(e) for e in events] == [AccessRefused]


# ------------------------------------------------------------------ the platform sees no event


PLATFORM = Actor(Role.PLATFORM, "org-buyer", "rev")  # even named as the buyer organisation


def _reverse_events():
    state = rb.draft()
    events = list(rb.accepted(state, reverse_commands.StartAuction(actor=rb.BUYER, at=rb.T0)))
    events += rb.accepted(state, rb.bid("sup-a", 90_000, rb.T0 + 1))
    events += rb.accepted(state, rb.phoned("sup-b", 80_000, rb.T0 + 2, bid_id="ph"))
    events += rb.accepted(state, reverse_commands.VoidBid(actor=rb.BUYER, at=rb.T0 + 3,
                                                          bid_id="ph", reason="typo"))
    events += rb.accepted(state, rb.tick(rb.T0 + 60_000))
    return state, events


def test_the_platform_sees_no_auction():
    state, events = _reverse_events()
    _sees_nothing(REVERSE, state, events)


def test_the_platform_sees_no_tender():
    run = tb.qualified(tb.opened())
    _sees_nothing(TENDER, run.state, run.log)
    assert comparison_for(run.state, PLATFORM).reason in (Reason.UNKNOWN_AUCTION, Reason.FORBIDDEN)


def _sees_nothing(fmt, state, events):
    assert events and fmt.may_see(state, rb.BUYER if fmt is REVERSE else tb.BUYER)
    assert not fmt.may_see(state, PLATFORM)
    assert not fmt.may_see(state, Actor(Role.PLATFORM, "operator"))
    # reading needs ``read_event``: every team role of the sides that take part has it
    assert fmt.may_see(state, AUDITOR) and fmt.may_see(state, person(R.APPROVER))
    assert not fmt.may_see(state, Actor(Role.BUYER, "org-buyer", roles=frozenset()))
    with pytest.raises(ValueError):
        fmt.view(state, PLATFORM)
    with pytest.raises(ValueError):
        fmt.audience_view(state, Role.PLATFORM)
    assert fmt.you_view(state, PLATFORM) is None
    assert all(fmt.redact(state, e, PLATFORM) is None for e in events)
    assert all(fmt.shown_to(state, e, PLATFORM) is None for e in events)
    assert fmt.history(state, PLATFORM) == []
    assert fmt.results(state, PLATFORM) is None
    assert fmt.releases(state, PLATFORM) is None


# ------------------------------------------------------------------ the documentation


def _section(text: str) -> str:
    start = text.index("## Roles and permissions")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def _tables(section: str) -> list[list[list[str]]]:
    """Every markdown table of the section, as rows of cells (the separator row left out)."""
    tables, rows = [], []
    for line in [*section.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                rows.append(cells)
        elif rows:
            tables.append(rows)
            rows = []
    return tables


def test_the_documented_table_is_the_codes():
    tables = _tables(_section(DOCS.read_text(encoding="utf-8")))
    matrix = next(t for t in tables if t[0][0] == "action")
    roles = [TeamRole(name) for name in matrix[0][1:]]
    documented = {role: {row[0] for row in matrix[1:] if row[1 + i] == "✓"}
                  for i, role in enumerate(roles)}
    assert {cell for row in matrix[1:] for cell in row[1:]} <= {"✓", ""}
    assert set(roles) == set(TeamRole) and [row[0] for row in matrix[1:]] == [a.value for a in Action]
    assert documented == {role: {a.value for a in actions} for role, actions in TABLE.items()}
    defaults = next(t for t in tables if t[0][0] == "side")
    assert {Role(row[0]): {TeamRole(r.strip(" `")) for r in row[1].split(",")}
            for row in defaults[1:]} == DEFAULT_ROLES
    sides = next(t for t in tables if t[0][0] == "team role")
    assert {TeamRole(row[0]): Role(row[1]) for row in sides[1:]} == SIDE
