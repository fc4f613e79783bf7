"""The JSON Schema of every message and body the browser UI reads and sends, from the very
types the server encodes and decodes, as ``openapi.py`` makes the API's document from them.

``web/types.mjs`` turns it into ``web/static/js/wire.d.ts``, which the UI's JSDoc imports, so the
UI's idea of a message cannot drift from the server's: ``tests/web/test_wire_types.py`` fails
when the committed declarations are not what this schema gives. ``python -m
bidserver.http.ui_schema`` prints it.

Three things the types alone do not say:

- The UI is the reverse auction's (``web/static/js/formats/reverse``). A live room's ``welcome``
  and ``update`` carry ``view`` and ``you`` as ``Any``, because the runtime fans out whatever a
  format's views are; an auction answer is generic in its view. Here they are the reverse
  auction's ``AuctionView`` and ``YouView`` (``_FOR_THE_FORMAT``). A sealed tender's page
  (``formats/tender``) reads the same messages with the tender's ``TenderView`` and
  ``BidderView``, declared too, as its views.
- Listed events are the engine's events for the buyer, and dicts of a few of their members for
  the others (``engine.reverse.views.redact``): the events' union would promise members a
  supplier never gets. They are a ``ListedEvent``: a ``type`` (one of the format's event tags),
  ``at``, ``seq`` (``ws.fanout`` adds it), and members of unknown type besides.
- What the server sends has the members of its Struct and no other, and a Struct without
  ``omit_defaults`` encodes every member, defaults too. So a type the UI only reads has
  ``additionalProperties: false`` and, unless it omits defaults, every member required
  (msgspec's schema, made for decoding, leaves a member with a default out of ``required``).
"""

from __future__ import annotations

import json
import sys
import typing
from typing import Any

import msgspec

from .. import wire
from ..engine.reverse.events import Event
from ..engine.reverse.views import AuctionView, YouView
from ..engine.tender.comparison import Comparison
from ..engine.tender.views import BidderView, TenderView
from .answers import AuctionAnswer, AuctionPage, BidHistory, DevToken, Session
from .openapi import refine
from .suppliers import (
    AppealAnswerBody, AppealBody, CategoriesBody, CategoryPage, DecisionReasonBody, DocumentBody,
    HistoryAnswer, QualificationBody, RegisterBody, RestrictionBody, StoredDocumentFile,
    SupplierAnswer, SupplierPage,
)

_REF = "#/$defs/{name}"

ServerMessage = (
    wire.Welcome | wire.Update | wire.BidResult | wire.Pong | wire.ErrorMessage | wire.Presence
)
# The tagged unions, by the names the declarations give them.
_UNIONS: dict[str, Any] = {"ServerMessage": ServerMessage, "ClientMessage": wire.ClientMessage}
# What the UI reads: the live room's messages and the API's answers it fetches.
_UI_READS: tuple[Any, ...] = (
    ServerMessage, AuctionAnswer, AuctionPage, BidHistory, wire.Problem, Session, DevToken,
    AuctionView, YouView, TenderView, BidderView, Comparison,
    SupplierAnswer, SupplierPage, HistoryAnswer, CategoryPage, StoredDocumentFile,
)
# What the UI sends: its live-room messages and the bodies of its API calls.
_UI_SENDS: tuple[Any, ...] = (
    wire.ClientMessage, wire.CreateAuctionBody, wire.InviteBody, wire.ReasonBody,
    wire.ExtendBody, wire.AwardBody, wire.DevTokenBody,
    RegisterBody, DocumentBody, CategoriesBody, QualificationBody, DecisionReasonBody,
    RestrictionBody, AppealBody, AppealAnswerBody,
)
# Members typed ``Any`` for any format, as they are for the reverse auction.
_FOR_THE_FORMAT: dict[str, dict[str, Any]] = {
    "Welcome": {"view": AuctionView, "you": YouView | None},
    "Update": {"view": AuctionView, "you": YouView | None},
    "AuctionAnswer": {"view": AuctionView},
}
_LISTED_EVENT = "ListedEvent"


