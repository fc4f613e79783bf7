"""A load-generator worker process: many WebSocket clients in one asyncio (uvloop) loop.

    python -m loadtests.loadgen --spec spec.json

``loadtests.bench`` starts several of these (never inside the server's process) and steers them
with lines on stdin; they answer with ``@@ {json}`` lines on stdout and write their raw
measurements to ``spec["out"]`` (msgpack). The protocol:

    worker -> "@@ {"event": "ready", ...}"     every client connected (or failed) and welcomed
    bench  -> "GO <start_ns> <end_ns>"          bidders send bids in [start, end) (CLOCK_REALTIME)
    worker -> "@@ {"event": "resumed", ...}"    (reconnecting watchers) every dropped client resumed
    bench  -> "STOP"                            write the data file, print "done", close, exit

Roles:

- ``watchers``: connect ``count`` clients (at most ``concurrency`` handshakes in flight) and, for
  every ``update`` frame, record the receive time (``time.time_ns()``) under the update's
  ``(auction, first_seq, seq)``, read from the frame's first bytes without decoding the rest (both
  servers put ``first_seq`` and ``seq`` first). With ``reconnect`` a dropped client reconnects with
  ``?since=<last seq>`` (jittered exponential backoff) and the time until it is resumed (welcome,
  plus the catch-up update when it missed events) is recorded. With ``record_bids`` (one buyer
  socket on bidserver) each update is decoded and the seq of every listed ``bid_accepted`` is
  recorded by bid id.
- ``bidders``: one client per entry of ``bidders``; in ``closed`` mode each keeps exactly one bid
  in flight (the next bid leaves when the previous ``bid_result`` arrives: the maximum rate the
  server sustains with that many bidders); in ``rate`` mode the process sends ``rate`` bids per
  second in total, on a fixed schedule, round robin over its bidders. Every bid records its send
  time, its ack time, the ``seq`` the server gave it and its status. Amounts fall by one per
  bid of a bidder ("improve your own bid" by the minimum decrement of 1).

Bid-to-screen latency is computed by ``loadtests.bench``: a bid's journal ``seq`` falls in exactly
one update range per (observer) watcher, the first update that reflects it. The baseline's
``bid_result`` carries that seq; bidserver's carries the supplier's own cursor (it must not count
other suppliers' bids), so there the seq comes from a ``record_bids`` buyer socket.

The client library is picows (Cython framing, callbacks without a task per message): per message it
costs a fraction of the ``websockets`` client, which keeps the load generator from being the
bottleneck on a 2-core machine; its CPU is measured and printed by the bench.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import random
import re
import resource
import sys
import time
from typing import Any

import msgspec
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

_UPDATE = re.compile(rb'\{"type":"update","first_seq":(\d+),"seq":(\d+)')
_WELCOME = b'{"type":"welcome"'
_BID_RESULT = b'{"type":"bid_result"'
_SEQ = re.compile(rb'"seq":(\d+)')

ACCEPTED, REJECTED, LOST = 0, 1, 2


class _Listed(msgspec.Struct):
    type: str
    seq: int
    bid_id: str | None = None


class _Update(msgspec.Struct):
    events: list[_Listed]


_decode_update = msgspec.json.Decoder(_Update).decode


class _BidResult(msgspec.Struct):
    bid_id: str
    status: str
    seq: int | None = None
    reason: str | None = None


_decode_result = msgspec.json.Decoder(_BidResult).decode


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write("@@ " + json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def raise_nofile() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------------------------ watchers


class Watchers:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.host, self.port = spec["host"], spec["port"]
        self.auctions: list[str] = spec["auctions"]
        self.tokens: list[str] = spec.get("tokens") or [""]
        self.count: int = spec["count"]
        self.reconnect = bool(spec.get("reconnect"))
        self.deadline_s = float(spec.get("reconnect_deadline_s", 60))
        self.sem = asyncio.Semaphore(int(spec.get("concurrency", 200)))
        self.deliveries: dict[tuple[int, int, int], array.array] = {}
        # ``record_bids`` (a buyer's socket on bidserver): bid id -> the journal seq of its
        # ``bid_accepted``, listed to the buyer (a supplier's own seq is its cursor, not that)
        self.record_bids = bool(spec.get("record_bids"))
        self.bid_seqs: dict[str, int] = {}
        self.frames = 0
        self.bytes = 0
        self.closes: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.clients = [WatchClient(self, i) for i in range(self.count)]
        self.stopping = False
        self.resumed_waiters = 0
        self.pending_resume: set[int] = set()
        self.resume_event = asyncio.Event()

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    async def connect_all(self, timeout: float) -> None:
        tasks = [asyncio.ensure_future(c.connect_once()) for c in self.clients]
        await asyncio.wait(tasks, timeout=timeout)
        for task in tasks:
            task.cancel()
        # Welcomes arrive right after the handshake; give them a bounded moment.
        end = time.monotonic() + 5
        while time.monotonic() < end and any(c.transport and not c.welcomed for c in self.clients):
            await asyncio.sleep(0.02)

    def summary(self) -> dict:
        connected = sum(1 for c in self.clients if c.welcomed)
        return {"connected": connected, "failed": self.count - connected, "errors": self.errors}

    def data(self) -> dict:
        return {
            "deliveries": [[a, f, s, list(v)] for (a, f, s), v in self.deliveries.items()],
            "connect": [[c.t_start, c.t_welcome] for c in self.clients],
            "resume": [[c.t_dropped, c.t_resumed, c.attempts] for c in self.clients if c.t_dropped],
            "bid_seqs": self.bid_seqs,
        }


class WatchListener(WSListener):
    __slots__ = ("client",)

    def __init__(self, client: "WatchClient") -> None:
        super().__init__()
        self.client = client

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        now = time.time_ns()
        client = self.client
        group = client.group
        if frame.msg_type is WSMsgType.TEXT:
            group.frames += 1
            group.bytes += frame.payload_size
            head = bytes(frame.get_payload_as_memoryview()[:64])
            match = _UPDATE.match(head)
            if match is not None:
                first, last = int(match[1]), int(match[2])
                key = (client.auction, first, last)
                times = group.deliveries.get(key)
                if times is None:
                    times = group.deliveries[key] = array.array("q")
                times.append(now)
                if group.record_bids:
                    for event in _decode_update(frame.get_payload_as_bytes()).events:
                        if event.type == "bid_accepted" and event.bid_id is not None:
                            group.bid_seqs[event.bid_id] = event.seq
                client.seq = last
                if client.awaiting_catchup and last >= client.catchup_seq:
                    client.awaiting_catchup = False
                    client.mark_resumed(now)
            elif head.startswith(_WELCOME):
                match = _SEQ.search(bytes(frame.get_payload_as_memoryview()[:512]))
                seq = int(match[1]) if match else 0
                client.on_welcome(seq, now)
        elif frame.msg_type is WSMsgType.CLOSE:
            code = str(frame.get_close_code())
            group.closes[code] = group.closes.get(code, 0) + 1
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.client.on_disconnected()


class WatchClient:
    __slots__ = (
        "group", "index", "auction", "token", "transport", "welcomed", "seq", "t_start",
        "t_welcome", "t_dropped", "t_resumed", "attempts", "awaiting_catchup", "catchup_seq",
        "resuming", "since",
    )

    def __init__(self, group: Watchers, index: int) -> None:
        self.group = group
        self.index = index
        self.auction = index % len(group.auctions)
        self.token = group.tokens[index % len(group.tokens)]
        self.transport: WSTransport | None = None
        self.welcomed = False
        self.seq = 0
        self.t_start = 0
        self.t_welcome = 0
        self.t_dropped = 0
        self.t_resumed = 0
        self.attempts = 0
        self.awaiting_catchup = False
        self.catchup_seq = 0
        self.resuming = False
        self.since: int | None = None

    def url(self, since: int | None) -> str:
        url = f"ws://{self.group.host}:{self.group.port}/ws/auctions/{self.group.auctions[self.auction]}"
        query = []
        if self.token:
            query.append(f"access_token={self.token}")
        if since is not None:
            query.append(f"since={since}")
        return url + ("?" + "&".join(query) if query else "")

    async def connect_once(self, since: int | None = None) -> bool:
        group = self.group
        async with group.sem:
            if group.stopping:
                return False
            self.attempts += 1
            if not self.t_start:
                self.t_start = time.time_ns()
            self.since = since
            try:
                transport, _ = await ws_connect(
                    lambda: WatchListener(self),
                    self.url(since),
                    websocket_handshake_timeout=15,
                    read_buffer_init_size=4096,
                    enable_auto_pong=True,
                )
            except Exception as exc:  # refused, timed out, EMFILE, handshake denied...
                group.error(type(exc).__name__)
                return False
            self.transport = transport
            return True

    def on_welcome(self, seq: int, now: int) -> None:
        if not self.welcomed:
            self.welcomed = True
            self.t_welcome = now
            self.seq = seq
            return
        if self.resuming:  # a reconnect: resumed now, or after the catch-up update
            since = self.since if self.since is not None else seq
            if seq > since:
                self.awaiting_catchup = True
                self.catchup_seq = seq
            else:
                self.mark_resumed(now)

    def mark_resumed(self, now: int) -> None:
        if self.resuming:
            self.resuming = False
            self.t_resumed = now
            group = self.group
            group.pending_resume.discard(self.index)
            if not group.pending_resume:
                group.resume_event.set()

    def on_disconnected(self) -> None:
        self.transport = None
        group = self.group
        if group.stopping or not group.reconnect or not self.welcomed:
            return
        if not self.resuming:
            self.resuming = True
            self.t_dropped = time.time_ns()
            self.t_resumed = 0
            group.pending_resume.add(self.index)
            group.resume_event.clear()
        asyncio.get_running_loop().create_task(self.reconnect_loop())

    async def reconnect_loop(self) -> None:
        deadline = time.monotonic() + self.group.deadline_s
        delay = 0.05
        await asyncio.sleep(random.uniform(0, 0.05))
        while not self.group.stopping and time.monotonic() < deadline:
            if await self.connect_once(self.seq):
                return
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 1.0)


# ------------------------------------------------------------------------------------ bidders


class Bidders:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.host, self.port = spec["host"], spec["port"]
        self.auctions: list[str] = spec["auctions"]
        self.tokens: list[str] = spec.get("tokens") or [""]
        self.mode: str = spec.get("mode", "closed")
        self.rate = float(spec.get("rate", 0))
        self.lot_id = spec.get("lot_id", "L1")
        self.amount_base = int(spec.get("amount_base", 10**12))
        self.sem = asyncio.Semaphore(int(spec.get("concurrency", 200)))
        self.prefix = spec.get("name", "b")
        # Per bid: auction, send_ns, ack_ns, seq, status (parallel arrays).
        self.b_auction = array.array("q")
        self.b_send = array.array("q")
        self.b_ack = array.array("q")
        self.b_seq = array.array("q")
        self.b_status = array.array("b")
        self.b_id: list[str] = []
        self.reasons: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.end_ns = 0
        self.sending = False
        self.outstanding = 0
        self.clients = [
            BidClient(self, i, i % len(self.auctions), self.tokens[i % len(self.tokens)])
            for i in range(int(spec["count"]))
        ]

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    async def connect_all(self, timeout: float) -> None:
        tasks = [asyncio.ensure_future(c.connect()) for c in self.clients]
        await asyncio.wait(tasks, timeout=timeout)
        for task in tasks:
            task.cancel()
        end = time.monotonic() + 5
        while time.monotonic() < end and any(c.transport and not c.welcomed for c in self.clients):
            await asyncio.sleep(0.02)

    def summary(self) -> dict:
        connected = sum(1 for c in self.clients if c.welcomed)
        return {"connected": connected, "failed": len(self.clients) - connected, "errors": self.errors}

    async def run(self, start_ns: int, end_ns: int) -> None:
        self.end_ns = end_ns
        live = [c for c in self.clients if c.welcomed]
        if not live:
            return
        await asyncio.sleep(max(0.0, (start_ns - time.time_ns()) / 1e9))
        self.sending = True
        if self.mode == "closed":
            for client in live:
                client.send_bid()
            await asyncio.sleep(max(0.0, (end_ns - time.time_ns()) / 1e9))
        else:
            interval_ns = int(1e9 / self.rate)
            n = 0
            next_ns = start_ns
            while True:
                now = time.time_ns()
                if now >= end_ns:
                    break
                if now < next_ns:
                    await asyncio.sleep((next_ns - now) / 1e9)
                    continue
                live[n % len(live)].send_bid()
                n += 1
                next_ns += interval_ns
        self.sending = False
        # Let the last acks arrive (bounded).
        grace = time.monotonic() + 5
        while self.outstanding > 0 and time.monotonic() < grace:
            await asyncio.sleep(0.01)

    def data(self) -> dict:
        return {
            "auction": list(self.b_auction),
            "send": list(self.b_send),
            "ack": list(self.b_ack),
            "seq": list(self.b_seq),
            "status": list(self.b_status),
            "id": self.b_id,
        }


class BidListener(WSListener):
    __slots__ = ("client",)

    def __init__(self, client: "BidClient") -> None:
        super().__init__()
        self.client = client

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            head = bytes(frame.get_payload_as_memoryview()[:20])
            if head.startswith(_BID_RESULT):
                self.client.on_result(frame.get_payload_as_bytes(), time.time_ns())
            elif head.startswith(_WELCOME):
                self.client.welcomed = True
        elif frame.msg_type is WSMsgType.CLOSE:
            self.client.group.error(f"close_{frame.get_close_code()}")
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.client.transport = None


class BidClient:
    __slots__ = ("group", "index", "auction", "token", "transport", "welcomed", "n", "inflight")

    def __init__(self, group: Bidders, index: int, auction: int, token: str) -> None:
        self.group = group
        self.index = index
        self.auction = auction
        self.token = token
        self.transport: WSTransport | None = None
        self.welcomed = False
        self.n = 0
        self.inflight: dict[str, int] = {}  # bid_id -> row in the group's arrays

    async def connect(self) -> None:
        group = self.group
        url = f"ws://{group.host}:{group.port}/ws/auctions/{group.auctions[self.auction]}"
        if self.token:
            url += f"?access_token={self.token}"
        async with group.sem:
            try:
                self.transport, _ = await ws_connect(
                    lambda: BidListener(self), url, websocket_handshake_timeout=15
                )
            except Exception as exc:
                group.error(type(exc).__name__)

    def send_bid(self) -> None:
        transport = self.transport
        if transport is None:
            return
        group = self.group
        self.n += 1
        bid_id = f"{group.prefix}-{self.index}-{self.n}"
        amount = group.amount_base - self.n
        row = len(group.b_send)
        group.b_auction.append(self.auction)
        group.b_ack.append(0)
        group.b_seq.append(0)
        group.b_status.append(LOST)
        group.b_id.append(bid_id)
        self.inflight[bid_id] = row
        group.outstanding += 1
        payload = (
            f'{{"type":"bid","bid_id":"{bid_id}","lot_id":"{group.lot_id}","amount":{amount}}}'
        ).encode()
        group.b_send.append(time.time_ns())
        transport.send(WSMsgType.TEXT, payload)

    def on_result(self, payload: bytes, now: int) -> None:
        group = self.group
        result = _decode_result(payload)
        row = self.inflight.pop(result.bid_id, None)
        if row is None:
            return
        group.outstanding -= 1
        group.b_ack[row] = now
        if result.status == "accepted" and result.seq is not None:
            group.b_seq[row] = result.seq
            group.b_status[row] = ACCEPTED
        else:
            group.b_status[row] = REJECTED
            reason = result.reason or "?"
            group.reasons[reason] = group.reasons.get(reason, 0) + 1
        if group.mode == "closed" and group.sending and now < group.end_ns:
            self.send_bid()


# ------------------------------------------------------------------------------------ main


async def _commands() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def run(spec: dict) -> None:
    nofile = raise_nofile()
    commands = await _commands()
    role = spec["role"]
    group: Watchers | Bidders = Watchers(spec) if role == "watchers" else Bidders(spec)
    t0 = time.time_ns()
    await group.connect_all(float(spec.get("connect_timeout", 60)))
    t1 = time.time_ns()
    emit("ready", role=role, nofile=list(nofile), connect_s=(t1 - t0) / 1e9, **group.summary())
    cpu_go = cpu_seconds()
    t_go = time.monotonic()
    bid_task: asyncio.Task | None = None
    resume_task: asyncio.Task | None = None
    while True:
        line = (await commands.readline()).decode().strip()
        if not line:  # the bench went away: stop
            break
        parts = line.split()
        if parts[0] == "GO":
            cpu_go, t_go = cpu_seconds(), time.monotonic()
            if isinstance(group, Bidders):
                bid_task = asyncio.ensure_future(group.run(int(parts[1]), int(parts[2])))
                bid_task.add_done_callback(lambda t: emit("bids_done", sent=len(group.b_send)))
            elif group.reconnect:
                resume_task = asyncio.ensure_future(_report_resumed(group))
        elif parts[0] == "STOP":
            break
    if bid_task is not None and not bid_task.done():
        bid_task.cancel()
    if resume_task is not None:
        resume_task.cancel()
    cpu = cpu_seconds() - cpu_go
    elapsed = time.monotonic() - t_go
    if isinstance(group, Watchers):
        group.stopping = True
    with open(spec["out"], "wb") as handle:
        handle.write(msgspec.msgpack.encode(group.data()))
    extra: dict[str, Any] = {}
    if isinstance(group, Watchers):
        extra = {"frames": group.frames, "bytes": group.bytes, "closes": group.closes,
                 "still_resuming": len(group.pending_resume)}
    else:
        extra = {"sent": len(group.b_send), "reasons": group.reasons}
    emit("done", cpu_s=cpu, elapsed_s=elapsed, **group.summary(), **extra)
    for client in group.clients:
        if client.transport is not None:
            client.transport.disconnect()


async def _report_resumed(group: Watchers) -> None:
    """Once clients have dropped (a server restart), say when every one of them is back."""
    while not group.pending_resume:
        await asyncio.sleep(0.01)
    await group.resume_event.wait()
    emit("resumed", count=sum(1 for c in group.clients if c.t_resumed))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="bidserver load-generator worker")
    parser.add_argument("--spec", required=True, help="JSON file written by loadtests.bench")
    args = parser.parse_args(argv)
    with open(args.spec) as handle:
        spec = json.load(handle)
    if spec["host"] not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load generator targets loopback only")
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(spec))
    else:
        uvloop.run(run(spec))


if __name__ == "__main__":
    main()
