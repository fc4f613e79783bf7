"""Limits at the HTTP edge: sizes of client-controlled strings, and the bid rate per principal.

Whatever is refused must change nothing: no journal write, no event, no bid in the history.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from bidserver.app import build_app
from bidserver.config import Settings
from bidserver.store.journal import MemoryJournal
from bidserver.ratelimit import BucketsByKey

from .test_api import BUYER, CONFIG, KEY, auth, create

S1, S2 = auth("supplier", "s1"), auth("supplier", "s2")


def _client(journal, tmp_path, **settings):
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",), redis_url="memory://", **settings)
    return TestClient(build_app(settings, journal=journal))


def _open_auction(client) -> str:
    auction_id = create(client)
    base = f"/api/auctions/{auction_id}"
    for supplier in ("s1", "s2"):
        assert client.post(f"{base}/invitations", json={"supplier": supplier}, headers=BUYER).status_code == 200
    assert client.post(f"{base}/start", headers=BUYER).status_code == 200
    return base


def _seq(client, base) -> int:
    return client.get(base, headers=BUYER).json()["seq"]


def _bid(client, base, headers, bid_id, amount=49000, **extra):
    body = {"bid_id": bid_id, "lot_id": "L1", "amount": amount, **extra}
    return client.post(f"{base}/bids", json=body, headers=headers)


def _bad_request(response) -> str:
    assert (response.status_code, response.json()["error"]) == (400, "bad_request"), response.text
    return response.json()["detail"]


def test_an_oversized_bid_id_is_refused_and_changes_nothing(tmp_path):
    journal = MemoryJournal()
    with _client(journal, tmp_path) as client:
        base = _open_auction(client)
        seq, writes = _seq(client, base), journal.append_calls
        detail = _bad_request(_bid(client, base, S1, "x" * 200_000))
        assert "length" in detail and "bid_id" in detail
        _bad_request(_bid(client, base, S1, ""))
        _bad_request(_bid(client, base, S1, "x" * 65))
        _bad_request(_bid(client, base, S1, "b1", lot_id="L" * 65))
        _bad_request(_bid(client, base, BUYER, "b2", on_behalf_of="s" * 65))
        assert (_seq(client, base), journal.append_calls) == (seq, writes)
        assert client.get(f"{base}/bids", headers=BUYER).json()["bids"] == []
        assert _bid(client, base, S1, "x" * 64).status_code == 201  # the limit itself is fine


LONG_ID, LONG_NAME, LONG_TEXT = "i" * 65, "n" * 201, "t" * 1001


@pytest.mark.parametrize(
    "config",
    [
        dict(CONFIG, title=LONG_NAME),
        dict(CONFIG, title=""),
        dict(CONFIG, currency="EURO"),
        dict(CONFIG, lots=[{"lot_id": LONG_ID, "title": "x", "ceiling": 1}]),
        dict(CONFIG, lots=[{"lot_id": "", "title": "x", "ceiling": 1}]),
        dict(CONFIG, lots=[{"lot_id": "L1", "title": LONG_NAME, "ceiling": 1}]),
        dict(CONFIG, lots=[{"lot_id": "L1", "title": "x", "unit": "u" * 33, "ceiling": 1}]),
    ],
)
def test_oversized_configurations_are_refused(tmp_path, config):
    journal = MemoryJournal()
    with _client(journal, tmp_path) as client:
        _bad_request(client.post("/api/auctions", json={"config": config}, headers=BUYER))
        assert journal.append_calls == 0
        draft = create(client)
        _bad_request(client.put(f"/api/auctions/{draft}/config", json={"config": config}, headers=BUYER))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("invitations", {"supplier": LONG_ID}),
        ("invitations", {"supplier": ""}),
        ("invitations", {"supplier": "s3", "name": LONG_NAME}),
        ("pause", {"reason": LONG_TEXT}),
        ("cancel", {"reason": LONG_TEXT}),
        ("extend", {"by_ms": 1000, "lot_id": LONG_ID}),
        ("extend", {"by_ms": 1000, "reason": LONG_TEXT}),
        ("lots/L1/award", {"bid_id": LONG_ID}),
        ("lots/L1/award", {"reason": LONG_TEXT}),
        ("bids/b1/void", {"reason": LONG_TEXT}),
    ],
)
def test_oversized_strings_in_buyer_commands_are_refused(tmp_path, path, body):
    journal = MemoryJournal()
    with _client(journal, tmp_path) as client:
        base = _open_auction(client)
        assert _bid(client, base, S1, "b1").status_code == 201
        seq, writes = _seq(client, base), journal.append_calls
        _bad_request(client.post(f"{base}/{path}", json=body, headers=BUYER))
        assert (_seq(client, base), journal.append_calls) == (seq, writes)


def test_the_openapi_document_states_the_limits(tmp_path):
    with _client(MemoryJournal(), tmp_path) as client:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
    bid_id = schemas["BidBody"]["properties"]["bid_id"]
    assert (bid_id["minLength"], bid_id["maxLength"]) == (1, 64)
    assert schemas["AuctionConfig"]["properties"]["title"]["maxLength"] == 200
    assert schemas["AuctionConfig"]["properties"]["currency"]["maxLength"] == 3
    assert schemas["LotSpec"]["properties"]["lot_id"]["maxLength"] == 64
    assert schemas["ReasonBody"]["properties"]["reason"]["maxLength"] == 1000
    assert schemas["InviteBody"]["properties"]["name"]["maxLength"] == 200


# ------------------------------------------------------------------------------ rate


def test_http_bids_share_the_live_rooms_limit_per_principal(tmp_path):
    """The bucket refills at 1 per 1000 s here: what a test sees within a second is the burst."""
    journal = MemoryJournal()
    with _client(journal, tmp_path, rate_limit_per_s=0.001, rate_limit_burst=2) as client:
        base = _open_auction(client)
        assert _bid(client, base, S1, "b1", 49000).status_code == 201
        assert _bid(client, base, S1, "b2", 48000).status_code == 201
        seq, writes = _seq(client, base), journal.append_calls
        r = _bid(client, base, S1, "b3", 47000)
        assert r.status_code == 429
        body = r.json()
        assert (body["type"], body["bid_id"], body["status"], body["reason"]) == (
            "bid_result", "b3", "rejected", "rate_limited")
        # When to resend is the bucket's own: one token at 0.001 per second is ~1000 s away.
        assert 990_000 < body["retry_after_ms"] <= 1_000_000
        assert r.headers["retry-after"] == str(-(-body["retry_after_ms"] // 1000))
        assert (_seq(client, base), journal.append_calls) == (seq, writes)  # nothing happened
        # Another principal has its own bucket; the same supplier id in another role too.
        assert _bid(client, base, S2, "c1", 46000).status_code == 201
        assert _bid(client, base, BUYER, "p1", 45000, on_behalf_of="s1").status_code == 201
        assert [b["bid_id"] for b in client.get(f"{base}/bids", headers=BUYER).json()["bids"]] == [
            "b1", "b2", "c1", "p1"]
        # Other requests are not bids: not limited by it.
        for _ in range(5):
            assert client.get(base, headers=S1).status_code == 200


def test_the_buckets_by_principal_are_bounded():
    buckets = BucketsByKey(0.001, 1, capacity=2)
    assert buckets.take("a") and buckets.take("b")
    assert not buckets.take("a")  # a used: now the most recent
    assert buckets.take("c") and len(buckets) == 2  # b, the least recently used, went
    assert not buckets.take("a") and not buckets.take("c")
    assert buckets.take("b")  # evicted, so it starts full again; a goes out now
    assert len(buckets) == 2


def test_a_body_past_the_limit_is_refused_before_it_is_buffered(tmp_path):
    """Declared (content-length): 413 message_too_big at once, nothing written."""
    from bidserver.http.routes import MAX_BODY

    journal = MemoryJournal()
    with _client(journal, tmp_path) as client:
        base = _open_auction(client)
        before = _seq(client, base)
        big = b'{"bid_id": "b1", "lot_id": "L1", "amount": 49000, "pad": "' + b"x" * MAX_BODY + b'"}'
        r = client.post(f"{base}/bids", content=big, headers=S1)
        assert (r.status_code, r.json()["error"]) == (413, "message_too_big")
        assert _seq(client, base) == before


async def test_an_endless_streamed_body_is_cut_off_past_the_limit():
    """Chunked, no length: reading stops past the limit (a client cannot make the server buffer
    an endless body); the old ``request.body()`` never returned."""
    import asyncio

    from starlette.requests import Request

    from bidserver.http.routes import MAX_BODY, ApiError, _read_bounded

    received = 0

    async def receive():
        nonlocal received
        received += 65536
        return {"type": "http.request", "body": b" " * 65536, "more_body": True}

    request = Request({"type": "http", "method": "POST", "headers": [], "path": "/"}, receive)
    with pytest.raises(ApiError) as info:
        await asyncio.wait_for(_read_bounded(request), 5)
    assert info.value.status == 413 and received <= MAX_BODY + 65536