def _listed_event() -> dict[str, Any]:
    tags = [event.__struct_config__.tag for event in typing.get_args(Event)]
    return {
        "title": _LISTED_EVENT,
        "description": "An event as the live room lists it to you: the buyer gets the engine's "
        "event whole (engine/reverse/events.py), the others a redacted form of it "
        "(docs/protocol.md), so members other than these vary by type and role.",
        "type": "object",
        "properties": {
            "type": {"enum": tags},
            "at": {"type": "integer", "description": "When it happened, ms since the Unix epoch"},
            "seq": {"type": "integer", "description": "Its number, as your cursor counts"},
        },
        "required": ["type", "at", "seq"],
        "additionalProperties": True,
    }


def _structs(types: typing.Iterable[Any], defs: dict[str, Any]) -> dict[str, type]:
    """Every Struct in ``types``, nested ones too, by the name its schema has in ``defs``: its
    own, or where two Structs share a name its module's path and its name (msgspec's rule)."""
    found: dict[str, type] = {}
    todo: list[Any] = list(msgspec.inspect.multi_type_info(tuple(types)))
    seen: set[int] = set()
    while todo:
        info = todo.pop()
        if id(info) in seen:
            continue
        seen.add(id(info))
        if isinstance(info, msgspec.inspect.StructType):
            cls = info.cls
            name = cls.__name__
            found[name if name in defs else f"{cls.__module__}.{cls.__qualname__}"] = cls
        for value in msgspec.structs.astuple(info):
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, (msgspec.inspect.Type, msgspec.inspect.Field)):
                    todo.append(item)
    return found


def _read_only(defs: dict[str, Any]) -> None:
    """In the Structs the UI only reads: no member besides theirs, and every member required
    where the server sends them whole."""
    sent_too = _structs(_UI_SENDS, defs)
    for name, cls in _structs(_UI_READS, defs).items():
        if name in sent_too:
            continue
        defs[name]["additionalProperties"] = False
        if not cls.__struct_config__.omit_defaults:
            defs[name]["required"] = list(defs[name]["properties"])


def _short_names(defs: dict[str, Any]) -> dict[str, Any]:
    """Two Structs of one name (a tender's bid ``Document``, a registry ``Document``) are named
    by their module's path (``bidserver.engine.tender.events.Document``): declared as the
    package and the name (``TenderDocument``), which TypeScript can spell."""
    renamed = {name: name.split(".")[2].capitalize() + name.rsplit(".", 1)[1]
               for name in defs if "." in name}
    text = json.dumps(defs)
    for old, new in renamed.items():
        text = text.replace(json.dumps(_REF.format(name=old)), json.dumps(_REF.format(name=new)))
    defs = json.loads(text)
    for old, new in renamed.items():
        defs[old]["title"] = new
    return {renamed.get(name, name): schema for name, schema in defs.items()}


def ui_schema() -> dict[str, Any]:
    """One JSON Schema (2020-12) whose ``$defs`` are every type the UI reads or sends."""
    refined = [kind for members in _FOR_THE_FORMAT.values() for kind in members.values()]
    types = [*_UNIONS.values(), *_UI_READS, *_UI_SENDS, *refined]
    schemas, defs = msgspec.json.schema_components(types, ref_template=_REF)
    by_type = dict(zip(types, schemas))
    refine(defs)
    _read_only(defs)
    for name, members in _FOR_THE_FORMAT.items():
        properties = defs[name]["properties"]
        for member, kind in members.items():
            said = properties[member].get("description")
            properties[member] = by_type[kind] | ({"description": said} if said else {})
    events = defs["Update"]["properties"]["events"]
    events["items"] = {"$ref": _REF.format(name=_LISTED_EVENT)}
    defs[_LISTED_EVENT] = _listed_event()
    for name, union in _UNIONS.items():
        defs[name] = {"title": name} | by_type[union]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "bidserver's browser UI",
        "description": "What the UI reads and sends: generated by bidserver/http/ui_schema.py "
        "from the server's own types.",
        "$defs": dict(sorted(_short_names(defs).items())),
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(ui_schema(), indent=2) + "\n")
