"""Every event type has its one row: how it is delivered and shown (``EVENT_TABLE``), how it is
applied (``evolve``), and a line in the protocol document."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from bidserver.engine.reverse import events as ev
from bidserver.engine.reverse.decide import BID_REASONS
from bidserver.engine.reverse.evolve import _APPLY

PROTOCOL = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()


def test_the_tables_cover_exactly_the_event_union():
    union = set(get_args(ev.Event))
    assert set(ev.EVENT_TABLE) == union
    assert set(_APPLY) == union


def test_the_protocol_document_names_every_event_and_bid_refusal():
    for event in get_args(ev.Event):
        tag = event.__struct_config__.tag
        assert f"`{tag}`" in PROTOCOL, tag
    for reason in BID_REASONS:
        assert f"`{reason}`" in PROTOCOL, reason
