"""A toy second format, defined only here: a tally that suppliers add to until a bell rings.

It exists to prove the format contract real: ``test_toy_format`` runs it through the runtime, the
journal (hash-chained, on real Redis), the live room and a restart, with no line of runtime or
edge code written for it. It uses every part of ``engine.format.Format`` with the smallest rules
that make each part observable: a timer (the bell, ``RING_AFTER_MS`` after creation), a personal
view (``yours``), a hidden field (the owner's note), folded and listed events, a resendable
command, awards (the largest contributor gets one release) and a summary for the listing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from bidserver.engine.format import AwardRelease, Delivery, Format, Summary, Table
from bidserver.engine.rejections import Reason, Rejection
from bidserver.engine.values import SYSTEM, Actor, Role

RING_AFTER_MS = 200


class ToyConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="format",
                tag="toy_tally"):
    title: str
    note: str = ""  # the owner's eyes only


class _Command(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    actor: Actor
    at: int


class Open(_Command, tag="open"):
    tally_id: str
    config: ToyConfig


class Add(_Command, tag="add"):
    ref: str  # resending the same ref adds nothing twice
    amount: int


class Ring(_Command, tag="ring"):
    pass


Command = Open | Add | Ring


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    at: int


class Opened(_Event, tag="opened"):
    owner: str
    config: ToyConfig


class Added(_Event, tag="added"):
    ref: str
    by: str
    amount: int


class Rang(_Event, tag="rang"):
    pass


Event = Opened | Added | Rang
_events = msgspec.json.Decoder(Event)


@dataclass
class Tally:
    auction_id: str
    seq: int = 0
    owner: str | None = None
    config: ToyConfig | None = None
    created_at: int = 0
    listed_at: int = 0  # when the summary last changed (an adder's first addition, the bell)
    total: int = 0
    by: dict[str, int] = field(default_factory=dict)
    refs: dict[str, tuple[str, int]] = field(default_factory=dict)
    rang: bool = False


def decide(state: Tally, c: Any) -> list[Any] | Rejection:
    match c:
        case Open() if state.owner is None and c.actor.role is Role.BUYER:
            return [Opened(at=c.at, owner=c.actor.party, config=c.config)]
        case Add() if state.owner is not None and c.actor.role is Role.SUPPLIER:
            known = state.refs.get(c.ref)
            if known is not None:
                return [] if known == (c.actor.party, c.amount) else Rejection(
                    reason=Reason.DUPLICATE_BID_ID, detail="ref used for another amount")
            if state.rang:
                return Rejection(reason=Reason.AUCTION_CLOSED, detail="the bell has rung")
            if c.amount <= 0:
                return Rejection(reason=Reason.INVALID_AMOUNT, detail="add a positive amount")
            return [Added(at=c.at, ref=c.ref, by=c.actor.party, amount=c.amount)]
        case Ring() if c.actor.role is Role.SYSTEM:
            due = state.owner is not None and not state.rang and c.at >= next_deadline(state)
            return [Rang(at=c.at)] if due else []
    return Rejection(reason=Reason.FORBIDDEN, detail=f"{type(c).__name__} is not for a tally")


def evolve(state: Tally, e: Any) -> None:
    match e:
        case Opened():
            state.owner, state.config, state.created_at = e.owner, e.config, e.at
            state.listed_at = e.at
        case Added():
            if e.by not in state.by:
                state.listed_at = e.at
            state.total += e.amount
            state.by[e.by] = state.by.get(e.by, 0) + e.amount
            state.refs[e.ref] = (e.by, e.amount)
        case Rang():
            state.rang = True
            state.listed_at = e.at
    state.seq += 1


def next_deadline(state: Tally) -> int | None:
    return None if state.owner is None or state.rang else state.created_at + RING_AFTER_MS


def may_see(state: Tally, actor: Actor) -> bool:
    return state.owner is not None and (
        actor.role is Role.SUPPLIER or actor.party == state.owner
    )


def view(state: Tally, actor: Actor) -> dict[str, Any]:
    shown = {"title": state.config.title, "total": state.total, "rang": state.rang}
    if actor.role is Role.BUYER:
        shown |= {"note": state.config.note, "by": state.by}
    return shown


def you(state: Tally, actor: Actor) -> dict[str, int] | None:
    return {"yours": state.by.get(actor.party, 0)} if actor.role is Role.SUPPLIER else None


def redact(state: Tally, event: Any, actor: Actor) -> Any:
    if actor.role is Role.BUYER or type(event) is not Opened:
        return event
    return {"type": "opened", "at": event.at, "title": event.config.title}  # no note


def delivery(event: Any) -> Delivery:
    return Delivery.URGENT if type(event) is Rang else Delivery.FOLDED


def personal_to(state: Tally, event: Any) -> str | None:
    return event.by if type(event) is Added else None


def receipt(state: Tally, command: Any) -> Any:
    return {"total": state.total} if type(command) is Add else None


def history(state: Tally, actor: Actor) -> list[dict[str, Any]]:
    return [{"ref": ref, "amount": amount} for ref, (by, amount) in state.refs.items()
            if actor.role is Role.BUYER or by == actor.party]


def results(state: Tally, actor: Actor) -> Table | None:
    if actor.party != state.owner:
        return None
    return Table(("supplier", "amount"), sorted(state.by.items()))


def awards(state: Tally, events: Sequence[Any]) -> list[AwardRelease]:
    if not any(type(e) is Rang for e in events) or not state.by:
        return []
    winner = max(sorted(state.by), key=state.by.__getitem__)
    release = {"ocid": f"toy-{state.auction_id}", "awards": [{"suppliers": [{"id": winner}]}]}
    return [AwardRelease(f"{state.auction_id}:bell", "bell", json.dumps(release).encode())]


def summary(state: Tally) -> Summary | None:
    if state.owner is None:
        return None
    return Summary(title=state.config.title, buyer=state.owner, suppliers=tuple(sorted(state.by)),
                   state="rang" if state.rang else "open", created_at=state.created_at,
                   updated_at=state.listed_at)


def state_bytes(state: Tally) -> bytes:
    return msgspec.json.encode(state, order="deterministic")


TOY = Format(
    name="toy_tally",
    config_type=ToyConfig,
    command_type=Command,
    new_state=Tally,
    create=lambda actor, tally_id, config: Open(actor=actor, at=0, tally_id=tally_id, config=config),
    tick=lambda: Ring(actor=SYSTEM, at=0),
    decide=decide,
    evolve=evolve,
    next_deadline=next_deadline,
    finished=lambda state: state.rang,
    encode_event=msgspec.json.encode,
    decode_event=_events.decode,
    may_see=may_see,
    view=view,
    audience_view=lambda state, role: view(state, Actor(role, state.owner or "")),
    you_view=you,
    redact=redact,
    delivery=delivery,
    personal_to=personal_to,
    receipt=receipt,
    refusal_record=lambda state, command, rejection: None,  # nothing recorded
    history=history,
    results=results,
    awards=awards,
    releases=lambda state, actor: None,
    summary=summary,
    state_bytes=state_bytes,
    restore=lambda data: msgspec.json.decode(data, type=Tally),
)
