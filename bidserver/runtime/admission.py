"""The supplier registry as this process serves it: decide, store durably, answer; eligibility.

Why no room and no writer per supplier, as events have: a supplier's record changes a few times a
year (a registration, a document, a reviewer's decision), never in bursts, and any process may be
asked to change it. So each change is decided on the record as stored and written with a
compare-and-set on its version (``store.suppliers``): of two changes decided on the same version
one is stored and the other is decided again on the newer record. The write is durable before it
is answered, as a bid is (the store's Lua script on the journal's Redis, under the same rule).

Why eligibility is one lookup: an invitation (and a sealed tender's submission, which the
registry may have changed since the invitation) reads the supplier's record, one ``HGET``, and asks
``engine.admission.standing`` the question at the server's time. Nothing scans the registry.

Why the sweeper: standing changes by time alone (a certificate's expiry, a restriction's end) and
``standing`` answers that by itself, but the indexes the reviewers and buyers search, the record's
history and the live events the supplier is in must learn it too. The store keeps each record's
next such instant (``due_at``); the sweeper records what time did (``Sweep``) when it comes.

Why ``on_change``: a supplier restricted (or reinstated) while it is invited to live events must
be told at once and its buyer too (issue 12); the composition root passes the function that sends
the events the supplier is in their ``SetSupplierStanding``. It runs after the write is durable
and never undoes it: a failure there is logged and retried at each sweep of this process until it
succeeds (a restart forgets the retry; the supplier's next change tells again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import msgspec

from ..engine.admission import standing as rules
from ..engine.admission.commands import Command, Sweep
from ..engine.admission.decide import decide
from ..engine.admission.events import encode_event
from ..engine.admission.evolve import evolve, record_bytes, restore
from ..engine.admission.values import SupplierRecord
from ..engine.rejections import Reason, Rejection
from ..engine.values import SYSTEM
from ..store.suppliers import IdentifierTaken, Indexed, Page, Suppliers, VersionConflict
from .registry import Rooms
from .standing import set_standing

log = logging.getLogger(__name__)

ATTEMPTS = 3  # compare-and-set rounds before a change is refused as contended
SWEEP_EVERY_S = 1.0
SWEEP_BATCH = 100

OnChange = Callable[[str, SupplierRecord, int], Awaitable[None]]


class Admission:
    """Changes and reads of supplier records; ``now_ms`` is the server's clock (injected)."""

    def __init__(
        self, store: Suppliers, now_ms: Callable[[], int], on_change: OnChange | None = None
    ) -> None:
        self.store = store
        self._now_ms = now_ms
        self._on_change = on_change
        self._untold: set[str] = set()  # suppliers whose events a failure left untold

    def now(self) -> int:
        return self._now_ms()

    # ------------------------------------------------------------------ reads

    async def record(self, supplier_id: str) -> SupplierRecord | None:
        """The record as stored (one round trip)."""
        stored = await self.store.get(supplier_id)
        return None if stored is None else restore(stored[0])

    async def records(self, supplier_ids: Sequence[str]) -> list[SupplierRecord | None]:
        """Several records in one round trip (a page of a search, an invitation picker)."""
        stored = await self.store.get_many(supplier_ids)
        return [None if s is None else restore(s[0]) for s in stored]

    async def standing(self, supplier_id: str, category: str | None) -> rules.Standing:
        """Whether the supplier may take part in an event of ``category`` now: one lookup."""
        return rules.standing(await self.record(supplier_id), category, self.now())

    async def invitation_fault(self, supplier_id: str, category: str | None) -> Rejection | None:
        """Why the supplier may not be invited to (or bid in) an event of ``category`` now, as a
        refusal the edge answers like the engine's; None: it may.

        An event with a category admits only suppliers qualified in it and under no restriction.
        Without one, a supplier the registry does not know may still be invited (a buyer's
        one-off invitation outside the registry, as before the registry existed), but a known
        supplier under a restriction may not."""
        found = await self.standing(supplier_id, category)
        if found.eligible:
            return None
        if category is None and found.reason is rules.StandingReason.NOT_REGISTERED:
            return None
        return Rejection(reason=Reason.SUPPLIER_NOT_ELIGIBLE, detail=_explained(found, category))

    async def history(self, supplier_id: str) -> list[bytes]:
        return await self.store.log(supplier_id)

    async def search(
        self, *, prefix: str = "", code: str = "", tags: Sequence[str] = (),
        cursor: str | None = None, limit: int = 50,
    ) -> Page:
        """A page of supplier ids ordered by legal name (or by identifier when searching by
        ``code``); ``tags`` all apply (``status:<s>``, ``cat:<code>:<s>``, ``review:pending``)."""
        if code:
            return await self.store.search_code(code.upper(), after=cursor, limit=limit)
        return await self.store.search(
            prefix=prefix.casefold(), tags=tags, after=cursor, limit=limit)

    # ------------------------------------------------------------------ changes

    async def act(self, supplier_id: str, command: Command) -> SupplierRecord | Rejection:
        """Decide ``command`` on the stored record and store its events durably; the record
        after them, or the refusal. A command already carried out answers the record as it is.

        The command is stamped with the server's time here, whatever ``at`` it came with, as a
        room stamps an event's commands: a client never says when it acted."""
        command = msgspec.structs.replace(command, at=self.now())
        for _ in range(ATTEMPTS):
            stored = await self.store.get(supplier_id)
            record = None if stored is None else restore(stored[0])
            decided = decide(record, command)
            if isinstance(decided, Rejection):
                return decided
            if not decided:
                return record  # type: ignore[return-value]  # a resend: nothing to store
            after = record
            for event in decided:
                after = evolve(after, event)
            assert after is not None  # decide never answers events for no record but Register
            try:
                await self._store(supplier_id, record, after, decided)
            except VersionConflict:
                continue  # another process changed the record first: decide again on it
            except IdentifierTaken:
                return Rejection(reason=Reason.IDENTIFIER_TAKEN, field="identifier", detail=(
                    "this identifier is registered to another supplier"))
            await self._changed(supplier_id, record, after, isinstance(command, Sweep))
            return after
        return Rejection(reason=Reason.CONTENDED, detail="the record kept changing; retry")

    async def _store(self, supplier_id: str, before: SupplierRecord | None,
                     after: SupplierRecord, events: Sequence[msgspec.Struct]) -> None:
        now = self.now()
        found = rules.indexed(after, now)
        await self.store.append(
            supplier_id,
            0 if before is None else before.version,
            [encode_event(e) for e in events],  # type: ignore[arg-type]
            record_bytes(after),
            Indexed(name=found.name, code=found.code, tags=found.tags),
            rules.due_at(after),
        )

    async def _changed(self, supplier_id: str, before: SupplierRecord | None,
                       after: SupplierRecord, swept: bool) -> None:
        """Tell the live events the supplier is in when its standing changed: by a decision (a
        restriction imposed or lifted, a category decided: its index tags, which say exactly
        that, changed) or by time (the sweeper recorded an expiry or a restriction's start or
        end, which ``standing`` already read from the clock, so the tags at ``now`` cannot
        tell)."""
        if self._on_change is None or before is None:
            return
        now = self.now()
        if not swept and rules.indexed(before, now).tags == rules.indexed(after, now).tags:
            return
        await self._tell(supplier_id, after, now)

    async def _tell(self, supplier_id: str, record: SupplierRecord, now: int) -> None:
        assert self._on_change is not None
        try:
            await self._on_change(supplier_id, record, now)
        except Exception:  # noqa: BLE001 - the change is durable; the sweeper tells again
            self._untold.add(supplier_id)
            log.exception("could not tell the events of supplier %.64s of its standing", supplier_id)
        else:
            self._untold.discard(supplier_id)

    # ------------------------------------------------------------------ time

    async def sweep(self) -> int:
        """Record what time did to every supplier due now, and tell again the events a failure
        left untold; how many were swept."""
        now = self.now()
        for supplier_id in sorted(self._untold):
            record = await self.record(supplier_id)
            if record is not None:
                await self._tell(supplier_id, record, now)
        due = await self.store.due(now, SWEEP_BATCH)
        for supplier_id in due:
            result = await self.act(supplier_id, Sweep(actor=SYSTEM, at=now))
            if isinstance(result, Rejection):
                log.warning("sweep of supplier %.64s refused: %s", supplier_id, result.detail)
        return len(due)

    async def sweep_forever(self, every_s: float = SWEEP_EVERY_S) -> None:
        """The sweeper: every process runs one (a sweep is a compare-and-set write like any
        other, so two processes sweeping the same supplier store its changes once).

        Why it looks at ``cancelling()``: redis-py (8.0 and 8.1 both, on Python 3.11) now and
        then eats a cancellation that arrives mid-command (the command returns, or fails as a
        connection error); a sweeper that went back to sleep then would hold the server's
        shutdown until the next round, and for ever once its Redis is gone."""
        while True:
            try:
                while await self.sweep() == SWEEP_BATCH:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: the next round tries again
                if not asyncio.current_task().cancelling():
                    log.warning("supplier sweep failed: %s", exc)
            if asyncio.current_task().cancelling():
                raise asyncio.CancelledError
            await asyncio.sleep(every_s)


