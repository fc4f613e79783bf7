"""A supplier's standing, pushed into a live event by the server (``engine.standing``).

When the supplier registry restricts a supplier (suspended, blacklisted, a qualification lapsed
with its certificate) or restores it, each live event the supplier is invited to must know at
once: no new bid from it, its bids flagged to the buyer, no automatic award to it. The registry's
service calls ``set_standing`` for each such event. The command goes through the event's room like
a tick (the system actor, the time stamped by the writer), wherever the event is written: in this
process, or forwarded to the process holding its lease (``bus``), as any participant's command.
"""

from __future__ import annotations

from ..engine.rejections import Reason, Rejection
from .outcome import Result
from .registry import Rooms


async def set_standing(registry: Rooms, event_id: str, supplier: str, restricted: bool,
                       reason: str, detail: str) -> Result:
    """What became of pushing ``supplier``'s standing into event ``event_id``: the event written
    (``supplier_restricted`` or ``supplier_reinstated``), none when nothing changed, or why not
    (an event it is not invited to, one that is over, one of a format without suppliers'
    standing, none at all). Reading the event may raise what ``Rooms.get`` raises (the journal
    unavailable, a broken chain): the caller tries again later, as for any read."""
    event = await registry.get(event_id)
    if event is None:
        return Result(rejection=Rejection(reason=Reason.UNKNOWN_AUCTION,
                                          detail=f"no event {event_id}"))
    command = event.format.standing
    if command is None:
        return Result(rejection=Rejection(reason=Reason.FORBIDDEN, detail=(
            f"a {event.format.name} has no suppliers' standing")))
    return await event.submit(command(supplier, restricted, reason, detail))
