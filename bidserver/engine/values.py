"""Values every format shares: who acts (roles and actors) and the sizes of client strings.

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
    BUYER = "buyer"  # the organiser: sees every event of its organisation's auctions as it is
    SUPPLIER = "supplier"
    OBSERVER = "observer"
    PLATFORM = "platform"  # the platform operator's staff: the supplier reviewer
    SYSTEM = "system"  # the server itself: timer ticks


class Actor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who sends a command. Built from the verified token at the edge, never from a message."""

    role: Role
    party: str  # buyer organisation id, supplier id, observer's buyer organisation, or "system"
    # The person acting for the party (the token's ``sub``): never part of a rule, only of the
    # record (events name who paused, voided, awarded, bid on a supplier's behalf).
    user: str = ""


SYSTEM = Actor(Role.SYSTEM, "system")
