"""Approval of an award above a threshold (four eyes): the one home of the rule, for every format.

A configuration may name an ``approval_threshold`` (minor units). An award above it is not made
when it is decided: it is proposed (``award_proposed``, the buyer's alone), and another user of the
buyer's organisation approves it, which makes the award exactly as it would have been made
without a threshold (its events, its OCDS release), or declines it with a reason, which leaves it
to be decided again. Until then nothing of it is published. Why four eyes: a large award is a
decision a single person must not be able to make alone (segregation of duties, as public
procurement and internal-control rules ask of commitments above a limit).

What the threshold is compared with is each format's: a reverse auction's lot award's amount, a
sealed tender's decision's total over its lots.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UnsetType

from .rejections import Reason, Rejection
from .values import Actor

ApprovalThreshold = Annotated[int, msgspec.Meta(ge=0, description=(
    "An award above this amount (minor units of the currency) is only proposed: another user "
    "of the buyer's organisation approves it (`POST .../award/approval`) before it is made. "
    "Absent: every award is made at once"))]


def needs_approval(threshold: int | UnsetType, amount: int) -> bool:
    return isinstance(threshold, int) and amount > threshold


def approval_refusal(
    proposed_by: str, actor: Actor, approve: bool, reason: str
) -> Rejection | None:
    """Why an approval (or a decline) of a proposed award is refused: four eyes need a named
    person who is not the one who proposed it (the server proposes an award made at the close:
    any named person of the buyer may approve it); a decline says why."""
    if not actor.user:
        return Rejection(reason=Reason.FORBIDDEN, detail="approving an award needs a named user")
    if actor.user == proposed_by:
        return Rejection(reason=Reason.SAME_USER,
                         detail="the award was proposed by you: another user approves it")
    if not approve and not reason.strip():
        return Rejection(reason=Reason.REASON_REQUIRED, detail="declining an award needs a reason")
    return None
