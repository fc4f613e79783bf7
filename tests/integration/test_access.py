"""Nobody sees or does what they must not, checked over real sockets on a real server."""

from __future__ import annotations

import asyncio

import httpx
import msgspec
import pytest
import websockets
from websockets.asyncio.client import connect

from bidserver.auth import mint_token

from .conftest import BUYER, ON_BOTH_BACKENDS, SUPPLIERS, auction_config, create_auction
from .harness import JWT_KEY, Api, LiveClient, token, wait_until

S1, S2, S3 = SUPPLIERS


async def _handshake_status(url: str, headers: dict[str, str]) -> int:
    with pytest.raises(websockets.InvalidStatus) as info:
        async with connect(url, additional_headers=headers, open_timeout=5):
            pass
    return info.value.response.status_code


async def test_handshake_rejects_bad_tokens_foreign_origins_and_strangers(server):
    _, auction_id = await create_auction(server, auction_config(), suppliers={S1: "Alpha"})
    url = server.ws_url(auction_id)
    assert await _handshake_status(url, {}) == 401
    assert await _handshake_status(url, {"authorization": "Bearer not-a-jwt"}) == 401
    good = {"authorization": f"Bearer {token('supplier', S1)}"}
    assert await _handshake_status(url, {**good, "origin": "https://evil.example"}) == 403
    # A supplier that was not invited, and another organisation's buyer, see no such auction.
    stranger = {"authorization": f"Bearer {token('supplier', S2)}"}
    assert await _handshake_status(url, stranger) == 404
    other_buyer = {"authorization": f"Bearer {token('buyer', 'org-other-buyer')}"}
    assert await _handshake_status(url, other_buyer) == 404
    other_observer = {"authorization": f"Bearer {token('observer', 'org-other-buyer')}"}
    assert await _handshake_status(url, other_observer) == 404
    # The invited supplier gets in.
    client = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    assert client.messages[0]["type"] == "welcome"
    await client.close()


async def test_refused_handshakes_are_logged_at_info_with_their_reason_never_as_errors(server_factory):
    """Anyone can get a handshake refused: each refusal is one INFO line naming its reason, and
    no ERROR line (uvicorn before 0.55 logged "ASGI callable returned without completing
    handshake." at ERROR for every one)."""
    server = server_factory(extra_args=("--log-level", "info"))
    _, auction_id = await create_auction(server, auction_config(), suppliers={S1: "Alpha"})
    url = server.ws_url(auction_id)
    good = {"authorization": f"Bearer {token('supplier', S1)}"}
    refusals = [
        (url, {}, "missing_token"),
        (url, {"authorization": "Bearer not-a-jwt"}, "invalid_token"),
        (url, {**good, "origin": "https://evil.example"}, "origin_not_allowed"),
        (server.ws_url("no-such-auction"), good, "unknown_auction"),
        (url + "?since=x", good, "bad_request"),
    ]
    for target, headers, _ in refusals:
        await _handshake_status(target, headers)
    log = server.log_path.read_text()
    lines = [line for line in log.splitlines() if "live room" in line and "refused" in line]
    assert [line.rsplit("refused: ", 1)[1].split()[0] for line in lines] == [r for *_, r in refusals]
    assert all(" INFO " in line for line in lines), lines
    assert "ERROR" not in log and "Traceback" not in log, log


