"""What a Redis Cluster changes for the journal: group commits on one replicated Redis against the
same on a cluster of 3 masters (1 replica each), every write waiting for its replica.

    python -m loadtests.cluster_bench [--auctions 300] [--turns 200] [--writers 2]

The workload is the server's: ``--writers`` group commits at once (as many processes' rooms
flushing), each a loop of ``--turns`` turns, each turn one ``append_many`` of one entry for each
of its ``--auctions`` auctions (the journal groups them per shard: one script call per shard per
master round trip on a cluster, one call on one Redis). Printed per setup:

* appends/s and the p50 / p99 of a turn (ms);
* per master: its share of the appends, its Redis CPU per append (µs, ``used_cpu_sys`` +
  ``used_cpu_user`` over the run) and per script call: the per-slot cost the scaling on paper
  (docs/design.md) is built from.

Everything runs on this machine: the client, the masters and their replicas share its cores, so
the cluster's rows show what sharding costs and where the work goes, not what 3 machines give.
The smoke test (tests/loadtests/test_cluster_bench_smoke.py) runs it tiny and checks the rows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from bidserver.store.journal import AppendRequest
from bidserver.store.redis_journal import RedisJournal
from loadtests.bench import machine, percentile
from tests.store.chained import sealed
from tests.store.cluster_servers import redis_cluster
from tests.store.servers import replicated, tcp_port


def _cpu(port: int) -> tuple[float, int, int]:
    """A master's CPU seconds so far, its script calls and its stream appends (XADD)."""
    with redis.Redis(port=port) as c:
        cpu = c.info("cpu")
        stats = c.info("commandstats")
    calls = sum(stats.get(k, {}).get("calls", 0) for k in ("cmdstat_evalsha", "cmdstat_eval"))
    return cpu["used_cpu_sys"] + cpu["used_cpu_user"], calls, stats.get("cmdstat_xadd", {}).get(
        "calls", 0)


async def _run(url: str, ports: list[int], args: argparse.Namespace) -> dict[str, object]:
    journal = RedisJournal(url, replicas=1)
    await journal.connect()
    entries = sealed(1, args.turns)
    turns: list[float] = []

    async def writer(w: int) -> None:
        auctions = [f"w{w}-a{i}" for i in range(args.auctions)]
        for seq, entry in enumerate(entries, start=1):
            started = time.perf_counter()
            outcomes = await journal.append_many([AppendRequest(a, seq, [entry]) for a in auctions])
            assert outcomes == [None] * len(auctions), outcomes
            turns.append((time.perf_counter() - started) * 1000)

    before = {p: _cpu(p) for p in ports}
    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(args.writers)))
    elapsed = time.perf_counter() - started
    after = {p: _cpu(p) for p in ports}
    await journal.close()
    appends = args.writers * args.auctions * args.turns
    masters = []
    for p in ports:
        cpu = after[p][0] - before[p][0]
        calls = after[p][1] - before[p][1]
        xadds = after[p][2] - before[p][2]
        masters.append((p, xadds, cpu, calls))
    turns.sort()
    return {"rate": appends / elapsed, "turns": turns, "appends": appends, "masters": masters,
            "how": journal.durability}


@contextmanager
def _one_redis(tmp: Path) -> Iterator[tuple[str, list[int]]]:
    with replicated(tmp, replicas=1) as (master, _):
        yield master.url, [tcp_port(master)]


@contextmanager
def _cluster(tmp: Path) -> Iterator[tuple[str, list[int]]]:
    with redis_cluster(tmp) as cluster:
        yield cluster.url, cluster.masters()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--auctions", type=int, default=300, help="auctions per group commit")
    parser.add_argument("--turns", type=int, default=200, help="turns per group commit")
    parser.add_argument("--writers", type=int, default=2, help="group commits at once")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    print(f"{args.writers} group commits x {args.turns} turns x {args.auctions} auctions, "
          "one entry each; every write waits for 1 replica")
    print("| setup | appends/s | turn p50 / p99 ms | per master: share, Redis CPU µs per "
          "append, per script call |")
    print("|---|---|---|---|")
    for label, setup in (("one Redis + 1 replica", _one_redis),
                         ("cluster, 3 masters x 1 replica", _cluster)):
        with tempfile.TemporaryDirectory(prefix="clusterbench-") as tmp, setup(Path(tmp)) as (
                url, ports):
            figures = asyncio.run(_run(url, ports, args))
        appends = figures["appends"]
        assert isinstance(appends, int)
        per_master = "; ".join(
            f"{xadds / appends:.0%}, {cpu / max(xadds, 1) * 1e6:.1f} µs, "
            f"{cpu / max(calls, 1) * 1e6:.0f} µs"
            for _p, xadds, cpu, calls in figures["masters"]  # type: ignore[attr-defined]
        )
        turns = figures["turns"]
        assert isinstance(turns, list)
        print(f"| {label} | {figures['rate']:,.0f} | {percentile(turns, 50):.1f} / "
              f"{percentile(turns, 99):.1f} | {per_master} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
