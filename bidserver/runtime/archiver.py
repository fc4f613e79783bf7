"""Archiving finished auctions: their journals leave Redis for files, verified by their chain.

Why: Redis holds every journal in memory; a platform that runs thousands of auctions a day would
grow it for ever. A finished auction (``Format.finished``: nothing more will happen to it) is
written to the archive directory (``store.archive``: the whole chain verified before and after the
write, fsynced), then trimmed from Redis in one atomic step that first checks nothing was appended
since (``Journal.trim_archived``). What stays in Redis per archived auction is its id in the
indexes and the archive's head hash (a few hundred bytes, measured in docs/performance.md); its
listing entry stays too. Reading it later loads it from the archive, checking the file's chain
and that its head is the one Redis recorded (``runtime.snapshots.load``).

Every step is idempotent, so several processes may archive at once and a crash at any point is
finished by the next pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..store.archive import Archives
from ..store.journal import Journal

log = logging.getLogger(__name__)


async def archive_finished(journal: Journal, archives: Archives, now_ms: Callable[[], int]) -> int:
    """Archive and trim every finished auction still in Redis; returns how many were."""
    unfinished = set(await journal.unfinished_ids())
    archived = 0
    for auction_id in await journal.auction_ids():
        if auction_id in unfinished or await journal.archived(auction_id) is not None:
            continue
        entries = await journal.read(auction_id)  # durable: only what a crash cannot undo
        if not entries:
            continue
        manifest = await asyncio.to_thread(
            archives.write, auction_id, entries, archived_at=now_ms()
        )
        await journal.trim_archived(auction_id, manifest.head_seq, manifest.head_hash)
        log.info("archived auction %s (%d entries) to %s", auction_id, manifest.entries,
                 archives.entries_path(auction_id))
        archived += 1
    return archived


async def archive_forever(
    journal: Journal, archives: Archives, now_ms: Callable[[], int], every_s: float
) -> None:
    """A pass every ``every_s``; a failed pass (Redis away, a broken chain) is logged and the
    next one tries again (an auction whose chain is broken stays in Redis, never archived)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await archive_finished(journal, archives, now_ms)
        except Exception as exc:
            log.warning("archiving finished auctions failed: %s", exc)
