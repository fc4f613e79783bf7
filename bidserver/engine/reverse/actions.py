"""What each command of the reverse auction is, as an ``Action`` of the permissions table: the
team role a sender needs (``permissions``), checked first by ``decide``.

``decide`` goes on to check the side (the auction's own buyer, an invited supplier); this adds
which of that party's people may send it. A test checks every command type is here or unchecked,
so a new command cannot slip past the table.
"""

from __future__ import annotations

from ..permissions import Action, refusal
from ..rejections import Rejection
from ..values import Role
from .commands import (
    AcceptTerms, ApproveAward, AwardLot, CancelAuction, Command, CreateAuction, ExtendAuction,
    InviteSupplier, PauseAuction, PlaceBid, ResumeAuction, SetSupplierStanding, StartAuction,
    Tick, UpdateConfig, VoidBid,
)

ACTIONS: dict[type, Action] = {
    CreateAuction: Action.CREATE_EVENT,
    UpdateConfig: Action.CONFIGURE_EVENT,
    InviteSupplier: Action.INVITE_SUPPLIER,
    StartAuction: Action.RUN_EVENT,
    PauseAuction: Action.RUN_EVENT,
    ResumeAuction: Action.RUN_EVENT,
    ExtendAuction: Action.RUN_EVENT,
    CancelAuction: Action.RUN_EVENT,
    PlaceBid: Action.BID,  # a buyer's is ``bid_on_behalf`` (``action_of``)
    VoidBid: Action.VOID_BID,
    AwardLot: Action.AWARD,
    ApproveAward: Action.APPROVE_AWARD,
    AcceptTerms: Action.ACCEPT_TERMS,
}

# Commands no team role is asked for: the server's timer and the supplier registry's word, the
# system's alone, which ``decide`` checks itself. Every other command of the format is in
# ``ACTIONS`` (a test checks it).
UNCHECKED: frozenset[type] = frozenset({Tick, SetSupplierStanding})


def action_of(command: Command) -> Action | None:
    """The command's action: a bid from a buyer is one it enters for a supplier who phoned it in
    (``bid_on_behalf``), a right the bidders of the supplier side do not give. None: unchecked,
    or no command of this format (``decide``'s table refuses it, as it always did)."""
    if type(command) is PlaceBid and command.actor.role is Role.BUYER:
        return Action.BID_ON_BEHALF
    return ACTIONS.get(type(command))


def permission_refusal(command: Command) -> Rejection | None:
    """Why the command's sender may not send it (``forbidden``), or None."""
    action = action_of(command)
    return None if action is None else refusal(command.actor, action)
