"""The live-room protocol's fast path for incoming frames, against websockets' own client.

A real uvicorn protocol object with a stub transport: the handshake and every frame are made by
websockets' ClientProtocol, so the bytes are exactly what a real client sends.
"""

from __future__ import annotations

import asyncio

import pytest
import uvicorn
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.uri import parse_uri

from bidserver.ws.transport import EXTENSION, protocol_class


class StubTransport:
    def __init__(self) -> None:
        self.out = bytearray()
        self.closed = False
        self.aborted = False
        self.reading = True
        self.buffered = 0  # what the kernel has not taken yet, as the tests say

    def write(self, data: bytes) -> None:
        self.out += data

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def abort(self) -> None:
        self.aborted = self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}.get(name, default)


class Peer:
    """A server protocol fed by a websockets client; the app records what it receives."""

    def __init__(
        self, max_size: int = 4096, detach: bool = False, gate: asyncio.Event | None = None,
        limit_bytes: int = 1 << 20,
    ) -> None:
        self.received: list[str | bytes] = []
        self.accepted = asyncio.Event()
        self.returned = asyncio.Event()
        self.lost = False

        async def app(scope, receive, send):
            assert (await receive())["type"] == "websocket.connect"
            await send({"type": "websocket.accept"})
            direct = scope["extensions"][EXTENSION]
            if gate is not None:  # the app is still admitting the socket (an await)
                self.accepted.set()
                await gate.wait()
            if detach:
                direct["detach"](lambda: setattr(self, "lost", True))
            direct["receive"](self.received.append)
            self.accepted.set()
            if not detach:
                while (await receive())["type"] != "websocket.disconnect":
                    pass
            self.returned.set()

        config = uvicorn.Config(app, ws=protocol_class(limit_bytes), ws_max_size=max_size,
                                ws_ping_interval=None, lifespan="off", log_level="critical")
        config.load()
        self.server = config.ws_protocol_class(config=config, server_state=ServerState(), app_state={})
        self.transport = StubTransport()
        self.server.connection_made(self.transport)
        self.client = ClientProtocol(parse_uri("ws://127.0.0.1:8000/ws"))

    async def open(self) -> None:
        self.client.send_request(self.client.connect())
        self.server.data_received(b"".join(self.client.data_to_send()))
        await asyncio.wait_for(self.accepted.wait(), 5)
        self.client.receive_data(bytes(self.transport.out))
        self.transport.out.clear()
        assert self.client.state.name == "OPEN"

    def feed(self, data: bytes, chunk: int | None = None) -> None:
        step = chunk or len(data) or 1
        for i in range(0, len(data), step):
            self.server.data_received(data[i : i + step])

    def frames_from_client(self, *frames: Frame) -> bytes:
        for frame in frames:
            self.client.send_frame(frame)
        return b"".join(self.client.data_to_send())

    def close_code(self) -> int | None:
        return next((Close.parse(f.data).code for f in self.frames() if f.opcode is Opcode.CLOSE), None)

    def frames(self) -> list[Frame]:
        """The frames the server wrote since the last call, as the client reads them."""
        self.client.receive_data(bytes(self.transport.out))
        self.transport.out.clear()
        return [e for e in self.client.events_received() if isinstance(e, Frame)]


@pytest.mark.parametrize("chunk", [None, 1, 3, 7, 64])
async def test_messages_arrive_whole_and_in_order_however_the_bytes_are_cut(chunk):
    peer = Peer()
    await peer.open()
    texts = ["a", "é" * 40, "x" * 125, "y" * 126, "z" * 3000]
    data = peer.frames_from_client(*(Frame(Opcode.TEXT, t.encode()) for t in texts))
    data += peer.frames_from_client(Frame(Opcode.BINARY, b"\x00\x01"))
    to_websockets = []
    original = peer.server.conn.receive_data
    peer.server.conn.receive_data = lambda d: (to_websockets.append(d), original(d))
    peer.feed(data, chunk)
    assert peer.received == [*texts, b"\x00\x01"]
    assert to_websockets == []  # the fast path parsed them all


async def test_fragments_and_pings_between_them_go_through_websockets():
    peer = Peer()
    await peer.open()
    data = peer.frames_from_client(
        Frame(Opcode.TEXT, b"one"),
        Frame(Opcode.TEXT, b"fr", fin=False),
        Frame(Opcode.PING, b"p"),
        Frame(Opcode.CONT, b"ag", fin=False),
        Frame(Opcode.CONT, b"ment", fin=True),
        Frame(Opcode.TEXT, b"two"),
    )
    peer.feed(data, 5)
    await asyncio.sleep(0)
    assert peer.received == ["one", "fragment", "two"]
    peer.client.receive_data(bytes(peer.transport.out))
    pongs = [e for e in peer.client.events_received() if isinstance(e, Frame)]
    assert [(f.opcode, f.data) for f in pongs] == [(Opcode.PONG, b"p")]


