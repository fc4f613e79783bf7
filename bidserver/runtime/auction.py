"""One event as this process serves it, whichever process writes it.

What outlives a change of writer lives here: the format, the durable state, its log and the head
of its hash chain, the audience of the participants connected to this process, the count of
commands decided (the fan-out paces itself on it), each participant's cursor, and what the
listing and the snapshots were last told. Whether this process writes the event (``room.Room``) or follows it
(``replica.Replica``) is its ``mode``; sockets and HTTP requests hold the ``Auction``, so they stay
connected when this process takes an event over or hands it back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ..engine.format import Format, Summary
from .audience import Audience, AudienceFactory
from .cursors import Cursors
from .eventlog import EventLog
from .journaling import Chain
from .outcome import Result


class Mode(Protocol):
    writes: bool  # True: this process is the event's one writer

    async def submit(self, command: Any) -> Result: ...

    def submit_nowait(self, command: Any, callback: Callable[[Any, Result], None]) -> None: ...

    async def stop(self) -> None: ...


class Auction:
    submit: Callable[[Any], Awaitable[Result]]  # the mode's (see ``mode``)
    submit_nowait: Callable[[Any, Callable[[Any, Result], None]], None]

    def __init__(
        self,
        fmt: Format,
        state: Any,
        log: EventLog,
        audience: AudienceFactory,
        head: Chain | None = None,
    ) -> None:
        self.format = fmt
        self.state = state  # durable: what everyone sees
        self.log = log  # the durable events held in memory (all, or those after a snapshot)
        self.cursors = Cursors(self)  # each participant's position, in what it may see
        self.head = head or Chain()  # the hash chain's last durable entry (seq == state.seq)
        self.decided = 0  # commands decided (or events applied, when followed) so far
        self._mode: Mode | None = None
        self.listed_as: Summary | None = None  # what the listing was last told (by this writer)
        self.listing: asyncio.Task[None] | None = None  # telling it, after the journal
        self.snapshot_seq = 0  # the seq of its newest snapshot taken or loaded (0: none)
        self.snapshot_due: float | None = None  # loop time since when one is due (not taken yet)
        self.snapshot_timer: asyncio.TimerHandle | None = None
        self.snapshot_last_write = 0.0  # loop time of the last write while one is due
        self.audience: Audience = audience(self)

    @property
    def auction_id(self) -> str:
        return self.state.auction_id

    @property
    def writer(self) -> bool:
        return self._mode is not None and self._mode.writes

    @property
    def mode(self) -> Mode | None:
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        """Commands go straight to the mode's own methods: ``submit(command)`` decides it (its
        ``at`` stamped by the writer) and returns once it is durable; ``submit_nowait(command,
        callback)``, the live room's path, calls back then. No call of the auction's own sits on
        a bid's path."""
        self._mode = mode
        self.submit = mode.submit
        self.submit_nowait = mode.submit_nowait

    async def listed(self) -> None:
        """Wait until the listing shows the last change made here (an HTTP answer to a command
        promises that: a buyer who just created or invited lists it at once)."""
        task = self.listing
        if task is not None and not task.done():
            await asyncio.shield(task)

    async def stop(self) -> None:
        if self._mode is not None:
            await self._mode.stop()
