"""Who may upload a bid's sealed document and who may read one, from the tender's state. Pure.

The files themselves are the edge's (``http.bid_files``, ``store.files``): the journal never
holds them, only the bids that name them. The store keeps each supplier's uploads apart, so a
rule here answers with the suppliers whose copy the caller may read, never with a path:

- upload: an invited supplier, while the tender takes bids (as a submission: published, before
  the deadline, checked against the request's own time so nothing waits on the tick);
- read: the uploader its own files, always; the buyer's organisation (its people and observers)
  once the bids are opened, the files an opened bid names, from the supplier whose bid names it
  (a bid naming another supplier's file does not make that file readable). Anyone else is told
  there is no such file, before the opening the buyer too: until then nobody but the uploader
  learns whether a supplier uploaded anything; and so is a named officer or evaluator who has not
  declared "no conflict" (``conflicts``).
"""

from __future__ import annotations

from ..rejections import Reason, Rejection
from ..values import Actor, Role
from . import conflicts
from .state import TenderState
from .submissions import taking_bids


def upload_refusal(state: TenderState, actor: Actor, at: int) -> Rejection | None:
    """Why ``actor`` may not upload a document at ``at``; None if it may."""
    if actor.role is not Role.SUPPLIER:
        return Rejection(reason=Reason.FORBIDDEN, detail="only suppliers upload bid documents")
    if actor.party not in state.suppliers:
        return Rejection(reason=Reason.NOT_INVITED, detail="not invited to this tender")
    return taking_bids(state, at)


def readable_from(state: TenderState, actor: Actor, digest: str) -> tuple[str, ...]:
    """The suppliers whose stored copy of the file ``digest`` (``sha256:<hex>``) ``actor`` may
    read, in the opening record's order; empty: none (the edge answers 404)."""
    if actor.role is Role.SUPPLIER:
        return (actor.party,)
    if actor.role not in (Role.BUYER, Role.OBSERVER) or actor.party != state.buyer:
        return ()
    if state.opened_at is None or conflicts.withheld(state, actor):
        return ()
    return tuple(line.supplier for line in state.record
                 if line.failed is None and any(d.digest == digest for d in line.documents))
