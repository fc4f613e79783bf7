"""A live-room socket does not outlive its token: closed with 4401 ``expired_token`` when the
handshake would start refusing the token; the client comes back with a fresh one and ``?since=``
and misses nothing. Over real sockets on a real server."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest
import websockets
from websockets.asyncio.client import connect

from bidserver.auth import LEEWAY_S, mint_token

from .conftest import SUPPLIERS, auction_config, create_auction
from .harness import JWT_KEY, LiveClient, token

S1 = next(iter(SUPPLIERS))


def short_token(party: str) -> tuple[str, float]:
    """A token the server refuses 1-2 s from now, and that instant (epoch seconds). ``exp`` is in
    the past already: the server tolerates ``LEEWAY_S`` of clock skew past it."""
    now = int(time.time())
    exp = now + 2 - LEEWAY_S
    return mint_token(JWT_KEY, role="supplier", party=party, ttl_s=2, now=now - LEEWAY_S), exp + LEEWAY_S


async def test_an_expired_token_closes_its_socket_and_the_client_resumes(server):
    buyer_api, auction_id = await create_auction(server, auction_config(), suppliers={S1: "Alpha"})
    assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    watcher = await LiveClient(server, auction_id, token("supplier", S1)).connect()  # 8 h token

    bearer, refused_at = short_token(S1)
    url = server.ws_url(auction_id)
    async with connect(url, additional_headers={"authorization": f"Bearer {bearer}"}, open_timeout=5) as ws:
        welcome = msgspec.json.decode(await asyncio.wait_for(ws.recv(), 5))
        assert welcome["type"] == "welcome"
        last_seq = welcome["seq"]
        await asyncio.wait_for(ws.wait_closed(), 10)
        closed_at = time.time()
    assert (ws.close_code, ws.close_reason) == (4401, "expired_token")
    assert closed_at >= refused_at - 0.05  # not before the token stopped being valid

    # Meanwhile the other socket (a long-lived token) stays: it still gets what happens.
    r = await buyer_api.call("POST", f"/api/auctions/{auction_id}/extend", {"by_ms": 60_000})
    assert r.status_code == 200, r.text
    await watcher.wait_for(lambda m: m["type"] == "update" and any(
        e["type"] == "lot_extended" for e in m["events"]))

    # The same token is refused now; a fresh one resumes from the last seq, missing nothing.
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(url, additional_headers={"authorization": f"Bearer {bearer}"}, open_timeout=5):
            pass
    assert refused.value.response.status_code == 401
    assert msgspec.json.decode(refused.value.response.body)["error"] == "expired_token"
    resumed = await LiveClient(server, auction_id, token("supplier", S1)).connect(since=last_seq)
    catch_up = await resumed.wait_for(lambda m: m["type"] == "update")
    assert catch_up["first_seq"] == last_seq + 1
    assert [e["type"] for e in catch_up["events"]] == ["lot_extended"]
    await resumed.close()
    await watcher.close()
