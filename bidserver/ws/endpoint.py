"""The live room's WebSocket endpoint: ``/ws/auctions/{auction_id}[?since=<seq>]``.

The handshake is where trust is decided: the Origin is checked (a browser page from a foreign site
must not ride on a user's token), the token is verified, and the principal must be allowed to see
the auction; any failure is an HTTP denial with a JSON reason before the socket exists. After that
every message is decoded once into a typed client message, checked against size and rate limits,
and turned into an engine command whose actor comes from the token, never from the message.
"""

from __future__ import annotations

import asyncio
import logging
import time

import msgspec
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from .. import wire
from ..access import may_see
from ..auth import AuthError, Principal, origin_allowed, token_from_request
from ..engine.commands import PlaceBid
from .fanout import Connection, QueuedSink
from .transport import EXTENSION

log = logging.getLogger(__name__)


class TokenBucket:
    """Per-connection rate limit: ``rate`` messages per second with bursts up to ``burst``."""

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


async def _deny(websocket: WebSocket, failure: wire.Failure, detail: str = "") -> None:
    body = msgspec.to_builtins(wire.Problem(error=failure.value, detail=detail))
    try:
        await websocket.send_denial_response(
            JSONResponse(body, status_code=wire.failure_status(failure))
        )
    except RuntimeError:  # the server lacks the denial extension: close before accepting
        await websocket.close(wire.failure_close_code(failure), failure.value)


async def live_room(websocket: WebSocket) -> None:
    services = websocket.app.state.services
    settings = services.settings
    headers = websocket.headers
    if not origin_allowed(headers.get("origin"), headers.get("host"), settings.allowed_origins):
        await _deny(websocket, wire.Failure.ORIGIN_NOT_ALLOWED)
        return
    try:
        principal: Principal = services.verifier.verify(
            token_from_request(headers, websocket.query_params)
        )
    except AuthError as exc:
        await _deny(websocket, wire.Failure(exc.reason))
        return
    since_raw = websocket.query_params.get("since")
    try:
        since = int(since_raw) if since_raw is not None else None
    except ValueError:
        await _deny(websocket, wire.Failure.BAD_REQUEST, "since must be an integer")
        return
    room = await services.rooms.get(websocket.path_params["auction_id"])
    if room is None or not may_see(principal, room.state):
        await _deny(websocket, wire.Failure.UNKNOWN_AUCTION)
        return

    await websocket.accept()

    direct = websocket.scope.get("extensions", {}).get(EXTENSION)
    if direct is not None:
        sink = direct["sink"]
    else:  # another ASGI server: a bounded outbox drained by a writer task

        async def close(code: int, reason: str) -> None:
            await websocket.close(code, reason)

        sink = QueuedSink(websocket.send_text, close, limit=settings.outbox_limit)
    conn = Connection(principal.actor, sink)
    room.broadcaster.join(conn, since)
    bucket = TokenBucket(settings.rate_limit_per_s, settings.rate_limit_burst)
    try:
        await _read_loop(
            websocket, conn, room, principal, bucket, settings.max_message_bytes, services.now_ms
        )
    finally:
        room.broadcaster.leave(conn)
        conn.closed = True
        if isinstance(sink, QueuedSink):
            sink.cancel()


async def _read_loop(websocket, conn, room, principal, bucket, max_bytes, now_ms) -> None:
    """Messages from one socket, in order; a bid's result is queued before the next is read."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        if len(data) > max_bytes:
            conn.close_soon(wire.failure_close_code(wire.Failure.MESSAGE_TOO_BIG), "message_too_big")
            return
        try:
            msg = wire.decode_client_message(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            conn.push_message(wire.ErrorMessage(reason=wire.Failure.BAD_REQUEST, detail=str(exc)))
            continue
        if not bucket.take():
            if isinstance(msg, wire.BidMessage):  # answer the bid, so the client knows which
                conn.push_message(wire.bid_failed(msg.bid_id, wire.Failure.RATE_LIMITED))
            else:
                conn.push_message(wire.ErrorMessage(reason=wire.Failure.RATE_LIMITED))
            continue
        match msg:
            case wire.PingMessage(client_time=client_time):
                conn.push_message(wire.Pong(client_time=client_time, server_time=now_ms()))
            case wire.BidMessage():
                command = PlaceBid(
                    actor=principal.actor,
                    at=0,
                    lot_id=msg.lot_id,
                    amount=msg.amount,
                    bid_id=msg.bid_id,
                    confirm=msg.confirm,
                    on_behalf_of=msg.on_behalf_of,
                )
                result = await room.submit(command)
                conn.push_message(room.bid_result(command, result))
