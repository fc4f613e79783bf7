"""``bidserver serve`` on a replicated Redis (a master and its replica on loopback): it starts
without the single-machine flag, and what it acknowledges is on the replica already, so the
master's machine can be lost without losing it."""

from __future__ import annotations

import pytest

from ..store.servers import replicated
from .conftest import auction_config, create_auction
from .harness import ServerProcess, journal_events

pytestmark = pytest.mark.slow


async def test_what_serve_acknowledges_is_on_the_replica(tmp_path):
    with replicated(tmp_path / "redis") as (master, [replica]):
        server = ServerProcess(master.url, tmp_path / "server", single_machine=False)
        server.start()
        try:
            assert server.metrics().value("bidserver_journal_replicas") == 1
            buyer, auction_id = await create_auction(server, auction_config(title="Replicated"))
            started = await buyer.call("POST", f"/api/auctions/{auction_id}/start")
            assert started.status_code == 200, started.text
            # Read on the replica at once, with no waiting: the answers were acknowledgements.
            on_master = await journal_events(master.url, auction_id)
            on_replica = await journal_events(replica.url, auction_id)
            assert len(on_master) >= 2 and on_replica == on_master
        finally:
            server.stop()
