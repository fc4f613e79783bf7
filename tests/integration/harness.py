"""Real parts for integration tests: a bidserver process, live-room clients, an HTTP client.

The server runs as its own process (``python -m bidserver serve --port 0``) so a test can
``kill -9`` it; it prints its real address, which the harness reads. Clients are real WebSocket
connections (the ``websockets`` library); every wait is on a condition with a timeout.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import httpx
import msgspec
import redis.asyncio as aioredis
import websockets
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from bidserver.auth import mint_token
from bidserver.store.connect import is_cluster_url, redis_client
from bidserver.store.keyspace import KeySpace

JWT_KEY = "integration-test-key-0123456789abcdef"
METRICS_TOKEN = "integration-metrics-token"
_LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)")


def token(role: str, party: str, name: str = "") -> str:
    return mint_token(JWT_KEY, role=role, party=party, name=name)


class ServerProcess:
    def __init__(
        self, redis_url: str, data_dir: Path, extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None, *, single_machine: bool = True,
    ) -> None:
        self.redis_url = redis_url
        self.single_machine = single_machine  # the tests' Redis has no replica: allowed
        self.data_dir = data_dir
        self.extra_args = extra_args
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.log_path = data_dir / "server.log"

    def start(self, timeout: float = 20.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=log,
            env=self.environment(),
        )
        log.close()
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        buffer = b""
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            match = _LISTENING.search(buffer.decode(errors="replace"))
            if match:
                self.port = int(match.group(2))
                selector.close()
                self._wait_healthy(deadline)
                return
        raise RuntimeError(f"bidserver did not start: {buffer!r}\n{self.log_path.read_text()}")

    def environment(self) -> dict[str, str]:
        """The tests' key (so they mint tokens themselves) and metrics token."""
        return dict(os.environ, BIDSERVER_JWT_KEY=JWT_KEY, BIDSERVER_METRICS_TOKEN=METRICS_TOKEN,
                    PYTHONUNBUFFERED="1", **self.extra_env)

    def command(self) -> list[str]:
        """``serve`` on a free port; without a Redis URL it starts its own (embedded) Redis."""
        cmd = [sys.executable, "-m", "bidserver", "serve", "--host", "127.0.0.1", "--port", "0",
               "--data-dir", str(self.data_dir), "--log-level", "warning", *self.extra_args]
        if not self.redis_url:
            return cmd
        single = ["--allow-single-machine-journal"] if self.single_machine else []
        return cmd + ["--redis-url", self.redis_url, *single]

    def _wait_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/livez", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError("bidserver never answered /livez")

    def metrics(self) -> "Metrics":
        """A scrape of ``/metrics`` with the operator's token."""
        response = httpx.get(f"{self.base_url}/metrics", timeout=5,
                             headers={"authorization": f"Bearer {METRICS_TOKEN}"})
        assert response.status_code == 200, response.text
        return Metrics(response.text)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, auction_id: str, since: int | None = None) -> str:
        url = f"ws://127.0.0.1:{self.port}/ws/auctions/{auction_id}"
        return url if since is None else f"{url}?since={since}"

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class Metrics:
    """Prometheus exposition text, parsed (prometheus-client's parser)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called ``name`` whose labels include ``labels`` (0 if none)."""
        return sum(
            sample.value for sample in self.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def by(self, name: str, label: str, **labels: str) -> dict[str, float]:
        """``name``'s samples matching ``labels``, keyed by the value of ``label``."""
        return {
            sample.labels[label]: sample.value for sample in self.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        }


class Api:
    """A thin HTTP client that speaks as one principal."""

    def __init__(self, server: ServerProcess, bearer: str) -> None:
        self.server = server
        self.headers = {"authorization": f"Bearer {bearer}"} if bearer else {}

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.server.base_url, timeout=10) as client:
            return await client.request(method, path, json=body, headers=self.headers)


