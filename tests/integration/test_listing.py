"""GET /api/auctions on real server processes: paginated from the listing index in Redis, the same
after a restart (finished auctions included) and whichever of two workers answers."""

from __future__ import annotations

import pytest

from .conftest import BUYER, SUPPLIERS, auction_config, create_auction
from .harness import Api, ServerProcess, token, wait_until

S1 = next(iter(SUPPLIERS))


async def walk(api: Api, **params) -> list[list[dict]]:
    """Every page of the listing, following ``next_cursor``."""
    pages, cursor = [], None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        suffix = "&".join(f"{k}={v}" for k, v in query.items())
        response = await api.call("GET", "/api/auctions" + (f"?{suffix}" if suffix else ""))
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["auctions"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


async def five_auctions(server: ServerProcess) -> list[str]:
    """Five auctions: two open, one cancelled (finished), two drafts."""
    ids = []
    for i in range(5):
        buyer, auction_id = await create_auction(server, auction_config(title=f"Lot {i}"))
        ids.append(auction_id)
        if i < 2:
            assert (await buyer.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
        if i == 2:
            response = await buyer.call(
                "POST", f"/api/auctions/{auction_id}/cancel", {"reason": "budget withdrawn"}
            )
            assert response.status_code == 200, response.text
    return ids


@pytest.mark.slow
async def test_the_listing_is_paginated_and_survives_a_restart(redis_server, tmp_path):
    server = ServerProcess(redis_server.url, tmp_path / "one")
    server.start()
    try:
        ids = await five_auctions(server)
        buyer = Api(server, token("buyer", BUYER))
        pages = await walk(buyer, limit=2)
        assert [len(page) for page in pages] == [2, 2, 1]
        listed = [item["auction_id"] for page in pages for item in page]
        assert sorted(listed) == sorted(ids) and len(set(listed)) == 5  # each once
        created = [item["created_at"] for page in pages for item in page]
        assert created == sorted(created, reverse=True)  # newest first
        by_id = {item["auction_id"]: item for page in pages for item in page}
        assert by_id[ids[2]]["phase"] == "cancelled" and by_id[ids[0]]["phase"] == "open"
        assert sorted(by_id[ids[0]]["suppliers"]) == sorted(SUPPLIERS)  # the buyer sees who

        opened = await walk(buyer, state="open")
        assert sorted(i["auction_id"] for p in opened for i in p) == sorted(ids[:2])
        supplier = Api(server, token("supplier", S1))
        seen = [item for page in await walk(supplier) for item in page]
        assert len(seen) == 5 and all("suppliers" not in item for item in seen)  # no identities
        stranger = Api(server, token("supplier", "sup-not-invited"))
        assert await walk(stranger) == [[]]
        bad = await buyer.call("GET", "/api/auctions?cursor=not-a-cursor")
        assert bad.status_code == 400 and bad.json()["error"] == "bad_request"

        before = await walk(buyer, limit=2)
        server.kill9()
        server.start()  # the cancelled auction is finished: not replayed, still listed
        assert await walk(Api(server, token("buyer", BUYER)), limit=2) == before
    finally:
        server.stop()


@pytest.mark.slow
async def test_the_listing_is_the_same_whichever_worker_answers(redis_server, tmp_path):
    server = ServerProcess(redis_server.url, tmp_path / "workers", ("--workers", "2"))
    server.start()
    try:
        await five_auctions(server)

        async def both_workers_answered() -> bool:
            # Each request is a new connection, which the kernel gives to either worker; the one
            # that takes a create writes that auction (the metrics' gauges are per worker).
            writers = server.metrics().by("bidserver_auctions_loaded", "pid", mode="writer")
            if sum(1 for n in writers.values() if n) == 2:
                return True
            await create_auction(server, auction_config(title="one more"))
            return False

        await wait_until(both_workers_answered, 10, "both workers answering")
        buyer = Api(server, token("buyer", BUYER))
        reference = await walk(buyer, limit=2)
        answers = [await walk(buyer, limit=2) for _ in range(12)]
        assert all(answer == reference for answer in answers)
    finally:
        server.stop()
