"""Finished auctions leave Redis for verified archive files and are read back from them."""

from __future__ import annotations

import asyncio
import gzip
import json

import msgspec
import pytest
from click.testing import CliRunner

from bidserver import cli
from bidserver.engine.formats import FORMATS
from bidserver.engine.reverse import state_bytes
from bidserver.engine.reverse.commands import CancelAuction, InviteSupplier, PlaceBid, StartAuction
from bidserver.runtime.archiver import archive_finished
from bidserver.runtime.journaling import ChainBroken
from bidserver.runtime.registry import LOAD_ERRORS, Rooms
from bidserver.store.archive import Archives
from bidserver.store.journal import MemoryJournal
from bidserver.store.redis_journal import RedisJournal

from .support import BUYER, S1, clock, config

CONFIG = config(title="Archive")



async def two_auctions(journal, archives) -> tuple[Rooms, str, str]:
    """One cancelled (finished) after bids, one still open."""
    rooms = Rooms(journal, clock, FORMATS, archives=archives)
    ids = []
    for cancel in (True, False):
        auction, result = await rooms.create(BUYER, CONFIG)
        assert result.ok
        commands = [InviteSupplier(actor=BUYER, at=0, supplier="s1"), StartAuction(actor=BUYER, at=0),
                    PlaceBid(actor=S1, at=0, lot_id="L1", amount=9_000, bid_id="b1")]
        if cancel:
            commands.append(CancelAuction(actor=BUYER, at=0, reason="budget withdrawn"))
        for command in commands:
            assert (await auction.submit(command)).ok
        await auction.listed()  # marked finished once listed
        ids.append(auction.auction_id)
    return rooms, ids[0], ids[1]


@pytest.fixture(params=["memory", "redis"])
async def journal(request):
    if request.param == "memory":
        yield MemoryJournal()
        return
    journal = RedisJournal(request.getfixturevalue("redis_server").url)
    await journal.connect()
    yield journal
    await journal.close()


async def test_a_finished_auction_is_archived_trimmed_and_read_back(journal, tmp_path):
    archives = Archives(tmp_path / "archive")
    rooms, finished, running = await two_auctions(journal, archives)
    expected = state_bytes(rooms._rooms[finished].state)
    await rooms.close()

    assert await archive_finished(journal, archives, clock) == 1
    assert await journal.read(finished) == [] and await journal.read(running) != []
    assert (await journal.archived(finished))[0] == 5  # created, invited, opened, bid, cancelled
    assert await archive_finished(journal, archives, clock) == 0  # done once

    again = Rooms(journal, clock, FORMATS, archives=archives)  # a restart
    auction = await again.get(finished)
    assert state_bytes(auction.state) == expected
    assert (await auction.submit(PlaceBid(actor=S1, at=0, lot_id="L1", amount=9_000,
                                          bid_id="b1"))).receipt.seq == 4  # answered from it
    await again.close()


async def test_an_archive_that_is_not_what_redis_recorded_is_refused(tmp_path):
    journal, archives = MemoryJournal(), Archives(tmp_path / "archive")
    rooms, finished, _ = await two_auctions(journal, archives)
    await rooms.close()
    await archive_finished(journal, archives, clock)

    path = archives.entries_path(finished)
    lines = gzip.decompress(path.read_bytes()).splitlines()
    envelope = json.loads(lines[3])
    envelope["event"]["amount"] = 1  # entry 4, the bid, made cheaper
    lines[3] = msgspec.json.encode(envelope)
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    with pytest.raises(ChainBroken) as broken:
        await Rooms(journal, clock, FORMATS, archives=archives).get(finished)
    assert broken.value.seq == 4

    path.unlink()
    with pytest.raises(LOAD_ERRORS):  # missing: unavailable, never "no such auction"
        await Rooms(journal, clock, FORMATS, archives=archives).get(finished)


def test_replay_reads_and_verifies_an_archive(redis_server, tmp_path):
    archives = Archives(tmp_path / "archive")

    async def archived() -> str:
        journal = RedisJournal(redis_server.url)
        await journal.connect()
        rooms, finished, _ = await two_auctions(journal, archives)
        await rooms.close()
        await archive_finished(journal, archives, clock)
        await journal.close()
        return finished

    finished = asyncio.run(archived())  # the command runs its own event loop

    runner = CliRunner()
    path = str(archives.entries_path(finished))
    report = runner.invoke(cli.main, ["replay", "--archive", path, "--verify"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.output) | {"head_hash": None, "state_sha256": None} == {
        "auction_id": finished, "format": "reverse_auction", "entries": 5, "head_seq": 5,
        "head_hash": None, "state_sha256": None, "verified": True,
    }
    view = runner.invoke(cli.main, ["replay", "--archive", path])
    assert json.loads(view.output)["phase"] == "cancelled"
    pointed = runner.invoke(cli.main, ["replay", "--redis-url", redis_server.url, finished])
    assert pointed.exit_code == 1 and "is archived" in pointed.output
