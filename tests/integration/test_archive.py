"""A real server archives a finished auction out of Redis, and serves it from the archive after a
restart: the same view, still listed."""

from __future__ import annotations

import redis.asyncio as aioredis

from .conftest import BUYER, auction_config, create_auction
from .harness import JOURNAL_PREFIX, Api, token, wait_until


async def test_a_finished_auction_is_archived_and_served_after_a_restart(server_factory, redis_server):
    server = server_factory(env={"BIDSERVER_ARCHIVE_EVERY_S": "0.2"})
    buyer, auction_id = await create_auction(server, auction_config())
    assert (await buyer.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    cancelled = await buyer.call("POST", f"/api/auctions/{auction_id}/cancel", {"reason": "no budget"})
    assert cancelled.status_code == 200, cancelled.text
    before = (await buyer.call("GET", f"/api/auctions/{auction_id}")).json()

    redis = aioredis.from_url(redis_server.url)
    try:
        stream = f"{JOURNAL_PREFIX}:auction:{auction_id}"

        async def trimmed() -> bool:
            return not await redis.exists(stream) and await redis.hexists(
                f"{JOURNAL_PREFIX}:archived", auction_id)

        await wait_until(trimmed, 15, "the auction archived and trimmed from Redis")
    finally:
        await redis.aclose()
    assert (server.data_dir / "archive" / f"{auction_id}.jsonl.gz").exists()

    server.kill9()
    server.start()
    after = Api(server, token("buyer", BUYER))
    assert (await after.call("GET", f"/api/auctions/{auction_id}")).json() == before
    listed = (await after.call("GET", "/api/auctions")).json()["auctions"]
    assert [(i["auction_id"], i["phase"]) for i in listed] == [(auction_id, "cancelled")]
