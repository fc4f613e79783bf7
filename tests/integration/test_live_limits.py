"""The live room's limits and housekeeping, over real sockets against a real server process:
the per-connection rate limit, the message size limit, no compression, heartbeats, idempotent
resends after the close, and clock sync (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time

import pytest
import websockets
from websockets.asyncio.client import connect

from .conftest import BUYER, SUPPLIERS, auction_config, create_auction
from .harness import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    Api,
    LiveClient,
    RawWebSocket,
    journal_events,
    lot_view,
    now_ms,
    token,
    wait_until,
)

S1, S2, S3 = SUPPLIERS
PING = '{"type":"ping","client_time":1}'


async def _open_auction(server, **overrides) -> tuple[Api, str]:
    buyer_api, auction_id = await create_auction(server, auction_config(**overrides))
    r = await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")
    assert r.status_code == 200, r.text
    return buyer_api, auction_id


def _answers(client: LiveClient) -> list[dict]:
    return [m for m in client.messages if m["type"] in ("pong", "error")]


# ------------------------------------------------------------------------------ rate limit


async def test_a_burst_beyond_the_configured_burst_is_rate_limited(server_factory):
    server = server_factory(env={"BIDSERVER_RATE_LIMIT_PER_S": "1", "BIDSERVER_RATE_LIMIT_BURST": "5"})
    buyer_api, auction_id = await _open_auction(server)
    client = await LiveClient(server, auction_id, token("supplier", S1)).connect()

    for i in range(12):  # one burst: 5 within the bucket, 7 beyond it (refill: 1 per second)
        await client.send({"type": "ping", "client_time": i})
    await wait_until(lambda: len(_answers(client)) == 12, 10, "12 answers")
    answers = _answers(client)
    assert [a["type"] for a in answers] == ["pong"] * 5 + ["error"] * 7
    assert [a["client_time"] for a in answers[:5]] == [0, 1, 2, 3, 4]
    assert all(a == {"type": "error", "reason": "rate_limited", "detail": ""} for a in answers[5:])

    # A bid beyond the limit is answered as a bid (the client learns which one) and not decided.
    refused = await client.bid("L1", 99000, "limited-bid")
    assert (refused["status"], refused["reason"]) == ("rejected", "rate_limited"), refused
    assert refused["bid_id"] == "limited-bid" and refused.get("seq") is None
    assert 0 < refused["retry_after_ms"] <= 1000  # one token at 1 per second
    history = (await buyer_api.call("GET", f"/api/auctions/{auction_id}/bids")).json()
    assert history["bids"] == []

    # The limit is per connection: another socket of the same supplier has its own bucket.
    other = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    assert (await other.bid("L1", 99500, "other-socket"))["status"] == "accepted"

    # The bucket refills: the same bid id, resent later, is decided for the first time.
    async def accepted():
        answer = await client.bid("L1", 99000, "limited-bid")
        if answer["status"] == "accepted":
            return answer
        assert answer["reason"] == "rate_limited", answer
        return None

    answer = await wait_until(accepted, 5, "a refilled token", poll=0.25)
    assert answer["duplicate"] is False
    assert client.closed is None  # rate limiting never closes the socket
    for c in (client, other):
        await c.close()


async def test_malformed_messages_count_against_the_rate_limit(server_factory):
    """Every message takes a token (docs/design.md: the session size-checks, rate-limits, then
    decodes): garbage must not be decoded and answered without limit."""
    server = server_factory(env={"BIDSERVER_RATE_LIMIT_PER_S": "1", "BIDSERVER_RATE_LIMIT_BURST": "5"})
    _, auction_id = await _open_auction(server)
    client = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    for i in range(12):
        await client.send_text(f"not json {i}")
    await wait_until(lambda: len(_answers(client)) == 12, 10, "12 answers")
    reasons = [a["reason"] for a in _answers(client)]
    assert reasons == ["bad_request"] * 5 + ["rate_limited"] * 7, reasons
    start = len(client.messages)
    await client.send({"type": "ping", "client_time": 1})  # the bucket is empty now
    answer = await client.wait_for(lambda m: m["type"] in ("pong", "error"), start=start)
    assert answer["type"] == "error" and answer["reason"] == "rate_limited", answer
    await client.close()


async def test_the_default_rate_limit_allows_a_burst_of_40(server):
    _, auction_id = await _open_auction(server)
    client = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    started = time.monotonic()
    for i in range(60):
        await client.send({"type": "ping", "client_time": i})
    await wait_until(lambda: len(_answers(client)) == 60, 10, "60 answers")
    elapsed = time.monotonic() - started
    kinds = [a["type"] for a in _answers(client)]
    assert kinds[:40] == ["pong"] * 40  # the burst (rate_limit_burst = 40)
    assert "error" in kinds[40:]
    assert kinds.count("pong") <= 40 + 20 * elapsed + 1  # refill: rate_limit_per_s = 20
    await client.close()


# ------------------------------------------------------------------------------ message size


async def _close_code_after(url: str, bearer: str, payload) -> websockets.ConnectionClosed:
    async with connect(url, additional_headers={"authorization": f"Bearer {bearer}"},
                       compression=None, max_size=None, open_timeout=10) as ws:
        assert '"welcome"' in await ws.recv()
        await ws.send(payload)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            message = await asyncio.wait_for(ws.recv(), 10)
            raise AssertionError(f"an oversized message was answered: {message[:200]}")
        return closed.value


async def test_the_maximum_message_size_is_4096_bytes_then_1009(server):
    _, auction_id = await _open_auction(server)
    bearer = token("supplier", S1)
    url = server.ws_url(auction_id)
    async with connect(url, additional_headers={"authorization": f"Bearer {bearer}"},
                       compression=None, open_timeout=10) as ws:
        await ws.recv()
        await ws.send(PING + " " * (4096 - len(PING)))  # exactly the limit: answered
        assert '"pong"' in await ws.recv()

    closed = await _close_code_after(url, bearer, PING + " " * (4097 - len(PING)))
    assert closed.rcvd is not None and closed.rcvd.code == 1009, closed
    # The limit is in bytes, not characters: 2100 two-byte characters are 4200 bytes.
    closed = await _close_code_after(url, bearer, '{"type":"ping","client_time":1,"x":"' + "é" * 2100 + '"}')
    assert closed.rcvd.code == 1009
    # Fragments are counted together: two fragments of 3000 bytes are one message of 6000.
    closed = await _close_code_after(url, bearer, [PING[:10] + " " * 3000, " " * 3000 + PING[10:]])
    assert closed.rcvd.code == 1009

    # A frame announcing a huge payload is refused at its header, without waiting for the payload.
    raw = await RawWebSocket(server, auction_id, bearer).open()
    await raw.wait_frame(lambda f: f.opcode == OP_TEXT)
    raw.write_raw(bytes([0x81, 0x80 | 127]) + (1 << 30).to_bytes(8, "big") + b"mask" + b"{")
    await raw.wait_eof(5)
    assert raw.close_frame() is not None and raw.close_frame()[0] == 1009
    await raw.close()


async def test_the_message_size_limit_is_configurable(server_factory):
    server = server_factory(env={"BIDSERVER_MAX_MESSAGE_BYTES": "512"})
    _, auction_id = await _open_auction(server)
    bearer = token("supplier", S1)
    async with connect(server.ws_url(auction_id), additional_headers={"authorization": f"Bearer {bearer}"},
                       compression=None, open_timeout=10) as ws:
        await ws.recv()
        await ws.send(PING + " " * (512 - len(PING)))
        assert '"pong"' in await ws.recv()
    closed = await _close_code_after(server.ws_url(auction_id), bearer, PING + " " * (513 - len(PING)))
    assert closed.rcvd.code == 1009


# ------------------------------------------------------------------------------ text only


async def test_frames_are_text_a_binary_one_closes_with_1003_invalid_utf8_with_1007(server):
    _, auction_id = await _open_auction(server)
    bearer = token("supplier", S1)
    for opcode, payload, code in (
        (OP_BINARY, PING.encode(), 1003),  # a valid message, in the wrong kind of frame
        (OP_BINARY, b'{"type":"ping","client_time":"\x80"}', 1003),
        (OP_TEXT, b'{"type":"ping","client_time":"\x80"}', 1007),  # text must be UTF-8
    ):
        raw = await RawWebSocket(server, auction_id, bearer).open()
        await raw.wait_frame(lambda f: f.opcode == OP_TEXT)  # the welcome
        raw.send_frame(opcode, payload)
        await raw.wait_frame(lambda f: f.opcode == OP_CLOSE)
        assert raw.close_frame()[0] == code, (opcode, raw.close_frame())
        assert [m["type"] for m in raw.messages()] == ["welcome"]  # never answered as a message
        await raw.close()


# ------------------------------------------------------------------------------ compression


async def test_permessage_deflate_is_offered_but_not_negotiated(server):
    _, auction_id = await _open_auction(server)
    bearer = token("supplier", S1)
    # websockets' default client offers permessage-deflate.
    async with connect(server.ws_url(auction_id), additional_headers={"authorization": f"Bearer {bearer}"},
                       open_timeout=10) as ws:
        assert "permessage-deflate" in ws.request.headers["Sec-WebSocket-Extensions"]
        assert ws.response.status_code == 101
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        assert ws.protocol.extensions == []
        assert '"welcome"' in await ws.recv()
        await ws.send(PING)
        assert '"pong"' in await ws.recv()

    # The same at the byte level: no extension header, no compressed (RSV1) frame.
    raw = await RawWebSocket(server, auction_id, bearer).open(
        headers={"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"}
    )
    assert raw.status == 101 and "sec-websocket-extensions" not in raw.response_headers
    raw.send_json({"type": "ping", "client_time": 5})
    await raw.wait_frame(lambda f: f.opcode == OP_TEXT and b'"pong"' in f.payload)
    assert all(f.rsv == 0 for f in raw.frames)
    await raw.close()


# ------------------------------------------------------------------------------ heartbeats

HEARTBEAT_S = 0.5


async def test_heartbeats_keep_an_answering_client_and_drop_a_silent_one(server_factory):
    server = server_factory(env={"BIDSERVER_HEARTBEAT_S": str(HEARTBEAT_S)})
    _, auction_id = await _open_auction(server)
    bearer = token("supplier", S1)

    answering = await RawWebSocket(server, auction_id, bearer).open(answer_pings=True)
    silent = await RawWebSocket(server, auction_id, bearer).open(answer_pings=False)

    # The silent client gets a ping after one interval, then is dropped about one ping timeout
    # (= the interval) later: a close frame 1011, then the end of the stream.
    ping = await silent.wait_frame(lambda f: f.opcode == OP_PING, timeout=HEARTBEAT_S * 2 + 3)
    assert HEARTBEAT_S <= ping.at - silent.opened_at <= HEARTBEAT_S + 3
    eof = await silent.wait_eof(HEARTBEAT_S + 5)
    assert HEARTBEAT_S * 0.5 <= eof - ping.at <= HEARTBEAT_S + 3
    assert silent.close_frame() is not None and silent.close_frame()[0] == 1011, silent.close_frame()
    assert len([f for f in silent.frames if f.opcode == OP_PING]) == 1

    # The client that answers has had pings all along, one per interval, and is still served.
    await wait_until(lambda: len([f for f in answering.frames if f.opcode == OP_PING]) >= 4,
                     HEARTBEAT_S * 4 + 5, "four pings")
    pings = [f.at for f in answering.frames if f.opcode == OP_PING]
    assert all(b - a >= HEARTBEAT_S * 0.5 for a, b in zip(pings, pings[1:])), pings  # no flood
    assert answering.eof_at is None and not any(f.opcode == OP_CLOSE for f in answering.frames)
    answering.send_json({"type": "ping", "client_time": 7})
    pong = await answering.wait_frame(lambda f: f.opcode == OP_TEXT and b'"pong"' in f.payload)
    assert b'"client_time":7' in pong.payload
    await answering.close()
    await silent.close()


# ------------------------------------------------------------------------------ control frames

PINGS = 100_000  # 12.7 MB of pongs: far more than the limit and the kernel's buffers together
PING_FRAME = bytes([0x89, 0x80 | 125]) + b"\0\0\0\0" + b"p" * 125  # masked with a zero key
PONG_SIZE = 2 + 125


def _handshake(port: int, auction_id: str, bearer: str, rcvbuf: int = 16384) -> socket.socket:
    """A blocking socket past the 101, with a small receive buffer (what it does not read piles
    up in the server's buffer sooner)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws/auctions/{auction_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {bearer}\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _flood_then_read(sock: socket.socket) -> tuple[int, tuple[int, str] | None]:
    """Send PINGS pings reading nothing, then read: (pongs received, the close frame's code and
    reason, or None when the stream ends without one, e.g. reset)."""
    sock.sendall(PING_FRAME * PINGS)
    buf, pongs = b"", 0
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:  # cut off before we read the close: no close frame then
            return pongs, None
        if not chunk:
            return pongs, None
        buf += chunk
        while len(buf) >= 2:
            opcode, length = buf[0] & 0x0F, buf[1] & 0x7F
            head = 2 + (2 if length == 126 else 8 if length == 127 else 0)
            if length >= 126:
                if len(buf) < head:
                    break
                length = int.from_bytes(buf[2:head], "big")
            if len(buf) < head + length:
                break
            payload, buf = buf[head : head + length], buf[head + length :]
            if opcode == OP_CLOSE:
                return pongs, (int.from_bytes(payload[:2], "big"), payload[2:].decode())
            if opcode == 0xA:
                pongs += 1
                if pongs == PINGS:  # every ping answered: nothing bounded the server's buffer
                    return pongs, None


async def test_a_ping_flood_that_never_reads_is_closed_as_lagging(server_factory):
    """Pongs count against the socket's outbox limit like updates: a client that sends pings and
    never reads is cut off (4408) instead of growing the server's buffer by every pong."""
    limit = 16384
    server = server_factory(env={"BIDSERVER_OUTBOX_LIMIT_BYTES": str(limit)})
    _, auction_id = await _open_auction(server)
    sock = await asyncio.to_thread(_handshake, server.port, auction_id, token("supplier", S1))
    try:
        pongs, close = await asyncio.to_thread(_flood_then_read, sock)
    finally:
        sock.close()
    assert close == (4408, "lagging"), (pongs, close)
    # What came back is the limit plus what the kernel buffered, not the 12.7 MB asked for.
    assert pongs * PONG_SIZE < PINGS * PONG_SIZE // 2, pongs
    client = await LiveClient(server, auction_id, token("supplier", S1)).connect()  # still serving
    await client.close()


# ------------------------------------------------------------------------------ request heads

HEAD_TIMEOUT_S = 1.0


async def _response(reader: asyncio.StreamReader) -> bytes:
    """One whole HTTP response (its head and its Content-Length body)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    return head + await asyncio.wait_for(reader.readexactly(length), 5)


async def _closed_after(reader: asyncio.StreamReader, opened: float) -> float:
    """Seconds from ``opened`` until the server closed the stream (nothing may come before)."""
    assert await asyncio.wait_for(reader.read(), HEAD_TIMEOUT_S + 10) == b""
    return time.monotonic() - opened


async def test_a_request_head_that_does_not_arrive_in_time_is_closed(server_factory):
    """Slow handshakes (nothing sent, part of a head, a byte now and then) are closed once the
    head timeout has passed; clients that send their heads in time are not affected, however
    long they then stay."""
    server = server_factory(env={"BIDSERVER_HEADER_TIMEOUT_S": str(HEAD_TIMEOUT_S)})
    _, auction_id = await _open_auction(server)
    # A live room opened normally, and a kept-alive HTTP connection idle for longer than the bound.
    client = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    kept_reader, kept_writer = await asyncio.open_connection("127.0.0.1", server.port)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    kept_writer.write(request)
    assert (await _response(kept_reader)).startswith(b"HTTP/1.1 200")
    opened = time.monotonic()
    partial = f"GET /ws/auctions/{auction_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr".encode()
    silent, slow, dripping = [], [], []
    for _ in range(50):
        silent.append(await asyncio.open_connection("127.0.0.1", server.port))
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(partial)
        slow.append((reader, writer))
    for _ in range(5):
        dripping.append(await asyncio.open_connection("127.0.0.1", server.port))

    async def drip(writer: asyncio.StreamWriter) -> None:
        for byte in partial:  # one byte every 0.1 s: 6 s for the head, were it let through
            if writer.is_closing():
                return
            writer.write(bytes([byte]))
            await asyncio.sleep(0.1)

    drips = [asyncio.create_task(drip(w)) for _, w in dripping]
    waited = await asyncio.gather(*(_closed_after(r, opened) for r, _ in silent + slow + dripping))
    assert all(HEAD_TIMEOUT_S * 0.9 <= w <= HEAD_TIMEOUT_S + 5 for w in waited), sorted(waited)
    for task in drips:
        task.cancel()
    for _, writer in silent + slow + dripping:
        writer.close()

    start = len(client.messages)  # the live room outlived the bound...
    await client.send({"type": "ping", "client_time": 1})
    await client.wait_for(lambda m: m["type"] == "pong", start=start)
    await client.close()
    kept_writer.write(request)  # ...and so did the kept-alive connection, on the same socket
    assert (await _response(kept_reader)).startswith(b"HTTP/1.1 200")
    kept_writer.close()


# ------------------------------------------------------------------------------ resends after the close


async def test_a_resend_after_the_close_is_the_original_accepted_result(server, redis_server):
    buyer_api, auction_id = await _open_auction(server, duration_ms=1500)
    s1 = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    s2 = await LiveClient(server, auction_id, token("supplier", S2)).connect()
    s1_api, s2_api = Api(server, token("supplier", S1)), Api(server, token("supplier", S2))
    over_ws = await s1.bid("L1", 99000, "ws-bid")
    assert over_ws["status"] == "accepted" and over_ws["duplicate"] is False
    r = await s2_api.call("POST", f"/api/auctions/{auction_id}/bids",
                          {"bid_id": "http-bid", "lot_id": "L1", "amount": 97500})
    assert r.status_code == 201, r.text
    over_http = r.json()
    await s1.wait_view(lambda v: v["phase"] == "closed", timeout=10)
    head = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["seq"]

    async def resend_http(api: Api, bid_id: str, amount: int):
        return await api.call("POST", f"/api/auctions/{auction_id}/bids",
                              {"bid_id": bid_id, "lot_id": "L1", "amount": amount})

    async def check_resends() -> None:
        for original, bid_id, amount, client, api in (
            (over_ws, "ws-bid", 99000, s1, s1_api), (over_http, "http-bid", 97500, s2, s2_api),
        ):
            again = await client.bid("L1", amount, bid_id)  # over the live room
            assert (again["status"], again["duplicate"], again["seq"]) == (
                "accepted", True, original["seq"]), again
            r = await resend_http(api, bid_id, amount)  # and over HTTP
            assert r.status_code == 200, r.text
            body = r.json()
            assert (body["status"], body["duplicate"], body["seq"], body["bid_id"]) == (
                "accepted", True, original["seq"], bid_id), body

    await check_resends()
    # The same id for another amount is not a resend; a new bid is simply too late.
    changed = await s1.bid("L1", 98000, "ws-bid")
    assert (changed["status"], changed["reason"]) == ("rejected", "duplicate_bid_id")
    late = await s1.bid("L1", 96000, "new-after-close")
    assert (late["status"], late["reason"]) == ("rejected", "auction_closed")
    r = await resend_http(s2_api, "http-bid", 96000)
    assert r.json()["reason"] == "duplicate_bid_id"
    # Nothing was decided again: the journal moved only by the record of the late new bid.
    after = [e for e in await journal_events(redis_server.url, auction_id) if e["seq"] > head]
    assert [(e["type"], e["bid_id"], e["reason"]) for e in after] == [
        ("bid_refused", "new-after-close", "auction_closed")]

    # Bid ids are in the journal: the same answers after a restart.
    for client in (s1, s2):
        await client.close()
    server.kill9()
    server.start()
    s1 = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    s2 = await LiveClient(server, auction_id, token("supplier", S2)).connect()
    assert lot_view(s2.view, "L1")["award"]["yours"] is True
    await check_resends()
    for client in (s1, s2):
        await client.close()


async def test_a_resend_while_paused_or_after_a_cancel_is_the_original_result(server):
    buyer_api, auction_id = await _open_auction(server)
    s1 = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    s1_api = Api(server, token("supplier", S1))
    first = await s1.bid("L1", 99000, "before-pause")
    assert first["status"] == "accepted"
    for action, body, phase in (("pause", {"reason": "network check"}, "paused"),
                                ("cancel", {"reason": "tender withdrawn"}, "cancelled")):
        r = await buyer_api.call("POST", f"/api/auctions/{auction_id}/{action}", body)
        assert r.status_code == 200, r.text
        await s1.wait_view(lambda v, phase=phase: v["phase"] == phase)
        again = await s1.bid("L1", 99000, "before-pause")
        assert (again["status"], again["duplicate"], again["seq"]) == ("accepted", True, first["seq"])
        r = await s1_api.call("POST", f"/api/auctions/{auction_id}/bids",
                              {"bid_id": "before-pause", "lot_id": "L1", "amount": 99000})
        assert r.status_code == 200 and r.json()["duplicate"] is True, r.text
        fresh = await s1.bid("L1", 98000)
        assert fresh["reason"] == f"auction_{phase}", fresh
    await s1.close()


# ------------------------------------------------------------------------------ clock sync


async def test_ping_gets_pong_with_the_server_time(server):
    _, auction_id = await _open_auction(server)
    client = await LiveClient(server, auction_id, token("observer", BUYER)).connect()
    welcome = client.messages[0]
    assert isinstance(welcome["server_time"], int)
    samples = []
    for i in range(5):
        client_time = time.time() * 1000 + 0.5  # fractional ms: echoed untouched
        t0 = now_ms()
        start = len(client.messages)
        await client.send({"type": "ping", "client_time": client_time})
        pong = await client.wait_for(lambda m: m["type"] == "pong", start=start)
        received = time.time() * 1000
        t1 = now_ms()
        assert pong == {"type": "pong", "client_time": client_time, "server_time": pong["server_time"]}
        assert isinstance(pong["server_time"], int)
        assert t0 <= pong["server_time"] <= t1  # same host, same clock
        samples.append((received - client_time, pong["server_time"] - (client_time + received) / 2))
    times = [welcome["server_time"]] + [m["server_time"] for m in client.messages if m["type"] == "pong"]
    assert times == sorted(times)
    rtt, offset = min(samples)
    assert abs(offset) <= rtt / 2 + 5, samples  # the protocol's estimate: the clocks agree

    # Any client_time is echoed, the server never uses it; malformed pings are refused, not fatal.
    start = len(client.messages)
    await client.send({"type": "ping", "client_time": 12.25})
    assert (await client.wait_for(lambda m: m["type"] == "pong", start=start))["client_time"] == 12.25
    for bad in ({"type": "ping"}, {"type": "ping", "client_time": "noon"},
                {"type": "ping", "client_time": 1, "extra": True}):
        start = len(client.messages)
        await client.send(bad)
        error = await client.wait_for(lambda m: m["type"] == "error", start=start)
        assert error["reason"] == "bad_request", (bad, error)
    start = len(client.messages)
    await client.send({"type": "ping", "client_time": 3})
    await client.wait_for(lambda m: m["type"] == "pong", start=start)
    assert client.closed is None
    await client.close()
