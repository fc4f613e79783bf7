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

One bound for everything the server writes to a socket: a pong counts against ``limit_bytes`` like
a data frame. A client that sends pings and never reads its pongs is lagging like one that never
reads its updates, and gets the same answer: the socket is closed (4408 ``lagging``). Why close
rather than stop reading: a socket whose reading is paused stays open, in its room, for as long as
its peer keeps the TCP connection up; a closed one frees everything, and an honest client resumes
with ``?since=``. The close frame is queued after what is buffered; a peer that does not take it
and answer within uvicorn's close timeout (10 s) is cut off (``abort``: ``close`` would wait for
the buffer to drain, which a peer that does not read never lets happen). Other control frames are
bounded on their own: one keepalive ping per heartbeat (the next only once it is answered), one
close frame.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

from .. import wire
from .frames import Outgoing

EXTENSION = "bidserver.direct"
_PONG = b"\x8a"  # a pong frame's first byte (FIN, opcode 0xA; no extension sets RSV bits here)

log = logging.getLogger(__name__)


class DirectSink:
    """Writes frames straight to one socket's transport; bounded by its write buffer."""

    __slots__ = ("_protocol", "_limit")

    def __init__(self, protocol: LiveRoomProtocol, limit_bytes: int) -> None:
        self._protocol = protocol
        self._limit = limit_bytes

    def write(self, out: Outgoing) -> bool:
        # The hot loop of the fan-out (once per socket per update): attribute reads only.
        p = self._protocol
        if p.close_sent or p.disconnected:
            return True  # closing or gone: nothing to send, and not a laggard
        transport = p.transport
        if transport.is_closing():
            return True
        if transport.get_write_buffer_size() > self._limit:
            return False
        transport.write(out.frame)
        return True

    def close_soon(self, code: int, reason: str) -> None:
        """A close frame after what is buffered (see ``LiveRoomProtocol.close_now``)."""
        self._protocol.close_now(code, reason)


