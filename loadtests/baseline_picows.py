"""The baseline on picows instead of uvicorn: the same work, another WebSocket stack.

    python -m loadtests.baseline_picows --port 0 --redis-url unix:///path/redis.sock

For choosing the WebSocket stack by measurement (docs/performance.md): the auctions, the group
commit and the conflated broadcast are ``baseline_server``'s own (``Auction``, ``Auctions``); only
the socket layer differs. picows (Cython) parses frames and calls ``on_ws_frame`` with no task or
queue per message; a broadcast is one ``transport.send`` per socket (picows frames it in C); a
socket with more than ``OUTBOX_BYTES`` waiting in its transport is closed with 4408. Pings are
answered by picows itself. No HTTP API: picows serves WebSocket upgrades only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from urllib.parse import parse_qs

import msgspec
import uvloop
from picows import WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server
from redis.asyncio import Redis

from .baseline_server import Auctions, Bid, _decode, _encode, arguments, listen, now_ms

log = logging.getLogger("baseline-picows")
OUTBOX_BYTES = 256 * 1024


class Conn:
    """What ``baseline_server.Auction`` needs of a socket: push(frame str), seq, closed."""

    __slots__ = ("transport", "seq", "closed")

    def __init__(self, transport: WSTransport) -> None:
        self.transport = transport
        self.seq = 0
        self.closed = False

    def push(self, frame: str) -> None:
        if self.closed:
            return
        if self.transport.underlying_transport.get_write_buffer_size() > OUTBOX_BYTES:
            self.closed = True
            self.transport.send_close(4408, b"lagging")
            self.transport.disconnect()
            return
        self.transport.send(WSMsgType.TEXT, frame.encode())


class RoomListener(WSListener):
    def __init__(self, auctions: Auctions, auction_id: str, since: int | None) -> None:
        self.auctions = auctions
        self.auction_id = auction_id
        self.since = since
        self.room = None
        self.conn: Conn | None = None
        self.early: list[bytes] = []

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.conn = Conn(transport)
        asyncio.get_running_loop().create_task(self._join())

    async def _join(self) -> None:
        room = await self.auctions.get(self.auction_id)
        room.join(self.conn, self.since)
        self.room = room
        for data in self.early:
            self._handle(data)
        self.early.clear()

    def on_ws_frame(self, transport: WSTransport, frame) -> None:
        if frame.msg_type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            if frame.msg_type == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            return
        data = frame.get_payload_as_bytes()
        if self.room is None:
            self.early.append(data)
        else:
            self._handle(data)

    def _handle(self, data: bytes) -> None:
        try:
            msg = _decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.conn.push('{"type":"error","reason":"bad_request","detail":""}')
            return
        if isinstance(msg, Bid):
            self.room.queue.put_nowait((msg, self.conn))
        else:
            self.conn.push(_encode({"type": "pong", "client_time": msg.client_time,
                                    "server_time": now_ms()}).decode())

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.conn is not None:
            self.conn.closed = True
            if self.room is not None:
                self.room.conns.discard(self.conn)


async def serve(sock: socket.socket, redis_url: str, interval_s: float) -> None:
    redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    auctions = Auctions(redis, interval_s)

    def factory(request: WSUpgradeRequest):
        path, _, query = request.path.decode().partition("?")
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[:2] != ["ws", "auctions"]:
            return None  # 404
        since_raw = parse_qs(query).get("since", [None])[0]
        since = int(since_raw) if since_raw and since_raw.lstrip("-").isdigit() else None
        return RoomListener(auctions, parts[2], since)

    server = await ws_create_server(factory, sock=sock, enable_auto_ping=True,
                                    auto_ping_idle_timeout=20, auto_ping_reply_timeout=20,
                                    max_frame_size=4096)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv, __doc__.split("\n\n")[0])
    sock = listen(args)
    uvloop.run(serve(sock, args.redis_url, args.fanout_interval_ms / 1000))


if __name__ == "__main__":
    main()