async def _raw_handshake(server, auction_id: str, bearer: str, host: str, origin: str | None) -> tuple[int, bytes]:
    """The status and body of a handshake with exactly this Host (and Origin)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    lines = [f"GET /ws/auctions/{auction_id} HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
             "Sec-WebSocket-Version: 13", f"Authorization: Bearer {bearer}"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = next((int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")), 0)
    body = await asyncio.wait_for(reader.readexactly(length), 10)
    writer.close()
    return int(head.split()[1]), body


async def test_unknown_hosts_are_refused_so_dns_rebinding_gets_nowhere(server_factory):
    """A page whose name was made to resolve to this server sends a Host and an Origin that agree:
    only a Host the server is configured to serve may pass (421 host_not_allowed otherwise)."""
    server = server_factory()
    _, auction_id = await create_auction(server, auction_config(), suppliers={S1: "Alpha"})
    bearer, port = token("supplier", S1), server.port
    status, body = await _raw_handshake(
        server, auction_id, bearer, f"evil.example:{port}", f"http://evil.example:{port}")
    assert status == 421, status  # it was 101: the page was in
    assert msgspec.json.decode(body)["error"] == "host_not_allowed"
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):  # the default: local names
        assert (await _raw_handshake(server, auction_id, bearer, host, f"http://{host}"))[0] == 101
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        r = await client.get("/api/auctions", headers={"host": "evil.example"})
        assert (r.status_code, r.json()["error"]) == (421, "host_not_allowed")
        assert (await client.get("/healthz", headers={"host": f"localhost:{port}"})).status_code == 200

    named = server_factory("named", env={"BIDSERVER_ALLOWED_HOSTS": "auction.example,127.0.0.1"})
    _, auction_id = await create_auction(named, auction_config(), suppliers={S1: "Alpha"})
    host = f"auction.example:{named.port}"
    assert (await _raw_handshake(named, auction_id, bearer, host, f"https://{host}"))[0] == 101
    status, _ = await _raw_handshake(named, auction_id, bearer, f"localhost:{named.port}", None)
    assert status == 421  # configured hosts replace the default


async def test_live_room_sockets_are_capped_per_user_and_freed_when_closed(server_factory):
    server = server_factory(env={"BIDSERVER_MAX_SOCKETS_PER_USER": "2"})
    _, auction_id = await create_auction(server, auction_config(), suppliers={S1: "Alpha"})
    url = server.ws_url(auction_id)
    first = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    second = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    # A third socket of the same user is refused at the handshake, with a fresh token too...
    fresh = mint_token(JWT_KEY, role="supplier", party=S1, ttl_s=60)
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(url, additional_headers={"authorization": f"Bearer {fresh}"}, open_timeout=5):
            pass
    response = refused.value.response
    assert response.status_code == 429
    assert msgspec.json.decode(response.body)["error"] == "too_many_connections"
    # ...while another user of the same organisation, and the buyer, have their own allowance.
    colleague_token = mint_token(JWT_KEY, role="supplier", party=S1, user="colleague")
    colleague = await LiveClient(server, auction_id, colleague_token).connect()
    buyer = await LiveClient(server, auction_id, token("buyer", BUYER)).connect()
    # A socket that closes gives its place back.
    await first.close()

    async def third_accepted() -> LiveClient | None:
        try:
            return await LiveClient(server, auction_id, token("supplier", S1)).connect()
        except websockets.InvalidStatus as exc:
            assert exc.response.status_code == 429
            return None

    third = await wait_until(third_accepted, 10, "the closed socket's place", poll=0.05)
    for client in (second, third, colleague, buyer):
        await client.close()


async def test_suppliers_cannot_act_as_buyers_or_bid_uninvited(server):
    buyer_api, auction_id = await create_auction(server, auction_config(), suppliers={S1: "Alpha"})
    assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    supplier_api = Api(server, token("supplier", S1))
    for path, body in [
        ("pause", {"reason": "x"}),
        ("extend", {"by_ms": 60000}),
        ("cancel", {"reason": "x"}),
        ("invitations", {"supplier": S2}),
    ]:
        r = await supplier_api.call("POST", f"/api/auctions/{auction_id}/{path}", body)
        assert (r.status_code, r.json()["error"]) == (403, "forbidden"), path
    r = await supplier_api.call("GET", f"/api/auctions/{auction_id}/results.csv")
    assert r.status_code == 403
    stranger = Api(server, token("supplier", S2))
    r = await stranger.call(
        "POST", f"/api/auctions/{auction_id}/bids", {"bid_id": "x1", "lot_id": "L1", "amount": 90000}
    )
    assert (r.status_code, r.json()["error"]) == (404, "unknown_auction")
    # A supplier may not bid in another supplier's name.
    client = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    forged = await client.bid("L1", 95000, on_behalf_of=S2)
    assert forged["reason"] == "forbidden"
    await client.close()


@ON_BOTH_BACKENDS
async def test_duplicate_bid_id_makes_one_bid(server):
    buyer_api, auction_id = await create_auction(server, auction_config(), suppliers={S1: "Alpha"})
    assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    client = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    first = await client.bid("L1", 99000, "same-id")
    again = await client.bid("L1", 99000, "same-id")
    assert first["status"] == again["status"] == "accepted"
    assert again["duplicate"] is True and again["seq"] == first["seq"]
    changed = await client.bid("L1", 98000, "same-id")
    assert changed["reason"] == "duplicate_bid_id"
    over_http = await Api(server, token("supplier", S1)).call(
        "POST", f"/api/auctions/{auction_id}/bids", {"bid_id": "same-id", "lot_id": "L1", "amount": 99000}
    )
    assert over_http.status_code == 200 and over_http.json()["duplicate"] is True
    bids = (await buyer_api.call("GET", f"/api/auctions/{auction_id}/bids")).json()["bids"]
    assert [b["bid_id"] for b in bids] == ["same-id"]
    await client.close()


@ON_BOTH_BACKENDS
async def test_buyer_bids_on_behalf_and_voids(server):
    buyer_api, auction_id = await create_auction(server, auction_config())
    assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    s1 = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    s2 = await LiveClient(server, auction_id, token("supplier", S2)).connect()
    assert (await s1.bid("L1", 99000))["status"] == "accepted"
    r = await buyer_api.call(
        "POST", f"/api/auctions/{auction_id}/bids",
        {"bid_id": "phone-1", "lot_id": "L1", "amount": 95000, "on_behalf_of": S2},
    )
    assert r.status_code == 201, r.text
    await s1.wait_view(lambda v: v["lots"][0]["your_rank"] == 2)
    r = await buyer_api.call(
        "POST", f"/api/auctions/{auction_id}/bids/phone-1/void", {"reason": "typed 95000 for 59000"}
    )
    assert r.status_code == 200, r.text
    await s1.wait_view(lambda v: v["lots"][0]["your_rank"] == 1)
    voided = await s1.wait_for(
        lambda m: m["type"] == "update" and any(e["type"] == "bid_voided" for e in m["events"])
    )
    event = next(e for e in voided["events"] if e["type"] == "bid_voided")
    assert S2 not in str(event) and "bid_id" not in event
    history = (await buyer_api.call("GET", f"/api/auctions/{auction_id}/bids")).json()["bids"]
    phone = next(b for b in history if b["bid_id"] == "phone-1")
    assert phone["entered_by"] == BUYER and phone["voided"] is True
    await s1.close()
    await s2.close()