class LiveRoomProtocol(WebSocketsSansIOProtocol):
    """uvicorn's protocol, plus the direct sink and a direct receiver in ``scope["extensions"]``.

    ``receive(callback)``: from then on each complete message goes to ``callback(text)`` from the
    parser, in order, instead of through ASGI ``receive`` (whose queue, message dicts and
    pause/resume of reading per message cost more than our whole bid path); only the disconnect
    still arrives through ASGI. ``pause()``/``resume()`` stop and restart reading (back-pressure).
    """

    limit_bytes = 256 * 1024  # set by ``protocol_class``
    _receiver: Callable[[str], None] | None = None
    _paused_by_app = False
    _on_lost: Callable[[], None] | None = None  # set by ``detach``

    def handle_connect(self, event) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][EXTENSION] = {
                "sink": DirectSink(self, self.limit_bytes),
                "receive": self._set_receiver,
                "pause": self._pause_reading,
                "resume": self._resume_reading,
                "detach": self._detach,
            }

    def _detach(self, on_lost: Callable[[], None]) -> None:
        """The app may return now and the socket stays open; ``on_lost`` runs when it is gone.

        Why: with frames in and out going direct, the ASGI task would only wait for the
        disconnect, and a task with its chain of middleware coroutines costs several KB for each
        of tens of thousands of idle sockets.
        """
        # What only the handshake needed: the request's headers (scope) and the 101 response.
        self.scope = {"type": "websocket", "extensions": {}}
        self.response = None
        if self.disconnected:  # lost while the app was still admitting it: clean up at once
            on_lost()
            return
        self._on_lost = on_lost

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        on_lost, self._on_lost = self._on_lost, None
        if on_lost is not None:
            try:
                on_lost()
            except Exception:
                log.exception("live-room clean-up failed")

    async def run_asgi(self) -> None:
        """uvicorn's, except that a detached socket stays open when the app returns, and that a
        handshake the app refused with an HTTP response is complete: uvicorn before 0.55 did not
        mark it so and logged an ERROR for every refusal, a line any client could cause (the
        endpoint logs each refusal at INFO, with its reason)."""
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self.send_500_response()
        else:
            if not (self.handshake_complete or self.initial_response is not None):
                self.logger.error("ASGI callable returned without completing handshake.")
                self.send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self.close_timer is None and (self._on_lost is None or self.disconnected):
            self.transport.close()

    def close_now(self, code: int, reason: str) -> None:
        """Queue a close frame after what is buffered, at once, and cut the peer off if it has not
        completed the close within ``close_timeout``.

        Not uvicorn's ASGI ``send``: it waits until the buffer drains below its high-water mark
        before writing anything, so a peer that does not read (the laggard this close is for)
        would never be sent the close; and its timer ``close``s the transport, which waits for
        the buffer to drain too. Reading goes on, so that the peer's answering close is seen;
        what it sends meanwhile is dropped (``close_sent``) and its pings are not answered past
        the limit (``handle_ping``).
        """
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return
        if self.conn.state is not State.OPEN:  # before the 101, or the peer's close came first
            return
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused or self._paused_by_app:  # the peer's close must be read
            self.read_paused = self._paused_by_app = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)

    def handle_ping(self) -> None:
        """A pong is written only while the socket is within its bound; past it, the peer sends
        without reading and is closed as lagging (the module's docstring says why). After our
        close nothing more is owed (RFC 6455 §5.5.1)."""
        writes = self.conn.data_to_send()  # whole frames, one per item: the pong, maybe others
        over = self.transport.get_write_buffer_size() > self.limit_bytes
        if over or self.close_sent:
            writes = [w for w in writes if w[:1] != _PONG]
        self.transport.write(b"".join(writes))
        if over:
            failure = wire.Failure.LAGGING
            self.close_now(wire.failure_close_code(failure), failure.value)

    def _set_receiver(self, callback: Callable[[str], None]) -> None:
        self._receiver = callback
        # Messages that arrived before (a client that did not wait for the 101) come first.
        early, others = [], []
        while not self.queue.empty():
            message = self.queue.get_nowait()
            (early if message["type"] == "websocket.receive" else others).append(message)
        for message in others:
            self.queue.put_nowait(message)
        if self.read_paused:  # uvicorn paused reading until the app took its message
            self.read_paused = False
            self.transport.resume_reading()
        for message in early:
            text = message.get("text")
            self._deliver_message(text if text is not None else message.get("bytes", b""))

    def _pause_reading(self) -> None:
        if not (self._paused_by_app or self.disconnected or self.close_sent):  # closing: read on
            self._paused_by_app = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._paused_by_app:
            self._paused_by_app = False
            if not self.disconnected:
                self.transport.resume_reading()

    # ------------------------------------------------------------ fast path for incoming frames

    _fbuf = b""  # an incomplete frame, while the fast path reads
    _fragmenting = False  # websockets is assembling a fragmented message: it gets every frame

    def data_received(self, data: bytes) -> None:
        """Complete, masked, unfragmented data frames go straight to the receiver; everything
        else (the handshake, control frames, fragments, anything odd) goes to websockets' parser,
        always as whole frames so that its parser stays at a frame boundary."""
        if self._receiver is None or self.close_sent or not self._parser_idle():
            if self._fbuf:  # the fast path stopped mid-frame: websockets takes it from there
                data, self._fbuf = self._fbuf + data, b""
            super().data_received(data)
            return
        buf = self._fbuf + data if self._fbuf else data
        self._fbuf = b""
        pos, end = 0, len(buf)
        max_size = self.config.ws_max_size
        while end - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if end - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if end - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if not b1 & 0x80 or b0 & 0x70 or length > max_size:
                # Unmasked, reserved bits, too big: websockets fails the connection properly.
                super().data_received(buf[pos:])
                return
            size = head + 4 + length
            if end - pos < size:
                break
            opcode = b0 & 0x0F
            if opcode in (1, 2) and b0 & 0x80 and not self._fragmenting:
                payload = apply_mask(buf[pos + head + 4 : pos + size], buf[pos + head : pos + head + 4])
                self._deliver(opcode == 1, payload)
            else:
                if opcode in (0, 1, 2):
                    self._fragmenting = not b0 & 0x80
                super().data_received(buf[pos : pos + size])
            pos += size
            if self._receiver is None or self.close_sent:  # closed meanwhile: websockets decides
                if pos < end:
                    super().data_received(buf[pos:])
                return
        if pos < end:
            self._fbuf = buf[pos:]

    def _parser_idle(self) -> bool:
        """websockets' parser waits at a frame boundary with nothing buffered."""
        conn = self.conn
        if conn.reader.buffer:
            return False
        gen = conn.parser  # ServerProtocol.parse -> Protocol.parse -> StreamReader.at_eof
        while (sub := getattr(gen, "gi_yieldfrom", None)) is not None:
            gen = sub
        code = getattr(gen, "gi_code", None)
        return code is not None and code.co_name == "at_eof"

    def _deliver(self, text: bool, payload: bytes) -> None:
        if text:
            try:
                message: str | bytes = payload.decode()
            except UnicodeDecodeError:
                self.conn.send_close(1007)  # invalid UTF-8 in a text frame (RFC 6455 §8.1)
                self.handle_parser_exception()
                return
        else:
            message = payload
        self._deliver_message(message)

    def _deliver_message(self, message: str | bytes) -> None:
        if self._receiver is None:
            return
        try:
            self._receiver(message)
        except Exception:  # a bug: close this socket, keep the server
            log.exception("live-room message handler failed")
            self._receiver = None
            self.conn.send_close(1011)
            self.handle_parser_exception()

    def send_receive_event_to_app(self) -> None:
        receiver = self._receiver
        if receiver is None:
            super().send_receive_event_to_app()
            return
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if not self.close_sent:
            self._deliver(self.curr_msg_data_type == "text", bytes(data))


def protocol_class(limit_bytes: int) -> type[LiveRoomProtocol]:
    """The protocol class for uvicorn's ``ws=`` setting, with this server's per-socket bound."""
    return type("LiveRoomProtocol", (LiveRoomProtocol,), {"limit_bytes": limit_bytes})
