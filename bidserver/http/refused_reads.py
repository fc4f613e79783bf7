"""Refused reads of a sealed tender, recorded in its tamper-evident log (EU Annex IV (g)).

A refused command is recorded by the engine itself (a late bid, an early share: the format's
``refusal_record``). A refused *read* never reaches the engine: the edge refuses it (another
supplier's file, a buyer asking for receipts, the comparison before the opening). So the edge
hands the room one ``RecordAccessRefusal`` for it, the room journals an ``access_refused`` event
(who, what, why), and the audit export carries it; no view shows it. The refusal is answered
after the attempt is journaled, or at once if the journal cannot take it (the refusal stands
either way; the failure to record it is logged).

Recording costs a journal write, so a principal's refused reads of one tender are recorded at a
bounded rate (``BucketsByKey``: a burst of 5, then one every 10 s); past it the refusal is still
answered and counted in the log line, not journaled.
"""

from __future__ import annotations

import logging

from ..auth import Principal
from ..engine.tender.commands import RecordAccessRefusal
from ..ratelimit import BucketsByKey
from ..runtime.auction import Auction
from .routes import ApiError

log = logging.getLogger(__name__)

RECORDED = BucketsByKey(rate=0.1, burst=5)


async def refused_read(room: Auction, principal: Principal, what: str, error: ApiError) -> ApiError:
    """Record ``error``, a refused read of ``what`` in tender ``room``, then return it to raise."""
    actor = principal.actor
    if RECORDED.take((room.auction_id, actor.role, actor.party, actor.user)):
        command = RecordAccessRefusal(actor=actor, at=0, what=what, reason=error.problem.reason)
        try:
            await room.submit(command)
        except Exception as exc:  # noqa: BLE001 - the refusal is answered whatever happens here
            log.warning("cannot record a refused read of %s in %s: %s", what, room.auction_id, exc)
    else:
        log.info("refused read of %s in %s by %s %s, past the recording rate", what,
                 room.auction_id, actor.role, actor.party)
    return error
