"""uvicorn's sans-I/O WebSocket protocol with one addition: a direct frame sink for the fan-out.

``LiveRoomProtocol`` is uvicorn's ``websockets-sansio`` protocol (handshake, parsing, pings,
close handshake, limits: all theirs) that also puts a ``DirectSink`` in the ASGI scope's
extensions under ``bidserver.direct``. The live room writes already framed text messages through
it straight to the socket's transport: no ASGI ``send``, no per-socket framing, no await and no
writer task per socket. The transport's write buffer is then the socket's queue; past
``limit_bytes`` the socket is lagging and gets closed (see ``fanout``).

Why not ASGI ``send``: measured on our 2-core machine (docs/performance.md), the ASGI path costs
tens of microseconds per delivery and one task wake-up per socket, which caps a room at about
20,000-28,000 deliveries per second; a direct write is one ``transport.write`` of shared bytes.
Control frames (ping, pong, close) still go through uvicorn's protocol; frames are never
interleaved mid-frame because every write happens whole, on the event loop's thread.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from .frames import Outgoing

EXTENSION = "bidserver.direct"


class DirectSink:
    """Writes frames straight to one socket's transport; bounded by its write buffer."""

    __slots__ = ("_protocol", "_limit", "_closing")

    def __init__(self, protocol: WebSocketsSansIOProtocol, limit_bytes: int) -> None:
        self._protocol = protocol
        self._limit = limit_bytes
        self._closing = False

    def open(self) -> bool:
        p = self._protocol
        return (
            p.handshake_complete
            and not p.close_sent
            and not p.disconnected
            and p.initial_response is None
            and p.conn.state is State.OPEN
        )

    def write(self, out: Outgoing) -> bool:
        if self._closing or not self.open():
            return True  # closing or gone: nothing to send, and not a laggard
        transport = self._protocol.transport
        if transport.get_write_buffer_size() > self._limit:
            return False
        transport.write(out.frame)
        return True

    def close_soon(self, code: int, reason: str) -> None:
        """Send a close frame after what is buffered (uvicorn's own close, timer included)."""
        if self._closing:
            return
        self._closing = True
        if self.open():
            asyncio.get_running_loop().create_task(
                self._protocol.send({"type": "websocket.close", "code": code, "reason": reason})
            )


class LiveRoomProtocol(WebSocketsSansIOProtocol):
    """uvicorn's protocol, plus the direct sink in ``scope["extensions"]``."""

    limit_bytes = 256 * 1024  # set by ``protocol_class``

    def handle_connect(self, event) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][EXTENSION] = {"sink": DirectSink(self, self.limit_bytes)}


def protocol_class(limit_bytes: int) -> type[LiveRoomProtocol]:
    """The protocol class for uvicorn's ``ws=`` setting, with this server's per-socket bound."""
    return type("LiveRoomProtocol", (LiveRoomProtocol,), {"limit_bytes": limit_bytes})
