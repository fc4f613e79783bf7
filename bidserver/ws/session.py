"""One participant's live-room session: each message in, answers out, no await per message.

The session is the same whichever way frames arrive: straight from our uvicorn protocol's
parser (``transport.LiveRoomProtocol``, no ASGI ``receive``, no queue, no task wake-up per
message) or from an ASGI ``receive`` loop under any other server. A message is checked against
the size and rate limits, decoded once, and turned into an engine command whose actor comes from
the token, never from the message. Bids go to the room without waiting: a socket may have up to
``max_in_flight`` bids being decided (answered in order, the room being one queue); past that the
session asks its transport to stop reading, which pushes back on the client through TCP.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Hashable

import msgspec

from .. import wire
from ..auth import Principal
from ..engine.commands import PlaceBid
from .fanout import Connection
from .room import Result, Room

MAX_IN_FLIGHT = 32


class TokenBucket:
    """A rate limit (per connection, or per principal for HTTP bids): ``rate`` messages per second
    with bursts up to ``burst``."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class BucketsByKey:
    """One ``TokenBucket`` per key (an HTTP principal), at most ``capacity`` of them.

    Why: a bid over HTTP has no connection to hang a bucket on, so without this the API would be
    a way around the live room's limit. The least recently used bucket goes first when full, which
    bounds memory whatever the number of callers; a bucket evicted that way starts full again,
    which only favours a principal idle for longer than ``capacity`` others took to arrive.
    """

    __slots__ = ("rate", "burst", "capacity", "_buckets")

    def __init__(self, rate: float, burst: float, *, capacity: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        self.capacity = capacity
        self._buckets: collections.OrderedDict[Hashable, TokenBucket] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: Hashable) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
            if len(self._buckets) > self.capacity:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take()


class Session:
    __slots__ = (
        "conn", "room", "principal", "bucket", "max_bytes", "now_ms", "max_in_flight",
        "in_flight", "paused", "_pause", "_resume",
    )

    def __init__(
        self,
        conn: Connection,
        room: Room,
        principal: Principal,
        bucket: TokenBucket,
        *,
        max_bytes: int,
        now_ms: Callable[[], int],
        pause: Callable[[], None],
        resume: Callable[[], None],
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.conn = conn
        self.room = room
        self.principal = principal
        self.bucket = bucket
        self.max_bytes = max_bytes
        self.now_ms = now_ms
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.paused = False
        self._pause = pause
        self._resume = resume

    def on_message(self, data: str | bytes) -> None:
        conn = self.conn
        if conn.closed:
            return
        if len(data) > self.max_bytes:
            conn.close_soon(wire.failure_close_code(wire.Failure.MESSAGE_TOO_BIG), "message_too_big")
            return
        if not self.bucket.take():  # before decoding: garbage counts too (docs/design.md)
            self._rate_limited(data)
            return
        try:
            msg = wire.decode_client_message(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            conn.push_message(wire.ErrorMessage(reason=wire.Failure.BAD_REQUEST, detail=str(exc)))
            return
        match msg:
            case wire.BidMessage():
                command = wire.bid_command(self.principal.actor, msg)
                self.in_flight += 1
                if self.in_flight >= self.max_in_flight and not self.paused:
                    self.paused = True
                    self._pause()
                self.room.submit_nowait(command, self._answer)
            case wire.PingMessage(client_time=client_time):
                conn.push_message(wire.Pong(client_time=client_time, server_time=self.now_ms()))

    def _rate_limited(self, data: str | bytes) -> None:
        """Over the limit, nothing is decided; a bid is still answered by its id, so that the
        client knows which one to resend (the one decode an over-limit message costs)."""
        try:
            msg = wire.decode_client_message(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            msg = None
        if isinstance(msg, wire.BidMessage):
            self.conn.push_message(wire.bid_failed(msg.bid_id, wire.Failure.RATE_LIMITED))
        else:
            self.conn.push_message(wire.ErrorMessage(reason=wire.Failure.RATE_LIMITED))

    def _answer(self, command: PlaceBid, result: Result) -> None:
        self.in_flight -= 1
        self.conn.push_message(self.room.bid_result(command, result))
        if self.paused and self.in_flight <= self.max_in_flight // 2:
            self.paused = False
            self._resume()
