"""The only module that reads real time.

The engine never reads a clock: the shell stamps each command with ``now_ms()`` and the engine
decides with that number, so a replay of the journal gives the same result and tests control time
with a ``ManualClock`` instead of sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


def now_ms() -> int:
    """Wall clock, milliseconds since the Unix epoch (UTC): the unit of auctions' ends and of the
    receipt times the law asks for. Integer arithmetic on ``time_ns`` avoids float rounding."""
    return time.time_ns() // 1_000_000


def monotonic_s() -> float:
    """For measuring durations (timeouts, rate limits): never jumps when the wall clock is set."""
    return time.monotonic()


class Clock(Protocol):
    def now_ms(self) -> int: ...

    def monotonic_s(self) -> float: ...


class SystemClock:
    def now_ms(self) -> int:
        return now_ms()

    def monotonic_s(self) -> float:
        return monotonic_s()


class ManualClock:
    """A clock tests set and advance by hand; both readings move together."""

    def __init__(self, start_ms: int = 1_800_000_000_000) -> None:
        self.ms = start_ms
        self._monotonic_ms = 0

    def now_ms(self) -> int:
        return self.ms

    def monotonic_s(self) -> float:
        return self._monotonic_ms / 1000

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("time does not go backwards; use set() to move the wall clock")
        self.ms += ms
        self._monotonic_ms += ms

    def set(self, ms: int) -> None:
        """Set the wall clock (as an NTP step would); the monotonic reading does not move."""
        self.ms = ms
