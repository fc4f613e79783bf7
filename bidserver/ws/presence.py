"""The suppliers' presence in one auction's live room, as its buyer's sockets are told it.

Supplier sockets are counted in the presence tracker (``runtime.presence``) as they join and
leave; the buyer's sockets get a ``presence`` message (``wire.Presence``: every invited supplier,
online or not, last seen when) right after their welcome, and then whenever it changes. Changes
are conflated: the first after a quiet spell goes at once, later ones at most once per
``interval_s`` with everything up to then (200 suppliers reconnecting make a handful of
messages, not 200), each encoded once for all the buyer's sockets. Suppliers and observers are
never told: a supplier must not learn who else takes part.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .. import wire
from ..engine.values import Role
from ..runtime.auction import Auction
from ..runtime.presence import Presence, invited, shown_to
from .fanout import Connection
from .frames import Outgoing


class PresenceFeed:
    def __init__(
        self, auction: Auction, presence: Presence, now_ms: Callable[[], int], interval_s: float
    ) -> None:
        self._auction = auction
        self._presence = presence
        self._now_ms = now_ms
        self._interval_s = interval_s
        self._told: set[Connection] = set()  # the buyer's sockets
        self._sent_at = float("-inf")  # loop time of the last message to all of them
        self._timer: asyncio.TimerHandle | None = None
        self._invited: tuple[str, ...] = ()

    def joined(self, conn: Connection) -> None:
        """A socket joined (after its welcome): a supplier is there; a buyer is told who is."""
        actor = conn.actor
        if actor.role is Role.SUPPLIER:
            self._presence.opened(self._auction.auction_id, actor.party)
        elif shown_to(actor):
            if not self._told:
                self._invited = invited(self._auction)
                self._presence.watch(self._auction.auction_id, self.changed)
            self._told.add(conn)
            out = self._message()
            if out is not None:  # else not read yet: sent to them all once it is
                conn.push(out)

    def left(self, conn: Connection) -> None:
        actor = conn.actor
        if actor.role is Role.SUPPLIER:
            self._presence.closed(self._auction.auction_id, actor.party)
        elif conn in self._told:
            self._told.discard(conn)
            if not self._told:
                self._presence.unwatch(self._auction.auction_id, self.changed)
                self._cancel()

    def published(self) -> None:
        """New durable events: an invitation adds a supplier to the list."""
        if self._told:
            now_invited = invited(self._auction)
            if now_invited != self._invited:
                self._invited = now_invited
                self.changed()

    def changed(self) -> None:
        if not self._told or self._timer is not None:
            return
        loop = asyncio.get_running_loop()
        due = self._sent_at + self._interval_s
        if due <= loop.time():
            self._send()
        else:
            self._timer = loop.call_at(due, self._send)

    def _send(self) -> None:
        self._timer = None
        out = self._message()
        if out is None:
            return
        self._sent_at = asyncio.get_running_loop().time()
        for conn in list(self._told):
            conn.push(out)

    def _message(self) -> Outgoing | None:
        seen = self._presence.seen(self._auction.auction_id)
        if seen is None:
            return None
        return Outgoing(wire.encode(wire.presence(self._now_ms(), invited(self._auction), seen)))

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def shut_down(self) -> None:
        self._cancel()
