"""Prometheus metrics (prometheus-client): what an operator graphs and alerts on, served at /metrics.

A leaf module: the runtime, the store and the edges count here without importing each other.

**Cheap on the hot path.** A prometheus-client counter or histogram takes a lock on every change
(1-4 us each on the project's machines: a bid costs about 14 us of CPU in its room). What happens
per bid or per sweep is therefore counted in plain Python numbers first (``Tally``, ``Timings``:
the event loop is one thread, so no lock is needed) and added to the Prometheus metrics by
``flush``: before every scrape, and every ``FLUSH_S`` in the background (``flush_forever``) so
that a scrape answered by another worker sees this one's counts too. Rare changes (a socket opens,
a timer fails) go straight to the Prometheus metric.

**Several processes** (``serve --workers N``): prometheus-client's multiprocess mode. The
supervisor gives every worker a ``PROMETHEUS_MULTIPROC_DIR`` (``<data_dir>/metrics``, emptied at
start, unless the operator set one) and tells the library when a worker dies; each worker writes
its numbers to files there, and whichever worker answers a scrape reads them all: counters and
histograms summed over the workers (the dead ones' counts included, so totals never go back),
gauges per live process (a ``pid`` label). In one process, the library's default registry (with
its process and Python collectors).
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_left
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest,
)
from prometheus_client import multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FLUSH_S = 1.0
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds: from a fraction of a millisecond (a bid acknowledged within one group commit) to the
# seconds a stalled Redis can take.
_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)


class Tally:
    """A counter for the hot path: ``n += 1`` on a plain int, added to ``counter`` at flush."""

    __slots__ = ("n", "_counter")

    def __init__(self, counter) -> None:
        self.n = 0
        self._counter = counter

    def flush(self) -> None:
        n, self.n = self.n, 0
        if n:
            self._counter.inc(n)


class Timings:
    """A histogram for the hot path: each observation counted in its bucket locally, the counts
    added to the Prometheus histogram at flush. prometheus-client has no public way to add many
    observations at once, so the flush adds to its bucket and sum values (``_buckets``, ``_sum``:
    private, hence the version bound in pyproject.toml)."""

    __slots__ = ("_histogram", "_bounds", "_counts", "_sum")

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._bounds = list(histogram._upper_bounds)  # the last one is +Inf
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[bisect_left(self._bounds, seconds)] += 1
        self._sum += seconds

    def flush(self) -> None:
        counts, total = self._counts, self._sum
        if not any(counts):
            return
        self._counts, self._sum = [0] * len(counts), 0.0
        for bucket, n in zip(self._histogram._buckets, counts, strict=True):
            if n:
                bucket.inc(n)
        self._histogram._sum.inc(total)


# ------------------------------------------------------------------------------ bids and rooms

BIDS = Counter(
    "bidserver_bids_total",
    "Bids answered (live rooms and HTTP), by status (accepted, rejected) and reason (empty when "
    "accepted; the protocol's reason code otherwise, rate limits included).",
    ["status", "reason"],
)
_BIDS_ACCEPTED = Tally(BIDS.labels("accepted", ""))
_bids_refused: dict[str, Tally] = {}

ACK_SECONDS = Timings(Histogram(
    "bidserver_ack_seconds",
    "From a command's arrival at its auction's room to its answer (decided and durable).",
    buckets=_LATENCY_BUCKETS,
))
JOURNAL_APPEND_SECONDS = Timings(Histogram(
    "bidserver_journal_append_seconds",
    "One write to the journal (a group commit: every room's entries of one turn, fsynced).",
    buckets=_LATENCY_BUCKETS,
))
FANOUT_SWEEP_SECONDS = Timings(Histogram(
    "bidserver_fanout_sweep_seconds",
    "One fan-out sweep of one auction: its views encoded and handed to every connection.",
    buckets=_LATENCY_BUCKETS,
))
TIMER_FAILURES = Counter(
    "bidserver_timer_failures_total",
    "A room's timer path (a close, a lot's end) raised; it is retried with back-off.",
)
PUBLISH_FAILURES = Counter(
    "bidserver_publish_failures_total",
    "Durable events a room could not hand to the live room or the listing (logged each time).",
)
TREE_HEADS = Counter(
    "bidserver_tree_heads_total",
    "Signed tree heads of the audit log stored (runtime/heads.py).",
)
TREE_HEAD_FAILURES = Counter(
    "bidserver_tree_head_failures_total",
    "Attempts to sign and store a tree head that failed; each is retried with back-off.",
)
ROOMS_FAILING = Gauge(
    "bidserver_rooms_failing",
    "Auctions whose timer path is failing now (logged once per streak; see the log for which).",
    multiprocess_mode="liveall",
)
AUCTIONS_LOADED = Gauge(
    "bidserver_auctions_loaded",
    "Auctions held in memory: written here (writer) or followed from another process (replica).",
    ["mode"],
    multiprocess_mode="liveall",
)
RECOVERY_PENDING = Gauge(
    "bidserver_recovery_pending",
    "Unfinished auctions still to be loaded from the journal after a start.",
    multiprocess_mode="liveall",
)
AUCTIONS_REFUSED = Gauge(
    "bidserver_auctions_refused",
    "Auctions whose journal failed verification (the log names the entry): an operator acts.",
    multiprocess_mode="liveall",
)

# ------------------------------------------------------------------------------ sockets

OPEN_SOCKETS = Gauge(
    "bidserver_open_sockets", "Live-room WebSockets open.", multiprocess_mode="liveall"
)
LAGGARD_CLOSES = Counter(
    "bidserver_laggard_closes_total",
    "Live-room connections closed because they fell too far behind (outbox full).",
)

# ------------------------------------------------------------------------------ journal

REDIS_UP = Gauge(
    "bidserver_redis_up",
    "1 when the journal's Redis answered the last check (each scrape and readiness probe), else 0.",
    multiprocess_mode="livemostrecent",
)
JOURNAL_DURABILITY = Gauge(
    "bidserver_journal_durability",
    "1 for the journal's durability mode (aof_always, waitaof, unsafe or memory).",
    ["mode"],
    multiprocess_mode="livemax",
)
JOURNAL_REPLICAS = Gauge(
    "bidserver_journal_replicas",
    "Replicas of the journal's Redis that confirm every acknowledged write (0: one machine).",
    multiprocess_mode="livemin",
)

_HOT = [_BIDS_ACCEPTED, ACK_SECONDS, JOURNAL_APPEND_SECONDS, FANOUT_SWEEP_SECONDS]


def bid_answered(status: str, reason: str | None) -> None:
    """Count one bid's answer (``wire.BidResult``'s status and reason)."""
    if status == "accepted":
        _BIDS_ACCEPTED.n += 1
        return
    tally = _bids_refused.get(reason)
    if tally is None:  # reasons are a closed set of codes: a handful of tallies, made once
        tally = _bids_refused[reason] = Tally(BIDS.labels(status, reason))
        _HOT.append(tally)
    tally.n += 1


def flush() -> None:
    """Hand the hot-path tallies to prometheus-client."""
    for hot in _HOT:
        hot.flush()


async def flush_forever() -> None:
    while True:
        await asyncio.sleep(FLUSH_S)
        flush()


def render() -> bytes:
    """The exposition text: this process's numbers, or every worker's in multiprocess mode."""
    flush()
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    return generate_latest(registry)


# ------------------------------------------------------------------------------ the supervisor's


def prepare_multiprocess_dir(path: Path) -> None:
    """Before the workers start: an empty directory (a previous run's files would add their
    counts to this run's)."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def worker_gone(pid: int, path: Path) -> None:
    """A worker died: its live gauges (sockets, rooms) no longer count; its counters still do."""
    multiprocess.mark_process_dead(pid, str(path))