class LiveClient:
    """A live-room participant: records every message, waits on conditions."""

    def __init__(self, server: ServerProcess, auction_id: str, bearer: str) -> None:
        self.server = server
        self.auction_id = auction_id
        self.bearer = bearer
        self.messages: list[dict[str, Any]] = []
        self.seq = 0
        self.view: dict[str, Any] | None = None
        self.closed: websockets.ConnectionClosed | None = None
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._changed = asyncio.Condition()

    async def connect(self, since: int | None = None) -> "LiveClient":
        self.closed = None
        self._ws = await connect(
            self.server.ws_url(self.auction_id, since),
            additional_headers={"authorization": f"Bearer {self.bearer}"},
            compression=None,
            open_timeout=10,
        )
        self._reader = asyncio.get_running_loop().create_task(self._read())
        await self.wait_for(lambda m: m["type"] == "welcome")
        return self

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                message = msgspec.json.decode(raw)
                if message["type"] in ("welcome", "update"):
                    self.seq = message["seq"]
                    self.view = merged_view(message["view"], message.get("you"))
                async with self._changed:
                    self.messages.append(message)
                    self._changed.notify_all()
        except websockets.ConnectionClosed as exc:
            self.closed = exc
        finally:
            if self.closed is None:
                self.closed = websockets.ConnectionClosed(None, None)
            async with self._changed:
                self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        """The first message from index ``start`` matching ``predicate``."""

        async def find() -> dict[str, Any]:
            async with self._changed:
                index = start
                while True:
                    while index < len(self.messages):
                        message = self.messages[index]
                        index += 1
                        if predicate(message):
                            return message
                    if self.closed is not None:
                        raise AssertionError(f"connection closed while waiting: {self.closed}")
                    await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def wait_view(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0):
        """Wait until the latest view satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not (self.view is not None and predicate(self.view)):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed is not None:
                    raise AssertionError(f"view never matched; last view: {self.view}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    pass
        return self.view

    async def send(self, message: dict[str, Any]) -> None:
        await self._ws.send(msgspec.json.encode(message).decode())

    async def send_text(self, text: str) -> None:
        """Any text message, well-formed or not."""
        await self._ws.send(text)

    async def bid(self, lot_id: str, amount: int, bid_id: str | None = None, **extra) -> dict:
        bid_id = bid_id or str(uuid.uuid4())
        start = len(self.messages)
        await self.send({"type": "bid", "bid_id": bid_id, "lot_id": lot_id, "amount": amount, **extra})
        return await self.wait_for(
            lambda m: m["type"] == "bid_result" and m["bid_id"] == bid_id, start=start
        )

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)


def merged_view(view: dict[str, Any], you: dict[str, Any] | None) -> dict[str, Any]:
    """The shared view with a supplier's own figures (``you``) put in, as a client shows it."""
    if you is None:
        return view
    if "lots" not in you:  # a tender's: the supplier's own bid, questions and complaints
        return dict(view, you=you)
    mine = {lot["lot_id"]: lot for lot in you["lots"]}
    lots = []
    for lot in view["lots"]:
        own = mine.get(lot["lot_id"], {})
        lot = dict(lot, your_best=own.get("best"), your_rank=own.get("rank"))
        if lot.get("award") is not None:
            lot["award"] = dict(lot["award"], yours=own.get("awarded"))
        lots.append(lot)
    return dict(view, your_alias=you["alias"], lots=lots)


def lot_view(view: dict[str, Any], lot_id: str) -> dict[str, Any]:
    return next(lot for lot in view["lots"] if lot["lot_id"] == lot_id)


# ------------------------------------------------------------------------------ time, conditions


def now_ms() -> int:
    """This machine's wall clock in ms: the server's clock too (same host, same ``time_ns``)."""
    return time.time_ns() // 1_000_000


