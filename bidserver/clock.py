"""The only module that reads real time. The engine never does: the shell stamps commands."""

from __future__ import annotations

import time
from typing import Protocol


def now_ms() -> int:
    """Wall clock, milliseconds since the Unix epoch (UTC): what auctions' ends are measured in."""
    return time.time_ns() // 1_000_000


def monotonic_s() -> float:
    return time.monotonic()


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return now_ms()


class ManualClock:
    """A clock tests set and advance by hand."""

    def __init__(self, start_ms: int = 1_800_000_000_000) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms
