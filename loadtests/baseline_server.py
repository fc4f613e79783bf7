"""The baseline: the smallest honest server doing bidserver's work with no product logic.

    python -m loadtests.baseline_server --port 0 --redis-url unix:///path/redis.sock
    -> prints "listening on http://127.0.0.1:PORT"

It is the ceiling bidserver is compared against, so it uses the same stack as bidserver, measured
as bidserver runs it: uvicorn (uvloop, the ``websockets-sansio`` protocol, no compression, the
same ping interval) with a Starlette ``WebSocketRoute`` at ``/ws/auctions/{auction_id}``, msgspec
JSON, and redis-py's asyncio client on the same Redis (AOF ``appendfsync always``). Per auction:

- decode a bid ``{"type":"bid","bid_id","lot_id","amount"}`` with msgspec and keep the best price
  (every well-formed bid is accepted: no rules, no ranks, no tokens);
- group commit: one task per auction takes *every* bid waiting and appends them as one pipelined,
  atomic (MULTI/EXEC) batch of XADDs with entry ids ``<seq>-0``; with ``appendfsync always``
  Redis fsyncs before it replies, so the reply means "durable", exactly as for bidserver;
- only then answer each bidder ``{"type":"bid_result","bid_id":..,"status":"accepted","seq":..}``
  and broadcast ONE pre-encoded ``update`` frame to every socket of the auction, appended to each
  socket's bounded outbox (drained by the socket's own writer task; a full outbox closes the
  socket with 4408), conflated like bidserver: at most one update per ``--fanout-interval-ms``
  (50 ms, bidserver's default) per auction, sent at once when the last one is older than that;
- ``welcome`` first (with ``seq``), and ``?since=<seq>`` resumes with one ``update`` holding the
  events after ``since`` (kept in memory, reloaded from the stream after a restart).

The message shapes are bidserver's where the load generator looks (``welcome`` with ``seq``,
``update`` starting with ``first_seq`` and ``seq``, ``bid_result`` with ``seq``), so one load
generator drives both servers. Tokens (``access_token``) are ignored.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import logging
import socket
import time

import msgspec
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

log = logging.getLogger("baseline")

STREAM_PREFIX = "baseline:auction:"
OUTBOX_LIMIT = 256  # frames, as bidserver's default outbox_limit
MAX_BATCH = 512  # as bidserver's room


class Bid(msgspec.Struct, frozen=True, tag_field="type", tag="bid", kw_only=True):
    bid_id: str
    lot_id: str
    amount: int
    confirm: bool = False
    on_behalf_of: str | None = None


class Ping(msgspec.Struct, frozen=True, tag_field="type", tag="ping"):
    client_time: float


_decode = msgspec.json.Decoder(Bid | Ping).decode
_encode = msgspec.json.Encoder().encode


class Welcome(msgspec.Struct, tag_field="type", tag="welcome"):
    auction_id: str
    role: str
    party: str
    server_time: int
    seq: int
    view: dict


class Update(msgspec.Struct, tag_field="type", tag="update"):
    first_seq: int
    seq: int
    server_time: int
    events: list[msgspec.Raw]
    view: dict


class BidResult(msgspec.Struct, tag_field="type", tag="bid_result", omit_defaults=True):
    bid_id: str
    status: str
    seq: int | None = None
    reason: str | None = None


class Event(msgspec.Struct, tag_field="type", tag="bid_accepted"):
    lot_id: str
    amount: int
    at: int
    seq: int


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Conn:
    """A socket's bounded outbox, drained by its own writer task (as in bidserver)."""

    __slots__ = ("ws", "outbox", "wakeup", "closing", "closed", "seq")

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.outbox: collections.deque[str] = collections.deque()
        self.wakeup = asyncio.Event()
        self.closing = False
        self.closed = False
        self.seq = 0

    def push(self, frame: str) -> None:
        if self.closed or self.closing:
            return
        if len(self.outbox) >= OUTBOX_LIMIT:
            self.outbox.clear()
            self.closing = True
        else:
            self.outbox.append(frame)
        self.wakeup.set()

    async def run_writer(self) -> None:
        try:
            while True:
                await self.wakeup.wait()
                self.wakeup.clear()
                while self.outbox:
                    await self.ws.send_text(self.outbox.popleft())
                if self.closing:
                    await self.ws.close(4408, "lagging")
                    return
        except Exception:
            return
        finally:
            self.closed = True
            self.outbox.clear()


class Auction:
    def __init__(self, auction_id: str, redis: Redis, interval_s: float) -> None:
        self.auction_id = auction_id
        self.key = STREAM_PREFIX + auction_id
        self.redis = redis
        self.interval = interval_s
        self.seq = 0
        self.best: dict[str, int] = {}
        self.events: list[bytes] = []  # encoded events, index = seq - 1
        self.conns: set[Conn] = set()
        self.queue: asyncio.Queue[tuple[Bid, Conn]] = asyncio.Queue()
        self.flushed_seq = 0
        self.last_flush = float("-inf")
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task | None = None

    async def load(self) -> None:
        """After a restart: the stream is the truth (bounded: one XRANGE page at a time)."""
        start = "-"
        while True:
            entries = await self.redis.xrange(self.key, start, "+", count=10_000)
            for entry_id, fields in entries:
                raw = fields[b"e"]
                event = msgspec.json.decode(raw, type=Event)
                self.events.append(raw)
                self.seq = event.seq
                self.best[event.lot_id] = min(self.best.get(event.lot_id, event.amount), event.amount)
            if len(entries) < 10_000:
                break
            start = "(" + entries[-1][0].decode()
        self.flushed_seq = self.seq
        self.task = asyncio.get_running_loop().create_task(self.commit_forever())

    def view(self) -> dict:
        return {"auction_id": self.auction_id, "seq": self.seq, "leading_price": dict(self.best)}

    async def commit_forever(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            first = self.seq + 1
            at = now_ms()
            encoded = []
            pipe = self.redis.pipeline(transaction=True)
            for i, (bid, _) in enumerate(batch):
                raw = _encode(Event(lot_id=bid.lot_id, amount=bid.amount, at=at, seq=first + i))
                encoded.append(raw)
                pipe.xadd(self.key, {"e": raw}, id=f"{first + i}-0")
            try:
                await pipe.execute()
            except Exception as exc:  # nothing acknowledged
                log.warning("journal append failed: %s", exc)
                for bid, conn in batch:
                    conn.push(_encode(BidResult(bid.bid_id, "rejected", reason="journal_unavailable")).decode())
                continue
            self.seq = first + len(batch) - 1
            self.events.extend(encoded)
            for i, (bid, conn) in enumerate(batch):
                best = self.best.get(bid.lot_id)
                if best is None or bid.amount < best:
                    self.best[bid.lot_id] = bid.amount
                conn.push(_encode(BidResult(bid.bid_id, "accepted", seq=first + i)).decode())
            self.publish()

    def publish(self) -> None:
        loop = asyncio.get_running_loop()
        due = self.last_flush + self.interval
        if loop.time() >= due:
            self.flush()
        elif self.timer is None:
            self.timer = loop.call_at(due, self.flush)

    def flush(self) -> None:
        """ONE encoded frame for everyone (no per-client encoding)."""
        self.timer = None
        self.last_flush = asyncio.get_running_loop().time()
        since = self.flushed_seq
        if since >= self.seq:
            return
        frame = self.update_frame(since)
        for conn in self.conns:
            if conn.seq == since:
                conn.push(frame)
            elif conn.seq < self.seq:
                conn.push(self.update_frame(conn.seq))
            conn.seq = self.seq
        self.flushed_seq = self.seq

    def update_frame(self, since: int) -> str:
        return _encode(
            Update(
                first_seq=since + 1,
                seq=self.seq,
                server_time=now_ms(),
                events=[msgspec.Raw(e) for e in self.events[since:]],
                view=self.view(),
            )
        ).decode()

    def join(self, conn: Conn, since: int | None) -> None:
        conn.push(
            _encode(
                Welcome(self.auction_id, "observer", "", now_ms(), self.seq, self.view())
            ).decode()
        )
        if since is not None and 0 <= since < self.seq:
            conn.push(self.update_frame(since))
        conn.seq = self.seq
        self.conns.add(conn)


class Auctions:
    def __init__(self, redis: Redis, interval_s: float) -> None:
        self.redis = redis
        self.interval = interval_s
        self.rooms: dict[str, Auction] = {}
        self.loading: dict[str, asyncio.Future] = {}

    async def get(self, auction_id: str) -> Auction:
        room = self.rooms.get(auction_id)
        if room is not None:
            return room
        pending = self.loading.get(auction_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self.loading[auction_id] = future
        room = Auction(auction_id, self.redis, self.interval)
        try:
            await room.load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning
            raise
        finally:
            del self.loading[auction_id]
        self.rooms[auction_id] = room
        future.set_result(room)
        return room


def build_app(redis_url: str, interval_s: float) -> Starlette:
    state: dict[str, Auctions] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        info = await redis.config_get("appendfsync")
        aof = await redis.config_get("appendonly")
        if info.get("appendfsync") != "always" or aof.get("appendonly") != "yes":
            log.warning("Redis is not AOF appendfsync always: %s %s", aof, info)
        state["auctions"] = Auctions(redis, interval_s)
        yield
        for room in state["auctions"].rooms.values():
            if room.task:
                room.task.cancel()
        await redis.aclose()

    async def room_endpoint(websocket: WebSocket) -> None:
        since_raw = websocket.query_params.get("since")
        since = int(since_raw) if since_raw and since_raw.lstrip("-").isdigit() else None
        room = await state["auctions"].get(websocket.path_params["auction_id"])
        await websocket.accept()
        conn = Conn(websocket)
        room.join(conn, since)
        writer = asyncio.get_running_loop().create_task(conn.run_writer())
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("text") or message.get("bytes") or b""
                try:
                    msg = _decode(data)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    conn.push('{"type":"error","reason":"bad_request","detail":""}')
                    continue
                if isinstance(msg, Bid):
                    room.queue.put_nowait((msg, conn))
                else:
                    conn.push(_encode({"type": "pong", "client_time": msg.client_time,
                                       "server_time": now_ms()}).decode())
        finally:
            room.conns.discard(conn)
            if not writer.done():
                writer.cancel()
            conn.closed = True

    return Starlette(
        routes=[WebSocketRoute("/ws/auctions/{auction_id}", room_endpoint)], lifespan=lifespan
    )


def arguments(argv: list[str] | None, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--fanout-interval-ms", type=float, default=50.0)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the baseline listens on loopback only")
    logging.basicConfig(level=args.log_level.upper())
    return args


def listen(args: argparse.Namespace) -> socket.socket:
    """Bind (``--port 0`` works) and print the address the benchmark waits for."""
    sock = socket.create_server((args.host, args.port), backlog=2048)  # SO_REUSEADDR on POSIX
    host, port = sock.getsockname()[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    return sock


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    args = arguments(argv, __doc__.split("\n\n")[0])
    sock = listen(args)
    config = uvicorn.Config(
        build_app(args.redis_url, args.fanout_interval_ms / 1000),
        loop="uvloop",
        ws="websockets-sansio",
        ws_max_size=4096,
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        log_level=args.log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
