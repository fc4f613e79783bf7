"""A supplier restricted during a tender (``engine.standing``): what the tender does about it. Pure.

- Its new bids (submissions, revisions) are refused ``supplier_restricted``; it may still withdraw
  or confirm the bid it has in (``submissions``).
- Its bid is opened with the others and is the buyer's to qualify: it cannot be qualified valid
  while restricted (the buyer disqualifies it, or waits for its reinstatement), and the award is
  not decided, nor a follow-on auction started, while a restricted supplier's bid stands valid.
- If it won a lot of the award decision during the standstill, the decision is withdrawn at once
  (``events.SupplierRestricted.award_withdrawn``): the evaluation goes on, as after an upheld
  complaint, so that no award becomes final to it when the standstill ends.
"""

from __future__ import annotations

from .. import standing
from ..rejections import Reason, Rejection
from ..values import Role
from . import evaluation
from .commands import Qualification, Qualify, SetSupplierStanding
from .events import Event, SupplierReinstated, SupplierRestricted
from .state import Phase, TenderState

Decision = list[Event] | Rejection


def set_standing(state: TenderState, c: SetSupplierStanding) -> Decision:
    """An event when the registry's word changes anything, none when it does not."""
    if c.actor.role is not Role.SYSTEM:
        return Rejection(reason=Reason.FORBIDDEN,
                         detail="a supplier's standing comes from the supplier registry")
    if c.supplier not in state.suppliers:
        return Rejection(reason=Reason.NOT_INVITED, detail=f"{c.supplier} is not invited")
    current = state.restricted.get(c.supplier)
    if standing.unchanged(current, c.restricted, c.reason, c.detail):
        return []
    if not c.restricted:
        return [SupplierReinstated(at=c.at, supplier=c.supplier, reason=c.reason,
                                   detail=c.detail)]
    won = state.phase is Phase.STANDSTILL and any(
        lot.winner == c.supplier for lot in state.decision.lots)
    return [SupplierRestricted(at=c.at, supplier=c.supplier, reason=c.reason, detail=c.detail,
                               award_withdrawn=won)]


def qualify_refusal(state: TenderState, c: Qualify) -> Rejection | None:
    """A restricted supplier's bid is not qualified valid."""
    restriction = state.restricted.get(c.supplier)
    if c.status is not Qualification.VALID or restriction is None:
        return None
    return Rejection(reason=Reason.SUPPLIER_RESTRICTED, detail=(
        f"{c.supplier} is restricted ({restriction.reason}): disqualify its bid, or wait for its "
        "reinstatement"))


def award_refusal(state: TenderState) -> Rejection | None:
    """Nothing is awarded while a restricted supplier's bid stands valid."""
    standing_valid = [s for s in evaluation.valid_suppliers(state) if s in state.restricted]
    if not standing_valid:
        return None
    return Rejection(reason=Reason.SUPPLIER_RESTRICTED, detail=(
        f"restricted, with a bid qualified valid: {', '.join(standing_valid)}; disqualify it, or "
        "wait for its reinstatement"))
