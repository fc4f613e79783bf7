"""The direct sink: frames go straight to the transport, a full buffer means lagging."""

from __future__ import annotations

from websockets.protocol import State

from bidserver.ws.frames import Outgoing, text_frame
from bidserver.ws.transport import DirectSink


class StubTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.buffered = 0

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return False


class StubConn:
    state = State.OPEN


class StubProtocol:
    """The attributes of uvicorn's WebSocketsSansIOProtocol that the sink reads."""

    def __init__(self) -> None:
        self.transport = StubTransport()
        self.handshake_complete = True
        self.close_sent = False
        self.disconnected = False
        self.initial_response = None
        self.conn = StubConn()
        self.closes: list[tuple[int, str]] = []

    def close_now(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))
        self.close_sent = True


def test_writes_the_shared_frame_bytes_unchanged():
    protocol = StubProtocol()
    sink = DirectSink(protocol, limit_bytes=1024)
    out = Outgoing(b'{"type":"update"}')
    assert sink.write(out) and sink.write(out)
    assert protocol.transport.written == [text_frame(out.data)] * 2
    assert protocol.transport.written[0] is protocol.transport.written[1]  # framed once


def test_a_full_buffer_is_lagging_and_nothing_more_is_written():
    protocol = StubProtocol()
    sink = DirectSink(protocol, limit_bytes=1024)
    protocol.transport.buffered = 1025
    assert not sink.write(Outgoing(b"{}"))
    assert protocol.transport.written == []


def test_nothing_is_written_to_a_closing_or_closed_socket():
    for attr, value in (("close_sent", True), ("disconnected", True)):
        protocol = StubProtocol()
        setattr(protocol, attr, value)
        assert DirectSink(protocol, limit_bytes=1024).write(Outgoing(b"{}"))  # not a laggard
        assert protocol.transport.written == []
    protocol = StubProtocol()
    protocol.transport.is_closing = lambda: True  # the peer closed first: uvicorn closed it
    assert DirectSink(protocol, limit_bytes=1024).write(Outgoing(b"{}"))
    assert protocol.transport.written == []


def test_close_soon_closes_through_the_protocol_at_once_and_nothing_follows():
    """At once, not through an ASGI send that waits for the buffer to drain (which a laggard never
    lets happen); the protocol's close is tested with real frames in test_transport_parser."""
    protocol = StubProtocol()
    sink = DirectSink(protocol, limit_bytes=1024)
    sink.close_soon(4408, "lagging")
    assert protocol.closes == [(4408, "lagging")]
    assert sink.write(Outgoing(b"{}")) and protocol.transport.written == []
