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

import msgspec
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from .. import wire
from ..access import may_see
from ..auth import AuthError, Principal, origin_allowed, token_from_request
from .fanout import Connection, QueuedSink
from .session import Session, TokenBucket
from .transport import EXTENSION

log = logging.getLogger(__name__)


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
    if direct is not None:  # our uvicorn protocol: frames in and out without ASGI
        sink = direct["sink"]
    else:  # another ASGI server: a bounded outbox drained by a writer task

        async def close(code: int, reason: str) -> None:
            await websocket.close(code, reason)

        sink = QueuedSink(websocket.send_text, close, limit=settings.outbox_limit)
    conn = Connection(principal.actor, sink)
    resumed = asyncio.Event()
    resumed.set()
    session = Session(
        conn,
        room,
        principal,
        TokenBucket(settings.rate_limit_per_s, settings.rate_limit_burst),
        max_bytes=settings.max_message_bytes,
        now_ms=services.now_ms,
        pause=direct["pause"] if direct is not None else resumed.clear,
        resume=direct["resume"] if direct is not None else resumed.set,
    )
    room.broadcaster.join(conn, since)
    if direct is not None:  # frames go direct from now on; the socket outlives this coroutine

        def lost() -> None:
            room.broadcaster.leave(conn)
            conn.closed = True

        direct["detach"](lost)
        direct["receive"](session.on_message)
        return
    try:
        while True:
            await resumed.wait()
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text")
            session.on_message(data if data is not None else message.get("bytes") or b"")
    finally:
        room.broadcaster.leave(conn)
        conn.closed = True
        if isinstance(sink, QueuedSink):
            sink.cancel()
