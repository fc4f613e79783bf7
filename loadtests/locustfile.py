"""Mixed, realistic load on a running bidserver, with locust (run it with ``loadtests.locust_run``).

One reverse auction is set up when the test starts (a buyer creates it over the HTTP API, invites
a pool of suppliers and starts it, with a soft close); then these users arrive:

- ``SupplierBidder``: a supplier in the live room (WebSocket: websockets' protocol on a blocking
  socket inside a locust User, see ``WSClient``); bids a little under its own best, slowly at first and in bursts in the
  last fifth of the auction, like suppliers do before the close. Reports ``ws bid`` (bid to
  ``bid_result``); a refusal by the rules (``decrement_too_small``, ``lot_closed``...) is a
  success of its own name, anything else a failure.
- ``BuyerWatcher``: the buyer watching the live room; reports ``ws update`` (server time of the
  update to its arrival) and reads the bid history over HTTP now and then.
- ``Reconnector``: an observer whose connection keeps dropping; reconnects with ``?since=`` and
  checks that the catch-up starts right after the last sequence number it had (``ws resume``).
- ``ApiUser``: HTTP reads (the auction, its bid history, health, OpenAPI, server time).

Needs ``BIDSERVER_JWT_KEY`` (the server's HS256 key) to mint tokens, and ``--host`` (the server's
http:// address). ``LOCUST_AUCTION_S`` sets the auction's length (default 60 s).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import socket
import time
import uuid

import httpx
from locust import HttpUser, User, between, events, task
from locust.clients import HttpSession
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from bidserver.auth import mint_token

BUYER = "locust-buyer-org"
# Suppliers invited before the run (one HTTP request each, fsync'd): locust's run time already
# counts while they are invited, so a short run invites fewer (locust_run --suppliers).
SUPPLIER_POOL = int(os.environ.get("LOCUST_SUPPLIERS", "500"))
CEILING = 10_000_000
_suppliers = itertools.count()
AUCTION: dict = {}


def _key() -> str:
    key = os.environ.get("BIDSERVER_JWT_KEY")
    if not key:
        raise RuntimeError("set BIDSERVER_JWT_KEY to the server's HS256 key")
    return key


def _token(role: str, party: str) -> str:
    return mint_token(_key(), role=role, party=party, ttl_s=3600)


@events.test_start.add_listener
def create_auction(environment, **_kw) -> None:
    """One auction for the whole run, created and started by the buyer over the HTTP API."""
    length_ms = int(float(os.environ.get("LOCUST_AUCTION_S", "60")) * 1000)
    headers = {"authorization": f"Bearer {_token('buyer', BUYER)}"}
    with httpx.Client(base_url=environment.host, headers=headers, timeout=30) as client:
        config = {
            "title": "Locust mixed load", "currency": "EUR", "duration_ms": length_ms,
            "decrement": {"kind": "amount", "value": 100}, "visibility": "rank_and_leading_price",
            "tie_rule": "rank_by_time",
            "soft_close": {"window_ms": 5_000, "extension_ms": 5_000, "max_extensions": 3},
            "lots": [{"lot_id": "L1", "title": "Diesel", "ceiling": CEILING}],
        }
        r = client.post("/api/auctions", json={"config": config})
        r.raise_for_status()
        auction_id = r.json()["view"]["auction_id"]
        for i in range(SUPPLIER_POOL):
            client.post(f"/api/auctions/{auction_id}/invitations",
                        json={"supplier": f"sup-{i}", "name": f"Supplier {i} Ltd"}).raise_for_status()
        r = client.post(f"/api/auctions/{auction_id}/start")
        r.raise_for_status()
        AUCTION.update(id=auction_id, end_at=r.json()["view"]["lots"][0]["end_at"])


class WSClient:
    """A blocking WebSocket client on websockets' own protocol (sans-I/O) over a plain socket.

    Why not ``websockets.sync.client``: it reads in a background thread, and under locust's gevent
    that thread's socket is closed under its feet on reconnects, which aborts libev ("I/O watcher
    with invalid fd"). Here one greenlet owns the socket: frames are read only inside ``recv``,
    and pings are answered there.
    """

    def __init__(self, url: str, headers: dict[str, str], timeout: float = 10.0) -> None:
        uri = parse_uri(url)
        self.protocol = ClientProtocol(uri)
        request = self.protocol.connect()
        for name, value in headers.items():
            request.headers[name] = value
        self.sock = socket.create_connection((uri.host, uri.port), timeout=timeout)
        self.protocol.send_request(request)
        self._flush()
        self.frames: list[bytes] = []
        deadline = time.monotonic() + timeout
        while self.protocol.state is State.CONNECTING:
            self._read(max(0.01, deadline - time.monotonic()))
        if self.protocol.handshake_exc is not None:
            raise self.protocol.handshake_exc

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def _read(self, timeout: float) -> None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError from None
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        self._flush()  # pongs, the close handshake
        for event in self.protocol.events_received():
            if getattr(event, "opcode", None) is Opcode.TEXT:
                self.frames.append(event.data)

    def send(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        self._flush()

    def recv(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while not self.frames:
            if self.protocol.state is State.CLOSED:
                raise ConnectionError("closed by the server")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self._read(remaining)
        return self.frames.pop(0).decode()

    def close(self) -> None:
        try:
            if self.protocol.state is State.OPEN:
                self.protocol.send_close(1000)
                self._flush()
                deadline = time.monotonic() + 2
                while self.protocol.state is not State.CLOSED and time.monotonic() < deadline:
                    self._read(max(0.01, deadline - time.monotonic()))
        except (OSError, TimeoutError):
            pass
        finally:
            self.sock.close()


def _fire(environment, name: str, started: float, length: int = 0, exc: Exception | None = None,
          kind: str = "WS") -> None:
    environment.events.request.fire(
        request_type=kind, name=name, response_time=(time.perf_counter() - started) * 1000,
        response_length=length, exception=exc, context={},
    )


class LiveRoomUser(User):
    """A participant in the live room over a real WebSocket."""

    abstract = True
    role = "observer"

    def party(self) -> str:
        return BUYER  # observers watch the auctions of the buyer organisation in their token

    def url(self, since: int | None = None) -> str:
        base = self.host.replace("http://", "ws://").replace("https://", "wss://")
        url = f"{base}/ws/auctions/{AUCTION['id']}"
        return url if since is None else f"{url}?since={since}"

    def on_start(self) -> None:
        self.me = self.party()
        self.bearer = _token(self.role, self.me)
        self.seq = 0
        self.ws = None
        self.open()

    def open(self, since: int | None = None) -> dict:
        started = time.perf_counter()
        try:
            self.ws = WSClient(self.url(since), {"authorization": f"Bearer {self.bearer}"})
            welcome = json.loads(self.ws.recv(timeout=10))
        except Exception as exc:  # noqa: BLE001 - reported to locust
            _fire(self.environment, "ws connect", started, exc=exc)
            raise
        _fire(self.environment, "ws connect", started, len(str(welcome)))
        self.seq = welcome["seq"]
        return welcome

    def on_stop(self) -> None:
        if self.ws is not None:
            self.ws.close()

    def receive(self, timeout: float) -> dict | None:
        try:
            message = json.loads(self.ws.recv(timeout=timeout))
        except TimeoutError:
            return None
        if message["type"] in ("welcome", "update"):
            self.seq = message["seq"]
        return message


class SupplierBidder(LiveRoomUser):
    role = "supplier"
    weight = 6

    def party(self) -> str:
        return f"sup-{next(_suppliers) % SUPPLIER_POOL}"

    def wait_time(self) -> float:
        left_ms = AUCTION.get("end_at", 0) - time.time() * 1000
        total_ms = float(os.environ.get("LOCUST_AUCTION_S", "60")) * 1000
        if left_ms < total_ms / 5:  # the last fifth: bursts before the close
            return random.uniform(0.05, 0.3)
        return random.uniform(0.5, 2.0)

    def on_start(self) -> None:
        self.best = CEILING - random.randint(0, 50) * 100
        super().on_start()

    @task
    def bid(self) -> None:
        amount = self.best - 100 * random.randint(1, 5)
        bid_id = str(uuid.uuid4())
        started = time.perf_counter()
        self.ws.send(json.dumps({"type": "bid", "bid_id": bid_id, "lot_id": "L1", "amount": amount}))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            message = self.receive(timeout=max(0.01, deadline - time.monotonic()))
            if message is None or message.get("type") != "bid_result" or message["bid_id"] != bid_id:
                continue
            if message["status"] == "accepted":
                self.best = amount
                _fire(self.environment, "ws bid", started, len(str(message)))
            elif message.get("reason") in ("journal_unavailable", "writer_unavailable", "internal_error",
                                           "not_decided"):
                _fire(self.environment, "ws bid", started, exc=RuntimeError(message["reason"]))
            else:  # refused by the auction's rules: an answer, not an error
                if message.get("max_amount"):
                    self.best = message["max_amount"] + 100
                _fire(self.environment, f"ws bid refused: {message['reason']}", started)
            return
        _fire(self.environment, "ws bid", started, exc=TimeoutError("no bid_result in 10 s"))


class BuyerWatcher(LiveRoomUser):
    role = "buyer"
    weight = 1
    wait_time = between(0.0, 0.05)

    def party(self) -> str:
        return BUYER

    def on_start(self) -> None:
        super().on_start()
        self.http = HttpSession(base_url=self.host, request_event=self.environment.events.request,
                                user=self)
        self.reads = 0

    @task
    def watch(self) -> None:
        """Everything that arrived (so the client never lags), each update's age reported."""
        message = self.receive(timeout=1.0)
        while message is not None:
            if message["type"] == "update":
                lag_ms = max(0.0, time.time() * 1000 - message["server_time"])  # one clock
                self.environment.events.request.fire(
                    request_type="WS", name="ws update (server time to screen)",
                    response_time=lag_ms, response_length=0, exception=None, context={},
                )
            message = self.receive(timeout=0.001)
        self.reads += 1
        # Now and then the bid history over HTTP, from the first read on: a short run on a loaded
        # machine (1 s per idle read) may not reach the 20th.
        if self.reads % 20 == 1:
            self.http.get(f"/api/auctions/{AUCTION['id']}/bids",
                          headers={"authorization": f"Bearer {self.bearer}"},
                          name="GET bid history (buyer)")