async def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str = "condition", poll: float = 0.01
) -> Any:
    """Poll ``predicate`` (sync or async) until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(poll)


async def wait_clock_past(ms: int, timeout: float = 30.0) -> None:
    """Wait until the wall clock is past ``ms`` (a deadline of the auction, on the server's clock)."""
    await wait_until(lambda: now_ms() > ms, timeout, f"the clock to pass {ms}", poll=0.02)


# ------------------------------------------------------------------------------ Redis, read directly

JOURNAL_PREFIX = "bidserver"


def _store(redis_url: str) -> tuple[aioredis.Redis, KeySpace]:
    """A client for ``redis_url`` (one Redis or a cluster) and where the server keeps its keys
    there: the same two the server itself uses."""
    return redis_client(redis_url), KeySpace(JOURNAL_PREFIX, sharded=is_cluster_url(redis_url))


async def award_releases(redis_url: str, auction_id: str) -> list[tuple[dict, dict]]:
    """(fields, release) of the event's entries on the awards stream (its shard's, on a
    cluster), in order."""
    client, keys = _store(redis_url)
    try:
        entries = await client.xrange(keys.of_auction(auction_id, "awards"))
    finally:
        await client.aclose()
    found = []
    for _, raw in entries:
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        if fields["auction_id"] == auction_id:
            found.append((fields, json.loads(fields["release"])))
    return found


async def journal_events(redis_url: str, auction_id: str) -> list[dict[str, Any]]:
    """The auction's durable events straight from its Redis stream (unwrapped from their
    hash-chain envelopes), each with its ``seq`` (the entry id): what a restarted server must
    rebuild, read without going through it."""
    client, keys = _store(redis_url)
    try:
        entries = await client.xrange(keys.stream(auction_id))
    finally:
        await client.aclose()
    events = []
    for entry_id, fields in entries:
        seq, _, sub = entry_id.decode().partition("-")
        assert sub == "0", entry_id
        envelope = msgspec.json.decode(fields[b"e"])
        assert envelope["seq"] == int(seq), entry_id
        events.append(dict(envelope["event"], seq=int(seq)))
    return events


# ------------------------------------------------------------------------------ raw frames


class RawFrame(msgspec.Struct):
    at: float  # time.monotonic() when it was read
    opcode: int
    payload: bytes
    fin: bool = True
    rsv: int = 0  # RSV1..3 bits (RSV1 set would mean a compressed message)


OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class RawWebSocket:
    """A WebSocket client at the frame level, over a plain TCP stream.

    For what a library client hides or does on its own: the exact handshake headers, the server's
    ping frames (recorded; answered only if ``answer_pings``), frames of any size or shape.
    """

    def __init__(self, server: ServerProcess, auction_id: str, bearer: str) -> None:
        self.server = server
        self.auction_id = auction_id
        self.bearer = bearer
        self.status: int | None = None
        self.response_headers: dict[str, str] = {}  # lower-cased names
        self.frames: list[RawFrame] = []
        self.eof_at: float | None = None  # time.monotonic() when the server closed the TCP stream
        self.answer_pings = True
        self.opened_at: float | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None
        self._changed = asyncio.Condition()

    async def open(
        self, *, answer_pings: bool = True, headers: dict[str, str] | None = None,
        since: int | None = None, timeout: float = 10.0,
    ) -> "RawWebSocket":
        self.answer_pings = answer_pings
        self.opened_at = time.monotonic()  # before the request: the server's handshake is later
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.server.port), timeout
        )
        path = f"/ws/auctions/{self.auction_id}" + ("" if since is None else f"?since={since}")
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.server.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
            "Sec-WebSocket-Version: 13",
            f"Authorization: Bearer {self.bearer}",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await asyncio.wait_for(self._reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                self.response_headers[name.strip().lower()] = value.strip()
        if self.status != 101:
            raise AssertionError(f"handshake refused: {status_line}")
        self._task = asyncio.get_running_loop().create_task(self._read_frames())
        return self

    async def _read_frames(self) -> None:
        reader = self._reader
        try:
            while True:
                b0, b1 = await reader.readexactly(2)
                length = b1 & 0x7F
                if length == 126:
                    length = int.from_bytes(await reader.readexactly(2), "big")
                elif length == 127:
                    length = int.from_bytes(await reader.readexactly(8), "big")
                mask = await reader.readexactly(4) if b1 & 0x80 else None
                payload = await reader.readexactly(length)
                if mask is not None:
                    payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
                frame = RawFrame(time.monotonic(), b0 & 0x0F, payload, bool(b0 & 0x80), (b0 >> 4) & 7)
                if frame.opcode == OP_PING and self.answer_pings:
                    self.send_frame(OP_PONG, payload)
                async with self._changed:
                    self.frames.append(frame)
                    self._changed.notify_all()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.eof_at = time.monotonic()
            async with self._changed:
                self._changed.notify_all()

    def send_frame(self, opcode: int, payload: bytes, *, fin: bool = True) -> None:
        """One masked frame (clients must mask), written at once."""
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        self._writer.write(head + mask + masked)

    def write_raw(self, data: bytes) -> None:
        """Bytes as they are: a frame header with no payload, half a frame..."""
        self._writer.write(data)

    def send_json(self, message: dict[str, Any]) -> None:
        self.send_frame(OP_TEXT, msgspec.json.encode(message))

    def messages(self) -> list[dict[str, Any]]:
        """The text messages received so far, decoded."""
        return [msgspec.json.decode(f.payload) for f in self.frames if f.opcode == OP_TEXT]

    def close_frame(self) -> tuple[int, str] | None:
        for frame in self.frames:
            if frame.opcode == OP_CLOSE:
                code = int.from_bytes(frame.payload[:2], "big") if len(frame.payload) >= 2 else 1005
                return code, frame.payload[2:].decode(errors="replace")
        return None

    async def wait_frame(
        self, predicate: Callable[[RawFrame], bool], timeout: float = 10.0, start: int = 0
    ) -> RawFrame:
        async def find() -> RawFrame:
            async with self._changed:
                index = start
                while True:
                    while index < len(self.frames):
                        frame = self.frames[index]
                        index += 1
                        if predicate(frame):
                            return frame
                    if self.eof_at is not None:
                        raise AssertionError("the server closed the stream while waiting")
                    await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def wait_eof(self, timeout: float = 10.0) -> float:
        await asyncio.wait_for(asyncio.shield(self._task), timeout)
        return self.eof_at

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except ConnectionError:
                pass
        if self._task is not None:
            await asyncio.wait_for(self._task, 5)
