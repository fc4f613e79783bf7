"""The chain hashes of journal entries, read back for receipts: from Redis, or from the archive
once the auction left it; an entry altered since it was written is refused, never named."""

from __future__ import annotations

import msgspec
import pytest

from bidserver.engine.formats import FORMATS
from bidserver.runtime.archiver import archive_finished
from bidserver.runtime.entry_hashes import entry_hashes
from bidserver.runtime.journaling import ChainBroken
from bidserver.runtime.registry import Rooms
from bidserver.store.archive import ArchiveError, Archives
from bidserver.store.chain import Envelope
from bidserver.store.journal import MemoryJournal

from .support import clock
from .test_archiver import two_auctions


async def stored_hashes(journal, auction_id: str) -> dict[int, str]:
    return {seq: msgspec.json.decode(data, type=Envelope).hash
            for seq, data in await journal.read(auction_id)}


async def test_the_hashes_are_the_journals_and_then_the_archives(tmp_path):
    journal, archives = MemoryJournal(), Archives(tmp_path / "archive")
    rooms, finished, running = await two_auctions(journal, archives)
    stored = await stored_hashes(journal, finished)
    auction = rooms._rooms[finished]
    assert await entry_hashes(journal, archives, auction, [4, 2]) == {2: stored[2], 4: stored[4]}
    assert await entry_hashes(journal, archives, auction, []) == {}
    await rooms.close()

    assert await archive_finished(journal, archives, clock) == 1
    again = Rooms(journal, clock, FORMATS, archives=archives)
    auction = await again.get(finished)
    assert await entry_hashes(journal, archives, auction, [1, 5]) == {1: stored[1], 5: stored[5]}
    with pytest.raises(ArchiveError):
        await entry_hashes(journal, None, auction, [1])
    await again.close()


async def test_an_altered_entry_is_refused(tmp_path):
    journal = MemoryJournal()
    rooms, finished, _ = await two_auctions(journal, None)
    auction = rooms._rooms[finished]
    seq, data = (await journal.read(finished))[1]
    journal.replace(finished, seq, data.replace(b'"s1"', b'"s2"'))
    with pytest.raises(ChainBroken):
        await entry_hashes(journal, None, auction, [seq])
    await rooms.close()
