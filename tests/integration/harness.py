"""Real parts for integration tests: a bidserver process, live-room clients, an HTTP client.

The server runs as its own process (``python -m bidserver serve --port 0``) so a test can
``kill -9`` it; it prints its real address, which the harness reads. Clients are real WebSocket
connections (the ``websockets`` library); every wait is on a condition with a timeout.
"""

from __future__ import annotations

import asyncio
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
import websockets
from websockets.asyncio.client import connect

from bidserver.auth import mint_token

JWT_KEY = "integration-test-key-0123456789abcdef"
_LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)")


def token(role: str, party: str, name: str = "") -> str:
    return mint_token(JWT_KEY, role=role, party=party, name=name)


class ServerProcess:
    def __init__(
        self, redis_url: str, data_dir: Path, extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.redis_url = redis_url
        self.data_dir = data_dir
        self.extra_args = extra_args
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.log_path = data_dir / "server.log"

    def start(self, timeout: float = 20.0) -> None:
        env = dict(os.environ, BIDSERVER_JWT_KEY=JWT_KEY, PYTHONUNBUFFERED="1", **self.extra_env)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
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

    def command(self) -> list[str]:
        """``serve`` on a free port; without a Redis URL it starts its own (embedded) Redis."""
        cmd = [sys.executable, "-m", "bidserver", "serve", "--host", "127.0.0.1", "--port", "0",
               "--data-dir", str(self.data_dir), "--log-level", "warning", *self.extra_args]
        return cmd + ["--redis-url", self.redis_url] if self.redis_url else cmd

    def _wait_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError("bidserver never answered /healthz")

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
