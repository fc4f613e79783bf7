"""The sealed tender: suppliers hand in bids sealed to the tender's key, which only k of the n
opening officers' key shares, presented at the opening time, can open.

Publication with a notice and documents by hash, questions and answers published without the
asker's name, sealed submissions (revised, withdrawn, confirmed after a change of the documents)
until the deadline, the opening (the officers' shares combined, every bid decrypted and the record
with the key given to every participant at once), qualification, scoring by named evaluators, the
award decision by the published formula, a standstill that complaints hold, and the final award;
cancelled or unsuccessful on the way. EU and China profiles check the law's time limits and
numbers. ``FORMAT`` is what the runtime knows of it (``engine.format``).
"""

from __future__ import annotations

from ..format import Format
from ..values import SYSTEM, Actor
from . import conflicts, shares
from .commands import Command, CreateTender, SetSupplierStanding, Tick
from .decide import decide, refusal_record
from .events import Event, decode_event, delivery, encode_event, seals_head
from .evolve import evolve, restore, state_bytes
from .records import TenderReceipt, awards, history, receipt, releases, results, summary
from .state import Phase, TenderState
from .values import TenderConfig
from .views import (
    TenderView, BidderView, audience_view, may_see, next_deadline, personal_to, redact, sees_seq,
    view_for, you,
)


def _create(actor: Actor, tender_id: str, config: TenderConfig) -> CreateTender:
    return CreateTender(actor=actor, at=0, tender_id=tender_id, config=config)


def _finished(state: TenderState) -> bool:
    return state.finished


def _standing(supplier: str, restricted: bool, reason: str, detail: str) -> SetSupplierStanding:
    return SetSupplierStanding(actor=SYSTEM, at=0, supplier=supplier, restricted=restricted,
                               reason=reason, detail=detail)


FORMAT = Format(
    name="sealed_tender",
    config_type=TenderConfig,
    command_type=Command,
    new_state=TenderState.new,
    create=_create,
    tick=lambda: Tick(actor=SYSTEM, at=0),
    decide=decide,
    evolve=evolve,
    next_deadline=next_deadline,
    finished=_finished,
    encode_event=encode_event,
    decode_event=decode_event,
    may_see=may_see,
    view=view_for,
    audience_view=audience_view,
    you_view=you,
    redact=redact,
    delivery=delivery,
    personal_to=personal_to,
    receipt=receipt,
    refusal_record=refusal_record,
    history=history,
    results=results,
    awards=awards,
    releases=releases,
    summary=summary,
    state_bytes=state_bytes,
    restore=restore,
    sees_seq=sees_seq,
    sees_every_event=lambda role: False,  # not even the buyer: no submission before the opening
    paced=False,  # no update is held back because others submit
    seals_head=seals_head,
    with_memory=shares.with_memory,  # presented key shares: in the writer's memory only
    remember=shares.remember,
    standing=_standing,
    # A named officer or evaluator who has not declared "no conflict" sees no opened bid, but the
    # live room builds one view for the buyer's people: they follow the tender over HTTP.
    live_refusal=conflicts.refusal,
)

__all__ = [
    "FORMAT", "Command", "Event", "Phase", "TenderConfig", "TenderReceipt", "TenderState",
    "TenderView", "BidderView", "decide", "evolve", "redact", "state_bytes", "view_for",
]
