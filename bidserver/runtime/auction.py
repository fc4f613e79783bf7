"""One event as this process serves it, whichever process writes it.

What outlives a change of writer lives here: the format, the durable state, its log and the head
of its hash chain, the audience of the participants connected to this process, and the count of commands decided (the
fan-out paces itself on it). Whether this process writes the event (``room.Room``) or follows it
(``replica.Replica``) is its ``mode``; sockets and HTTP requests hold the ``Auction``, so they stay
connected when this process takes an event over or hands it back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from ..engine.format import Format, Summary
from .audience import Audience, AudienceFactory
from .eventlog import EventLog
from .journaling import Chain
from .outcome import Result


class Mode(Protocol):
    writes: bool  # True: this process is the event's one writer

    async def submit(self, command: Any) -> Result: ...

    def submit_nowait(self, command: Any, callback: Callable[[Any, Result], None]) -> None: ...

    async def stop(self) -> None: ...


class Auction:
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
        self.head = head or Chain()  # the hash chain's last durable entry (seq == state.seq)
        self.decided = 0  # commands decided (or events applied, when followed) so far
        self.mode: Mode | None = None
        self.listed_as: Summary | None = None  # what the listing was last told (by this writer)
        self.listing: asyncio.Task[None] | None = None  # telling it, after the journal
        self.snapshot_seq = 0  # the seq of its newest snapshot taken or loaded (0: none)
        self.audience: Audience = audience(self)

    @property
    def auction_id(self) -> str:
        return self.state.auction_id

    @property
    def writer(self) -> bool:
        return self.mode is not None and self.mode.writes

    async def submit(self, command: Any) -> Result:
        """Decide ``command`` (its ``at`` is stamped by the writer) and wait until it is durable."""
        return await self.mode.submit(command)

    def submit_nowait(self, command: Any, callback: Callable[[Any, Result], None]) -> None:
        """The live room's path: ``callback(command, result)`` once decided and durable."""
        self.mode.submit_nowait(command, callback)

    async def listed(self) -> None:
        """Wait until the listing shows the last change made here (an HTTP answer to a command
        promises that: a buyer who just created or invited lists it at once)."""
        task = self.listing
        if task is not None and not task.done():
            await asyncio.shield(task)

    async def stop(self) -> None:
        if self.mode is not None:
            await self.mode.stop()
