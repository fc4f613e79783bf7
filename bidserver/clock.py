"""The server's clocks: the one module that reads the wall clock or the monotonic clock.

The engine never reads a clock: the runtime stamps each command with ``now_ms()`` and the engine
decides with that number, so a replay of the journal gives the same result and tests pass their
own ``now_ms`` instead of sleeping. Durations (rate limits, timeouts of child processes) use
``monotonic_s``; asyncio's own timers run on the event loop's clock.
"""

from __future__ import annotations

import time


def now_ms() -> int:
    """Wall clock, milliseconds since the Unix epoch (UTC): the unit of auctions' ends and of the
    receipt times the law asks for. Integer arithmetic on ``time_ns`` avoids float rounding."""
    return time.time_ns() // 1_000_000


def monotonic_s() -> float:
    """For measuring durations (timeouts, rate limits): never jumps when the wall clock is set."""
    return time.monotonic()
