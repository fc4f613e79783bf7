"""Group commit across auctions: every room's pending append in one round trip to the journal.

Each room already writes everything it decided meanwhile in one append; with a thousand busy
auctions there would still be a thousand appends in flight, each its own round trip and its own
pooled connection. ``GroupCommit`` collects the appends made while a write is in flight and
sends them as one ``append_many`` (one pipeline: one atomic script call per auction, one
fsync for all of them), while the next group gathers. Rooms see the same ``append`` as before and
get their own outcome: one auction's refused write does not fail another's.

Why every wait is bounded (``timeout_s``): a Redis that stalls (stopped, a disk that does not
return from fsync) answers nothing, and a bid must not wait for it for seconds. A room's append,
and its reload after a failed one, give up at the bound with ``JournalUnavailable``: the sender
is told "not acknowledged, resend", never "accepted". The outcome may be unknown (the write was
sent and may still land), which the room already handles as for any failed write: it reloads
from the journal before it decides anything else, so a resend of the same bid id is answered
from what did land. An append whose waiter gave up before its group was sent is dropped, not
sent: its outcome is known (not written).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from .. import metrics
from .journal import AppendRequest, AwardRecord, Journal, JournalError, JournalUnavailable

log = logging.getLogger(__name__)


class GroupCommit:
    """A ``Journal`` whose appends are batched across auctions, and whose appends and reads wait
    at most ``timeout_s`` (None: as long as the journal takes); everything else passes through."""

    def __init__(
        self, journal: Journal, *, max_group: int = 1024, timeout_s: float | None = None
    ) -> None:
        self._journal = journal
        self._max_group = max_group
        self._timeout_s = timeout_s
        self._pending: list[tuple[AppendRequest, asyncio.Future[None]]] = []
        self._writing = False

    def __getattr__(self, name: str):
        return getattr(self._journal, name)  # fence, auction_ids, mark_finished, ping...

    def _unanswered(self, what: str) -> JournalUnavailable:
        return JournalUnavailable(
            f"no answer from the journal within {self._timeout_s * 1000:.0f} ms ({what})"
        )

    async def append(
        self,
        auction_id: str,
        first_seq: int,
        entries: Sequence[bytes],
        awards: Sequence[AwardRecord] = (),
    ) -> None:
        request = AppendRequest(auction_id, first_seq, entries, awards)
        if self._writing:  # a write is in flight: join the next group
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._pending.append((request, future))
            try:
                async with asyncio.timeout(self._timeout_s):
                    await future  # cancelled on timeout: dropped if its group was not sent yet
            except TimeoutError:
                raise self._unanswered("outcome unknown if its group was sent") from None
            return
        # Nothing in flight: write at once (no hop through the loop for a lone busy auction);
        # appends made meanwhile form the next group.
        self._writing = True
        try:
            async with asyncio.timeout(self._timeout_s):  # on timeout the write is cancelled
                [outcome] = await self._timed_append_many([request])
        except TimeoutError:
            outcome = self._unanswered("outcome unknown")
        except Exception as exc:
            outcome = exc if isinstance(exc, JournalError) else JournalUnavailable(str(exc))
        finally:
            if self._pending:
                asyncio.get_running_loop().create_task(self._write_pending())
            else:
                self._writing = False
        if outcome is not None:
            raise outcome

    async def append_many(self, requests: Sequence[AppendRequest]) -> list[JournalError | None]:
        return await self._journal.append_many(requests)

    async def read(
        self, auction_id: str, after_seq: int = 0, *, durable: bool = True
    ) -> list[tuple[int, bytes]]:
        """A room's reload after a failed write: bounded as its writes are."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._journal.read(auction_id, after_seq, durable=durable)
        except TimeoutError:
            raise self._unanswered("read") from None

    async def _timed_append_many(
        self, requests: Sequence[AppendRequest]
    ) -> list[JournalError | None]:
        started = time.perf_counter()
        try:
            return await self._journal.append_many(requests)
        finally:
            metrics.JOURNAL_APPEND_SECONDS.observe(time.perf_counter() - started)

    async def _write_pending(self) -> None:
        try:
            while self._pending:
                group = self._pending[: self._max_group]
                del self._pending[: self._max_group]
                group = [(request, future) for request, future in group if not future.done()]
                if not group:  # every waiter gave up: nothing of it is sent
                    continue
                try:
                    outcomes = await self._timed_append_many([request for request, _ in group])
                except Exception as exc:  # the journal failed as a whole: nobody is durable
                    log.warning("group commit of %d appends failed: %s", len(group), exc)
                    error = exc if isinstance(exc, JournalError) else JournalUnavailable(str(exc))
                    outcomes = [error] * len(group)
                for (_, future), outcome in zip(group, outcomes, strict=True):
                    if future.done():
                        continue
                    if outcome is None:
                        future.set_result(None)
                    else:
                        future.set_exception(outcome)
        finally:
            self._writing = False
