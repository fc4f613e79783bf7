"""A supplier's standing as a live event knows it: what every format shares of it. Pure.

The supplier registry decides a supplier's standing (``engine.admission``); when it changes
during an event the supplier is invited to (suspended, blacklisted, a qualification lapsed with
its certificate, or reinstated), the server pushes it into that event as a command of the system
actor (``runtime.standing``). The event keeps only what it needs: whether the supplier is
restricted, the registry's reason code, its words, and since when (docs/suppliers.md, "A
supplier restricted during an event").

While restricted, the supplier's new bids are refused (``bid_refusal``); what it already bid
stands, flagged to the buyer, who decides (each format says how), and no automatic award goes to
it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec

from .rejections import Reason, Rejection

# A standing reason code of the registry (``suspended``, ``blacklisted``,
# ``certificate_expired``...): a code, not words, so that clients can name it in their language.
ReasonCode = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[a-z][a-z_]*$")]


@dataclass(slots=True)
class Restriction:
    """A restricted supplier, in an event's state."""

    reason: str
    detail: str
    since: int  # when the event learned of it (a change of reason keeps it)


class RestrictionView(msgspec.Struct, frozen=True, kw_only=True):
    """A restriction as the buyer (per supplier) and the supplier itself (``you``) see it."""

    reason: str  # the registry's code: suspended, blacklisted, certificate_expired...
    detail: str
    since: int


def shown(restriction: Restriction | None) -> RestrictionView | None:
    if restriction is None:
        return None
    return RestrictionView(reason=restriction.reason, detail=restriction.detail,
                           since=restriction.since)


def unchanged(current: Restriction | None, restricted: bool, reason: str, detail: str) -> bool:
    """Whether pushing this standing would change nothing (then no event is written: the
    registry may push the same standing again, after a restart or to every event at once)."""
    if not restricted:
        return current is None
    return current is not None and (current.reason, current.detail) == (reason, detail)


def restricted_since(current: Restriction | None, at: int) -> int:
    """When a restriction written at ``at`` started: a new reason keeps the first time."""
    return at if current is None else current.since


def bid_refusal(restrictions: dict[str, Restriction], supplier: str) -> Rejection | None:
    """Why ``supplier`` may not make a new bid: it is restricted; None if it is not."""
    restriction = restrictions.get(supplier)
    if restriction is None:
        return None
    return Rejection(reason=Reason.SUPPLIER_RESTRICTED, detail=(
        f"your standing in the supplier registry is {restriction.reason}: no new bid is taken "
        "until it is restored"))