def telling_events(rooms: Rooms, store: Suppliers) -> OnChange:
    """The ``on_change`` that pushes a supplier's standing into each live event it is invited
    to (``runtime.standing``): restricted in an event while the registry's standing for that
    event's category says no (a restriction, a qualification lapsed or rejected), reinstated when
    it says yes again. An event that is over or gone is forgotten: it will never take a bid."""

    async def tell(supplier_id: str, record: SupplierRecord, now: int) -> None:
        for event_id in sorted(await store.events_of(supplier_id)):
            room = await rooms.get(event_id)
            if room is None or room.format.finished(room.state):
                await store.forget_event(supplier_id, event_id)
                continue
            category = getattr(room.state.config, "category", None)
            found = rules.standing(record, category if isinstance(category, str) else None, now)
            reason = "" if found.reason is None else found.reason.value
            result = await set_standing(rooms, event_id, supplier_id, not found.eligible, reason,
                                        found.detail)
            if result.failure is not None:
                raise RuntimeError(f"event {event_id}: {result.failure}")

    return tell


def _explained(found: rules.Standing, category: str | None) -> str:
    """The refusal's words: the standing's reason, and its own words (a restriction's reason,
    the rejected category's) where it has them."""
    what = found.reason.value.replace("_", " ") if found.reason is not None else "not eligible"
    where = f" for category {category}" if category else ""
    return f"{what}{where}" + (f": {found.detail}" if found.detail else "")
