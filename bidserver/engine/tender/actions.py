"""What each command of the sealed tender is, as an ``Action`` of the permissions table: the
team role a sender needs (``permissions``), checked first by ``decide``.

``decide`` goes on to check the side and the person (the tender's own buyer, one of its named
officers or evaluators, an invited supplier); this adds which of that party's people may send
it. A test checks every command type is here or unchecked, so a new command cannot slip past
the table.
"""

from __future__ import annotations

from ..permissions import Action, refusal
from ..rejections import Rejection
from .commands import (
    AcceptTerms, AnswerQuestion, ApproveAward, AskQuestion, CancelTender, ChangeDocuments, Command,
    Complaint, ConfirmBid, CreateTender, DecideAward, DeclareInterests, InviteSupplier,
    PresentShare, Publish, Qualify, RecordAccessRefusal, ResolveComplaint, ReviseBid, Score,
    SetSupplierStanding, StartFollowOnAuction, SubmitBid, Tick, UpdateTender, WithdrawBid,
)

ACTIONS: dict[type, Action] = {
    CreateTender: Action.CREATE_EVENT,
    UpdateTender: Action.CONFIGURE_EVENT,
    ChangeDocuments: Action.CONFIGURE_EVENT,
    InviteSupplier: Action.INVITE_SUPPLIER,
    Publish: Action.RUN_EVENT,
    CancelTender: Action.RUN_EVENT,
    StartFollowOnAuction: Action.RUN_EVENT,  # the tender goes on as a live auction
    AskQuestion: Action.BID,  # part of preparing a bid
    AnswerQuestion: Action.ANSWER_QUESTION,
    SubmitBid: Action.BID,
    ReviseBid: Action.BID,
    WithdrawBid: Action.BID,
    ConfirmBid: Action.BID,
    PresentShare: Action.OPEN_BIDS,
    Qualify: Action.QUALIFY_BIDS,
    Score: Action.SCORE_BIDS,
    DecideAward: Action.AWARD,
    # A complaint against the award decision is the supplier organisation's formal challenge:
    # its administrator's, as an appeal against the registry's decisions is.
    Complaint: Action.APPEAL,
    ResolveComplaint: Action.RESOLVE_COMPLAINT,
    AcceptTerms: Action.ACCEPT_TERMS,
    ApproveAward: Action.APPROVE_AWARD,
    DeclareInterests: Action.DECLARE_INTERESTS,
}

# Commands no team role is asked for: the server's timer and the supplier registry's word (the
# system's alone, which ``decide`` checks itself), and the record of a read the edge refused (the attempt is recorded whoever
# made it, and is never refused itself). Every other command is in ``ACTIONS`` (a test checks it).
UNCHECKED: frozenset[type] = frozenset({Tick, RecordAccessRefusal, SetSupplierStanding})


def permission_refusal(command: Command) -> Rejection | None:
    """Why the command's sender may not send it (``forbidden``), or None: for an unchecked
    command, and for one of another format (``decide``'s table refuses it, as it always did: a
    reverse auction's route reached with a tender's id)."""
    action = ACTIONS.get(type(command))
    return None if action is None else refusal(command.actor, action)
