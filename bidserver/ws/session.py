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

from collections.abc import Callable

from .. import metrics, wire
from ..auth import Principal
from ..engine.reverse.commands import PlaceBid
from ..ratelimit import TokenBucket
from ..runtime.auction import Auction
from ..runtime.outcome import Result
from .fanout import Connection

MAX_IN_FLIGHT = 32


class Session:
    __slots__ = (
        "conn", "room", "principal", "bucket", "max_bytes", "now_ms", "max_in_flight",
        "in_flight", "paused", "_pause", "_resume",
    )

    def __init__(
        self,
        conn: Connection,
        room: Auction,
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
        """``data`` is a text frame's text, or a binary frame's bytes: the protocol is JSON text,
        so a binary frame closes the socket (1003, RFC 6455's "cannot accept this type of data")
        rather than being read as if it were text."""
        conn = self.conn
        if conn.closed:
            return
        if not isinstance(data, str):
            conn.close_soon(wire.failure_close_code(wire.Failure.BAD_REQUEST), wire.Failure.BAD_REQUEST)
            return
        if len(data) > self.max_bytes:
            conn.close_soon(wire.failure_close_code(wire.Failure.MESSAGE_TOO_BIG), "message_too_big")
            return
        if not self.bucket.take():  # before decoding: garbage counts too (docs/design.md)
            self._rate_limited(data)
            return
        try:
            msg = wire.decode_client_message(data)
        except wire.UNREADABLE as exc:
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
        except wire.UNREADABLE:
            msg = None
        if isinstance(msg, wire.BidMessage):
            answer = wire.rate_limited(msg.bid_id, self.bucket.retry_after_ms())
            metrics.bid_answered(answer.status, answer.reason)
            self.conn.push_message(answer)
        else:
            self.conn.push_message(wire.ErrorMessage(reason=wire.RATE_LIMITED.reason))

    def _answer(self, command: PlaceBid, result: Result) -> None:
        self.in_flight -= 1
        actor, cursors = self.conn.actor, self.room.cursors
        answer = wire.bid_result(command.bid_id, result, lambda seq: cursors.at(actor, seq))
        metrics.bid_answered(answer.status, answer.reason)
        self.conn.push_message(answer)
        if self.paused and self.in_flight <= self.max_in_flight // 2:
            self.paused = False
            self._resume()