class Reconnector(LiveRoomUser):
    role = "observer"
    weight = 2
    wait_time = between(0.5, 2.0)

    @task
    def drop_and_resume(self) -> None:
        for _ in range(3):  # read a little
            self.receive(timeout=0.3)
        last = self.seq
        self.ws.close()
        started = time.perf_counter()
        welcome = self.open(since=last)
        gap = None
        if welcome["seq"] > last:
            catch_up = self.receive(timeout=5.0)
            if catch_up is None or catch_up["type"] != "update" or catch_up["first_seq"] != last + 1:
                gap = AssertionError(f"resume from {last} got {catch_up and catch_up.get('first_seq')}")
        _fire(self.environment, "ws resume", started, exc=gap)


class ApiUser(HttpUser):
    weight = 1
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.headers = {"authorization": f"Bearer {_token('buyer', BUYER)}"}

    @task(4)
    def auction(self) -> None:
        self.client.get(f"/api/auctions/{AUCTION['id']}", headers=self.headers, name="GET auction")

    @task(2)
    def bids(self) -> None:
        self.client.get(f"/api/auctions/{AUCTION['id']}/bids", headers=self.headers, name="GET bids")

    @task(1)
    def health(self) -> None:
        self.client.get("/readyz", name="GET readyz")

    @task(1)
    def openapi(self) -> None:
        self.client.get("/openapi.json", name="GET openapi")

    @task(1)
    def clock(self) -> None:
        self.client.get("/api/time", name="GET time")
