"""Durable storage of auction events: the journal port (``journal``), its Redis streams
implementation (``redis_journal``), the hash chain its entries form (``chain``), the awards
stream contract (``awards``), the auction listing (``listing``, ``redis_listing``) and a
supervised local Redis (``embedded``). Only the journal port is re-exported here, so importing it
stays cheap."""

from .journal import (
    AppendRequest,
    AwardRecord,
    Journal,
    JournalArchived,
    JournalChainMismatch,
    JournalConflict,
    JournalError,
    JournalNotDurable,
    JournalUnavailable,
    MemoryJournal,
)

__all__ = [
    "AppendRequest",
    "AwardRecord",
    "Journal",
    "JournalArchived",
    "JournalChainMismatch",
    "JournalConflict",
    "JournalError",
    "JournalNotDurable",
    "JournalUnavailable",
    "MemoryJournal",
]
