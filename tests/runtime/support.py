"""Runtime pieces wired as the application wires them, for tests of the runtime and the fan-out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bidserver.engine.format import Format
from bidserver.engine.formats import FORMATS
from bidserver.engine.reverse import FORMAT
from bidserver.engine.reverse.values import (
    Actor, AuctionConfig, Decrement, DecrementKind, LotSpec, Role,
)
from bidserver.runtime.auction import Auction
from bidserver.runtime.eventlog import EventLog
from bidserver.runtime.presence import Presence
from bidserver.runtime.journaling import from_journal
from bidserver.runtime.replica import Replica
from bidserver.runtime.room import Room
from bidserver.ws.fanout import Broadcaster
from bidserver.ws.presence import PresenceFeed


BUYER = Actor(Role.BUYER, "org-b")
S1, S2 = Actor(Role.SUPPLIER, "s1"), Actor(Role.SUPPLIER, "s2")
NOW = 1_800_000_000_000


def clock() -> int:
    """The runtime tests' wall clock: it does not move unless a test moves it."""
    return NOW


def config(*, title: str = "t", ceiling: int = 10_000, duration_ms: int = 600_000) -> AuctionConfig:
    """One lot L1, an amount decrement of 10."""
    return AuctionConfig(
        title=title, currency="EUR", lots=(LotSpec(lot_id="L1", title="lot", ceiling=ceiling),),
        duration_ms=duration_ms, decrement=Decrement(DecrementKind.AMOUNT, 10),
    )


def live_audience(now_ms: Callable[[], int], interval_s: float = 0.0, presence: Presence | None = None):
    def audience(auction: Auction) -> Broadcaster:
        feed = None if presence is None else PresenceFeed(auction, presence, now_ms, interval_s)
        return Broadcaster(auction, now_ms, interval_s=interval_s, membership=feed)

    return audience


def auction(
    now_ms: Callable[[], int], *, auction_id: str = "a1", entries: Sequence[tuple[int, bytes]] = (),
    interval_s: float = 0.0, fmt: Format = FORMAT, presence: Presence | None = None,
) -> Auction:
    """An auction served here, rebuilt from its journal ``entries`` (none: a new one); with
    ``presence``, its live room tracks and tells the suppliers' presence."""
    _, events, head = from_journal({fmt.name: fmt}, auction_id, entries)
    audience = live_audience(now_ms, interval_s, presence)
    return Auction(fmt, fmt.replay(auction_id, events), EventLog(events), audience, head)


def writer(journal, now_ms: Callable[[], int], **kwargs) -> Room:
    """A room (not started) writing a new auction, or one with ``entries`` already journaled."""
    served = auction(now_ms, **kwargs)
    served.mode = Room(served, journal, now_ms)
    return served.mode


def replica(now_ms: Callable[[], int], bus, fence, **kwargs) -> Replica:
    served = auction(now_ms, **kwargs)
    served.mode = Replica(served, bus, fence=fence)
    return served.mode


def events_of(entries) -> list[Any]:
    """The events of journal entries ``(seq, envelope)``, the chain verified."""
    _, events, _ = from_journal(FORMATS, "a", entries)
    return events
