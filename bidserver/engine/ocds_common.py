"""What every format's Open Contracting Data Standard 1.1 output shares: dates, exact amounts,
JSON numbers, parties named once, the extensions declared, and the release package that carries a
format's releases (``Format.release_package``). Pure: the caller gives the publication time.

Amounts are ``Decimal`` values converted exactly from integer minor units by ``engine.money``
(97050 with 2 minor units is ``Decimal("970.50")``, never a float), written as JSON numbers.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import msgspec

from .money import money

OCID_PREFIX = "ocds-bidsrv"  # replace with the publisher's registered prefix when publishing

# Declared in every release package. The bids extension is pinned to the commit its schema in
# ../shared/ocds/1.1/bids-extension comes from, the one the tests validate against.
LOTS_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json"
TECHNIQUES_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_techniques_extension/master/extension.json"
BIDS_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/d62ff4b0ba393d823ca8113a9039b12edf7acb8f/extension.json"
EXTENSIONS = (LOTS_EXTENSION, TECHNIQUES_EXTENSION, BIDS_EXTENSION)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_encoder = msgspec.json.Encoder(decimal_format="number")


def rfc3339(ms: int) -> str:
    """``1767261600123`` -> ``"2026-01-01T10:00:00.123Z"``: UTC, exact (integer arithmetic)."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def value(amount_minor: int, minor_units: int, currency: str) -> dict[str, Any]:
    """An OCDS ``Value``: the exact amount as a ``Decimal`` and the currency."""
    return {"amount": money(amount_minor, minor_units), "currency": currency}


def encode(document: Any) -> bytes:
    """JSON with every ``Decimal`` as a number (``970.50``), not a string."""
    return _encoder.encode(document)


def ocid(event_id: str, prefix: str = OCID_PREFIX) -> str:
    """One contracting process per event: every release of an event shares it."""
    return f"{prefix}-{event_id}"


class Parties:
    """A release's ``parties``, one per organisation id: an id named twice (a buyer organisation
    whose id is also an invited supplier's) is one party holding both sets of roles, so every
    reference to it (``buyer``, ``suppliers``...) names the one party, by the one name."""

    def __init__(self) -> None:
        self._parties: dict[str, dict[str, Any]] = {}

    def add(self, party_id: str, name: str, roles: Sequence[str]) -> None:
        """Name a party in its roles: its first name that is not blank is kept (take references
        once every party is added), and a party without one is named by its id (OCDS wants one)."""
        party = self._parties.setdefault(party_id, {"id": party_id, "name": "", "roles": []})
        party["name"] = party["name"] or name.strip()
        party["roles"] += [role for role in roles if role not in party["roles"]]

    def ref(self, party_id: str) -> dict[str, str]:
        """An ``OrganizationReference`` to the party: its id and name."""
        party = self._parties[party_id]
        return {"id": party_id, "name": party["name"] or party_id}

    def listed(self) -> list[dict[str, Any]]:
        return [{**party, **self.ref(party_id)} for party_id, party in self._parties.items()]


def release_package(
    releases: Iterable[dict[str, Any]], *, uri: str, published_at_ms: int, publisher_name: str,
    extensions: Sequence[str] = EXTENSIONS,
) -> dict[str, Any]:
    """An OCDS 1.1 release package of an event's releases: where it is published (``uri``), when
    and by whom, declaring the extensions its releases use (the bids extension among them)."""
    return {
        "uri": uri,
        "version": "1.1",
        "extensions": list(extensions),
        "publishedDate": rfc3339(published_at_ms),
        "publisher": {"name": publisher_name},
        "releases": list(releases),
    }


@functools.cache
def _cpv_names() -> dict[str, str]:
    """The CPV 2008 codes and their English names (``engine/admission/cpv_en.json``), read once."""
    return json.loads(resources.files("bidserver.engine.admission").joinpath("cpv_en.json")
                      .read_text(encoding="utf-8"))


def classified(category: str | msgspec.UnsetType) -> dict[str, Any]:
    """What an item of an event of ``category`` (a CPV code, or none) adds: its OCDS
    ``classification`` (scheme ``CPV``, of the itemClassificationScheme codelist), with the
    code's English name where the list has it. OCDS 1.1 classifies items, not the tender, so
    every item of the event carries it."""
    if category is msgspec.UNSET:
        return {}
    found = {"scheme": "CPV", "id": category}
    name = _cpv_names().get(category)
    if name is not None:
        found["description"] = name
    return {"classification": found}