async def test_a_too_big_message_closes_with_1009():
    peer = Peer(max_size=100)
    await peer.open()
    peer.feed(peer.frames_from_client(Frame(Opcode.TEXT, b"ok"), Frame(Opcode.TEXT, b"x" * 101)))
    assert peer.received == ["ok"]
    assert peer.close_code() == 1009


async def test_invalid_utf8_closes_with_1007():
    peer = Peer()
    await peer.open()
    peer.feed(peer.frames_from_client(Frame(Opcode.TEXT, b"\xff\xfe")))
    assert peer.received == []
    assert peer.close_code() == 1007


async def test_an_unmasked_frame_fails_the_connection():
    peer = Peer()
    await peer.open()
    peer.feed(b"\x81\x02hi")  # a client must mask (RFC 6455 §5.1)
    assert peer.received == []
    assert peer.close_code() == 1002


async def test_a_close_from_the_client_is_answered():
    peer = Peer()
    await peer.open()
    peer.client.send_close(1000, "bye")
    peer.feed(b"".join(peer.client.data_to_send()))
    assert peer.close_code() == 1000


async def test_a_detached_socket_outlives_the_app_and_reports_its_loss():
    peer = Peer(detach=True)
    await peer.open()
    await asyncio.wait_for(peer.returned.wait(), 5)
    await asyncio.sleep(0)
    assert not peer.transport.closed  # the app returned; the socket stays
    peer.feed(peer.frames_from_client(Frame(Opcode.TEXT, b"still here")))
    assert peer.received == ["still here"]
    peer.server.connection_lost(None)
    assert peer.lost


async def test_a_socket_lost_before_it_is_detached_is_cleaned_up_at_once():
    """Lost while the app was between accept and detach: the clean-up must still run (else the
    socket stays in its room's audience for ever)."""
    gate = asyncio.Event()
    peer = Peer(detach=True, gate=gate)
    await peer.open()
    peer.server.connection_lost(None)
    gate.set()
    await asyncio.wait_for(peer.returned.wait(), 5)
    assert peer.lost


async def test_messages_sent_before_the_app_listens_are_delivered_first():
    peer = Peer()
    peer.client.send_request(peer.client.connect())
    peer.server.data_received(b"".join(peer.client.data_to_send()))
    # The client does not wait for the 101: its frame arrives with or right after the request.
    early = peer.frames_from_client(Frame(Opcode.TEXT, b"early"))
    peer.server.data_received(early)
    await asyncio.wait_for(peer.accepted.wait(), 5)
    peer.client.receive_data(bytes(peer.transport.out))
    peer.feed(peer.frames_from_client(Frame(Opcode.TEXT, b"late")))
    assert peer.received == ["early", "late"]


async def test_pongs_count_against_the_limit_and_a_flood_past_it_is_closed_as_lagging():
    peer = Peer(limit_bytes=1000)
    await peer.open()
    peer.feed(peer.frames_from_client(Frame(Opcode.PING, b"1"), Frame(Opcode.PING, b"2")))
    assert [(f.opcode, f.data) for f in peer.frames()] == [(Opcode.PONG, b"1"), (Opcode.PONG, b"2")]
    peer.transport.buffered = 1001  # the peer stopped reading: past the limit
    peer.feed(peer.frames_from_client(*(Frame(Opcode.PING, b"x" * 100) for _ in range(50))))
    frames = peer.frames()
    assert [f.opcode for f in frames] == [Opcode.CLOSE]  # not one pong more
    assert Close.parse(frames[0].data) == Close(4408, "lagging")
    peer.feed(b"".join(peer.client.data_to_send()))  # the client answers the close: done
    assert peer.transport.closed and not peer.transport.aborted


async def test_a_peer_that_never_reads_the_close_is_cut_off_and_owed_nothing_more():
    peer = Peer(limit_bytes=1000)
    await peer.open()
    peer.server.close_timeout = 0.05
    peer.transport.buffered = 5000  # a laggard's full buffer: the close is queued all the same
    peer.server.close_now(4408, "lagging")
    written = bytes(peer.transport.out)
    assert written[:2] == b"\x88\x09"  # the close frame, at once (not after a drain)
    peer.transport.buffered = 0  # whatever drains, after our close no pong is owed (RFC 6455)
    peer.feed(peer.frames_from_client(Frame(Opcode.PING, b"late"), Frame(Opcode.TEXT, b"bid")))
    assert bytes(peer.transport.out) == written and peer.received == []
    await asyncio.wait_for(_until(lambda: peer.transport.aborted), 5)  # close would wait forever


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.01)
