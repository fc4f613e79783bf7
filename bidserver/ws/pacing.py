"""When the fan-out sends the next update: at once while the room is quiet, conflated in a burst.

At a low bid rate an update waiting for a conflation slot is pure latency: nothing would be
folded into it. So an update goes out as soon as it is published, unless

- the previous one is still being written to the room's sockets (the fan-out then sends the next
  one when that delivery ends, with everything published meanwhile: ``Broadcaster``),
- a burst is on: commands are being decided faster than ``busy_rate`` per second (over the last
  ``interval``, or already ``busy_rate * interval`` of them in the current one); updates then go
  out at most once per ``interval``, each with the newest view, as before, or
- a long delivery during a burst asked for a rest (``rest_after``): bidding keeps at least
  ``1 - share`` of the process however many watchers there are.

Urgent events (closes, extensions, awards...) go out at once in every case. Pure: the loop time
and the room's count of decided commands are passed in, so the tests drive it with no clock.
"""

from __future__ import annotations

BUSY_RATE = 200  # commands per second: above it, a burst is on
FANOUT_SHARE = 0.5  # during a burst, at most this share of the time goes to sliced deliveries


class Pacing:
    __slots__ = ("interval", "busy_rate", "share", "last_flush", "rest_until",
                 "_window_at", "_window_decided", "_busy")

    def __init__(
        self, interval: float, *, busy_rate: float = BUSY_RATE, share: float = FANOUT_SHARE
    ) -> None:
        self.interval = interval
        self.busy_rate = busy_rate
        self.share = share
        self.last_flush = float("-inf")
        self.rest_until = float("-inf")  # no flush before (but urgent ones), after a long delivery
        self._window_at = float("-inf")  # the current measuring window: its start
        self._window_decided = 0  # and the count of decided commands then
        self._busy = False  # the last full window's rate was a burst

    def bursting(self, now: float, decided: int) -> bool:
        """Whether commands come faster than ``busy_rate`` per second (see the module)."""
        elapsed = now - self._window_at
        count = decided - self._window_decided
        if elapsed >= self.interval:
            self._busy = count > self.busy_rate * elapsed
            self._window_at, self._window_decided = now, decided
            return self._busy
        return self._busy or count > self.busy_rate * self.interval

    def due(self, now: float, decided: int, urgent: bool) -> float:
        """The loop time at which to flush what was just published (``<= now``: at once)."""
        if urgent:
            return now
        if self.bursting(now, decided):
            return max(self.last_flush + self.interval, self.rest_until)
        return max(now, self.rest_until)

    def flushed(self, now: float) -> None:
        self.last_flush = now

    def delivered(self, started: float, now: float, decided_during: int) -> None:
        """A sliced delivery that began at ``started`` ended; ``decided_during`` commands were
        decided meanwhile. While they came fast, rest as long as the delivery took (``share``)."""
        took = now - started
        if decided_during > took * self.busy_rate:
            self.rest_until = now + took * (1 - self.share) / self.share
