"""The chain hashes of an auction's journal entries, read back: what a tender's receipt names.

A receipt names the journal entry that recorded a bid by its chain hash (``store.chain``), never by
its seq, which counts the tender's events (``sealing.receipts``). The room knows only the hash of
the last entry (``Auction.head``), and the format's state knows the seqs, so the hashes are read
back from the journal (or, once it left Redis, from the auction's archive) and recomputed
(``verify``): the hash signed is the one ``bidserver audit export`` shows, and a command's answer
and a later request for the same receipt read the same entry. The run read must chain to the head
the auction holds, so an entry altered in Redis since the auction was loaded is never signed for.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..store.archive import Archives
from ..store.chain import ChainBroken, verify
from ..store.journal import Journal
from .auction import Auction
from .journaling import announced_prev
from .snapshots import archived_entries


async def entry_hashes(
    journal: Journal, archives: Archives | None, auction: Auction, seqs: Iterable[int]
) -> dict[int, str]:
    """seq -> chain hash of each of ``seqs`` (durable entries of ``auction``). Raises the
    journal's and the archive's errors, and ``ChainBroken`` for entries that do not verify or do
    not lead to the auction's head."""
    wanted = set(seqs)
    if not wanted:
        return {}
    head = auction.head  # taken before the read: every entry up to it is in what is read
    first = min(wanted)
    entries = await journal.read(auction.auction_id, after_seq=first - 1)
    if not entries:  # archived: the whole chain is in its file
        entries = [(seq, data) for seq, data in await archived_entries(journal, archives, auction.auction_id)
                   if seq >= first]
    if not entries or entries[0][0] != first:
        raise ChainBroken(auction.auction_id, first, "is not in the journal")
    envelopes = verify(auction.auction_id, entries, after_seq=first - 1,
                       after_hash=announced_prev(entries[0][1]))
    hashes = {envelope.seq: envelope.hash for envelope in envelopes}
    if hashes.get(head.seq) != head.hash:
        raise ChainBroken(auction.auction_id, head.seq, "does not match the auction's chain head")
    missing = wanted - hashes.keys()
    if missing:
        raise ChainBroken(auction.auction_id, min(missing), "is not in the journal")
    return {seq: hashes[seq] for seq in wanted}
