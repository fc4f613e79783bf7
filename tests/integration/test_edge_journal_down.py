"""Redis away while an auction must be read from it (not loaded in this process yet): the API
answers 503 ``journal_unavailable`` in JSON and the live room refuses its handshake the same way;
once Redis is back both work. And the framework's own errors are JSON on the real server too."""

from __future__ import annotations

import msgspec
import pytest
import websockets
from websockets.asyncio.client import connect

from .conftest import SUPPLIERS, auction_config, create_auction
from .harness import Api, LiveClient, token

S1 = next(iter(SUPPLIERS))


async def test_journal_down_before_an_auction_is_loaded(server, redis_server):
    buyer_api, auction_id = await create_auction(server, auction_config(), suppliers={S1: "Alpha"})
    base = f"/api/auctions/{auction_id}"
    assert (await buyer_api.call("POST", f"{base}/cancel", {"reason": "re-tender"})).status_code == 200
    server.stop()
    server.start()  # a cancelled auction is finished: loaded on demand, not at start

    redis_server.stop()
    r = await buyer_api.call("GET", base)
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json", r.text
    assert r.json()["reason"] == "journal_unavailable"
    supplier_api = Api(server, token("supplier", S1))
    r = await supplier_api.call("POST", f"{base}/bids", {"bid_id": "b1", "lot_id": "L1", "amount": 99000})
    assert (r.status_code, r.json()["bid_id"], r.json()["reason"]) == (503, "b1", "journal_unavailable")
    headers = {"authorization": f"Bearer {token('supplier', S1)}"}
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(server.ws_url(auction_id), additional_headers=headers, open_timeout=5):
            pass
    assert refused.value.response.status_code == 503
    assert refused.value.response.headers["content-type"] == "application/problem+json"
    assert msgspec.json.decode(refused.value.response.body)["reason"] == "journal_unavailable"

    redis_server.start()
    r = await buyer_api.call("GET", base)
    assert (r.status_code, r.json()["view"]["phase"]) == (200, "cancelled")
    client = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    await client.close()


async def test_framework_errors_are_json_on_the_real_server(server):
    api = Api(server, token("buyer", "org-x"))
    r = await api.call("GET", "/api/nothing-here")
    assert (r.status_code, r.headers["content-type"], r.json()["reason"]) == (
        404, "application/problem+json", "not_found")
    r = await api.call("PUT", "/api/auctions")
    assert (r.status_code, r.json()["reason"]) == (405, "method_not_allowed")
    assert r.headers["allow"] == "GET, HEAD, POST"
