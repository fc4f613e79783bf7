"""The durable events an auction holds in memory: what updates and resumes are listed from.

An auction rebuilt from a snapshot holds only the events after it (``base`` is the snapshot's
seq): replaying the whole history to rebuild a list nobody may ask for would make recovery grow
with history again. A participant resuming from before ``base`` is rare (it was away since before
the snapshot); for it the older events are read back from the journal first
(``Rooms.hold_from``), checked against the chain hash of entry ``base``, and held from then on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


class EventLog:
    __slots__ = ("base", "base_at", "base_hash", "_events")

    def __init__(
        self, events: Iterable[Any] = (), *, base: int = 0, base_at: int = 0, base_hash: str = ""
    ) -> None:
        self.base = base  # seq of the last event not held (0: every event is held)
        self.base_at = base_at  # the time of that event
        self.base_hash = base_hash  # and its journal entry's chain hash
        self._events = list(events)

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._events)

    @property
    def last_at(self) -> int:
        """The time of the last durable event (0 before the first)."""
        return self._events[-1].at if self._events else self.base_at

    def first_after(self, seq: int) -> int:
        """The seq of the first event ``after(seq)`` returns."""
        return max(seq, self.base) + 1

    def after(self, seq: int) -> list[Any]:
        """The events held with a seq above ``seq`` (from ``base`` on, if ``seq`` is older)."""
        return self._events[max(seq - self.base, 0):]

    def range(self, first_seq: int, count: int) -> list[Any]:
        start = first_seq - 1 - self.base
        if start < 0:
            raise IndexError(f"events before seq {self.base + 1} are not held")
        return self._events[start : start + count]

    def extend(self, events: Iterable[Any]) -> None:
        self._events.extend(events)

    def prepend(self, events: list[Any], first_seq: int, first_prev_hash: str) -> None:
        """Hold ``events`` (seqs ``first_seq``.. up to ``base``, read back from the journal) too;
        ``first_prev_hash`` is the chain hash of the entry before them."""
        missing = events[: self.base - first_seq + 1]
        if first_seq > self.base or len(missing) != self.base - first_seq + 1:
            raise ValueError(f"events {first_seq}..{self.base} are not all given")
        self._events[:0] = missing
        self.base = first_seq - 1
        self.base_at = 0  # unknown, and unused: events are held after it
        self.base_hash = first_prev_hash
