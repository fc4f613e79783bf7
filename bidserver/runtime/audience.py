"""What the runtime needs from the participants watching an event, whoever delivers to them.

The WebSocket fan-out (``ws.fanout.Broadcaster``) is the implementation; the runtime only
publishes durable events to it and closes it, so rooms never import an edge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol


class Audience(Protocol):
    def publish(self, events: Sequence[Any]) -> None:
        """New durable events exist (the auction's state and log already include them)."""

    def shut_down(self) -> None:
        """The server stops: every participant is told so and disconnected."""


AudienceFactory = Callable[[Any], Audience]  # called with the ``Auction`` it will serve


class NoAudience:
    """For an auction nobody watches in this process (tools, tests of the runtime alone)."""

    def publish(self, events: Sequence[Any]) -> None:
        return None

    def shut_down(self) -> None:
        return None


def no_audience(auction: Any) -> Audience:
    return NoAudience()
