"""An auction whose journal was edited by hand in Redis (one entry altered, removed, or two
swapped) is refused at recovery with an error naming the entry; the others start as usual; the
edges answer ``journal_broken`` and /metrics counts it (the log names it)."""

from __future__ import annotations

import logging

import msgspec
import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse

from bidserver.app import build_app
from bidserver.auth import mint_token
from bidserver.config import Settings
from bidserver.engine.formats import FORMATS
from bidserver.engine.reverse.commands import InviteSupplier, PlaceBid, StartAuction
from bidserver.runtime.journaling import ChainBroken
from bidserver.runtime.registry import Rooms
from bidserver.store.journal import MemoryJournal
from bidserver.store.redis_journal import RedisJournal

from ..store.conftest import rewrite_stream

from .support import BUYER, S1, S2, clock, config

CONFIG = config(title="Chain")
KEY = "chain-recovery-test-key-0123456789abcdef"



async def two_auctions(journal) -> tuple[str, str]:
    """Two open auctions with bids: entries 1 created, 2-3 invited, 4 opened, 5-6 bids."""
    rooms = Rooms(journal, clock, FORMATS)
    ids = []
    for _ in range(2):
        auction, result = await rooms.create(BUYER, CONFIG)
        assert result.ok
        for command in (
            InviteSupplier(actor=BUYER, at=0, supplier="s1"),
            InviteSupplier(actor=BUYER, at=0, supplier="s2"),
            StartAuction(actor=BUYER, at=0),
            PlaceBid(actor=S1, at=0, lot_id="L1", amount=9_000, bid_id="b1"),
            PlaceBid(actor=S2, at=0, lot_id="L1", amount=8_000, bid_id="b2"),
        ):
            assert (await auction.submit(command)).ok
        ids.append(auction.auction_id)
    await rooms.close()
    return ids[0], ids[1]


def altered(stored):
    envelope = msgspec.json.decode(stored[5][b"e"])
    envelope["event"]["amount"] = 1  # a cheaper bid, hash fields left as they were
    return {**stored, 5: {**stored[5], b"e": msgspec.json.encode(envelope)}}


def removed(stored):
    return {seq: fields for seq, fields in stored.items() if seq != 4}


def swapped(stored):
    return {**stored, 5: stored[6], 6: stored[5]}


@pytest.mark.parametrize(
    ("edit", "entry", "why"),
    [(altered, 5, "was altered"), (removed, 4, "is missing"), (swapped, 5, "holds the envelope of entry 6")],
)
async def test_recovery_refuses_an_edited_auction_naming_the_entry(
    redis_server, caplog, edit, entry, why
):
    journal = RedisJournal(redis_server.url)
    await journal.connect()
    edited, intact = await two_auctions(journal)
    await rewrite_stream(journal.redis, journal.stream_key(edited), edit)

    rooms = Rooms(journal, clock, FORMATS)
    with caplog.at_level(logging.ERROR, logger="bidserver.runtime.registry"):
        assert await rooms.recover() == 1
    assert [a.auction_id for a in rooms] == [intact]
    assert f"entry {entry} {why}" in rooms.refused[edited]
    assert f"auction {edited} refused" in caplog.text and f"entry {entry}" in caplog.text
    with pytest.raises(ChainBroken) as refused:  # asked for later: refused again, never misread
        await rooms.get(edited)
    assert refused.value.seq == entry
    await rooms.close()
    await journal.close()


def test_the_edges_answer_journal_broken_and_the_metrics_count_it(tmp_path, caplog):
    journal = MemoryJournal()  # it outlives each app: the second start reads what the first wrote
    settings = Settings(jwt_key=KEY, data_dir=tmp_path, allowed_hosts=("testserver",), redis_url="memory://",
                        metrics_token="m")
    buyer = {"authorization": f"Bearer {mint_token(KEY, role='buyer', party='org-b')}"}
    with TestClient(build_app(settings, journal=journal)) as client:
        edited, _ = client.portal.call(two_auctions, journal)
        entries = client.portal.call(journal.read, edited)
    envelope = msgspec.json.decode(entries[4][1])
    envelope["event"]["amount"] = 1  # entry 5, edited by hand
    journal.replace(edited, 5, msgspec.json.encode(envelope))

    with TestClient(build_app(settings, journal=journal)) as client:
        answer = client.get(f"/api/auctions/{edited}", headers=buyer)
        assert answer.status_code == 503 and answer.json()["error"] == "journal_broken"
        scraped = client.get("/metrics", headers={"authorization": "Bearer m"}).text
        assert "\nbidserver_auctions_refused 1.0\n" in scraped
        named = [r for r in caplog.records if getattr(r, "auction_id", None) == edited]
        assert any("entry 5 was altered" in r.getMessage() for r in named)
        with pytest.raises(WebSocketDenialResponse) as denied:  # the live room's handshake too
            with client.websocket_connect(f"/ws/auctions/{edited}", headers=buyer):
                pass
        assert denied.value.status_code == 503
        assert denied.value.json()["error"] == "journal_broken"
