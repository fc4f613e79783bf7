"""Values every format shares: who acts (roles, team roles and actors) and the sizes of client
strings.

Money is exact everywhere: a price is an ``int`` in the currency's minor units, never a float
(``bidserver.engine.money`` turns it into decimal text). Time is an ``int`` of milliseconds since
the Unix epoch (UTC), always passed in by the shell: the engine never reads a clock.
"""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec

# Sizes of the strings a client controls (HTTP bodies, live-room messages, configurations). They
# are journaled and broadcast to every participant, so an unbounded one (a 200 KB bid id) would cost
# every room's memory, Redis and each watcher's bandwidth. msgspec enforces them while decoding and
# puts them in the JSON Schema of the OpenAPI document; Structs built in code are not checked.
# Bid, lot and supplier ids: letters, digits and . _ : - , starting with a letter or a digit. They
# reach the buyer's spreadsheet (results.csv) and logs, so nothing a formula or a terminal could
# take for an instruction (OWASP CSV injection: no leading = + - @).
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Name = Annotated[str, msgspec.Meta(max_length=200)]  # display names, lot titles
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]  # an event's title
Text = Annotated[str, msgspec.Meta(max_length=1000)]  # reasons written by the buyer
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3)]  # ISO 4217
Unit = Annotated[str, msgspec.Meta(max_length=32)]  # "t", "kg", "lot"
# What an event buys: a code of the Common Procurement Vocabulary (CPV 2008, an 8-digit code and its
# check digit). Only its shape is checked here; whether it is in the list is the edge's question
# (``engine.admission``, where the list is).
CPV_PATTERN = r"^\d{8}-\d$"
Category = Annotated[str, msgspec.Meta(pattern=CPV_PATTERN, description=(
    "What the event buys: a CPV 2008 code, e.g. `14410000-8` (rock salt)"))]


class Role(enum.StrEnum):
    """The kind of party (the token's ``role``): which side of a procurement it is on. What a
    person of that party may do is its team roles' (``TeamRole``, ``permissions``)."""

    BUYER = "buyer"  # the organiser: sees every event of its organisation's auctions as it is
    SUPPLIER = "supplier"
    OBSERVER = "observer"
    # The platform operator's staff (the supplier registry's reviewers): no party to any event,
    # so it sees none (each format's ``may_see``: its team roles have no ``read_event``).
    PLATFORM = "platform"
    SYSTEM = "system"  # the server itself: timer ticks


PARTICIPANTS = (Role.BUYER, Role.SUPPLIER, Role.OBSERVER)
"""The sides that take part in events: shown them, numbered in them (``runtime.cursors``). The
platform's staff and the system are shown none: the views, redactions and histories of every
format give them nothing, whatever reaches them (which event a participant sees is
``Format.may_see``'s)."""


class TeamRole(enum.StrEnum):
    """What a person does for its party (the token's ``roles``), each on one side (``Role``):
    a buyer's procurement team splits the work four eyes need split (the one who decides an
    award is not the one who approves it). ``permissions`` says what each may do."""

    PROCUREMENT_MANAGER = "procurement_manager"  # buyer: prepares, runs and awards events
    OPENING_OFFICER = "opening_officer"  # buyer: holds a key share of sealed tenders
    EVALUATOR = "evaluator"  # buyer: qualifies and scores opened bids
    APPROVER = "approver"  # buyer: approves awards above the threshold
    AUDITOR = "auditor"  # buyer: reads everything of its organisation, changes nothing
    SUPPLIER_REVIEWER = "supplier_reviewer"  # platform: admits and restricts suppliers
    SUPPLIER_ADMIN = "supplier_admin"  # supplier: its registration, documents, appeals
    SUPPLIER_BIDDER = "supplier_bidder"  # supplier: bids
    OBSERVER = "observer"  # observer: reads


class Actor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who sends a command. Built from the verified token at the edge, never from a message."""

    role: Role
    party: str  # buyer organisation id, supplier id, observer's buyer organisation, or "system"
    # The person acting for the party (the token's ``sub``): never part of a rule, only of the
    # record (events name who paused, voided, awarded, bid on a supplier's behalf).
    user: str = ""
    # The person's team roles (the token's ``roles``); None: its side's defaults
    # (``permissions.DEFAULT_ROLES``), so an actor built without them acts as before roles.
    roles: frozenset[TeamRole] | None = None


SYSTEM = Actor(Role.SYSTEM, "system")
