"""How long a restart takes with a long history, with and without snapshots; Redis memory.

    python -m loadtests.restart [--auctions 1000] [--events 1000] [--smoke]

Writes ``auctions`` x ``events`` journaled events straight into a fresh durable Redis (AOF
``appendfsync always``, unix socket), as the server would have: each auction created, ten suppliers
invited, opened, then bids, every event decided by the engine and sealed into the hash chain, and
snapshots where the server's policy (``runtime.snapshots.due`` with the default interval) would
have taken them. Then, for each variant (snapshots kept; snapshots deleted), it starts a fresh
``bidserver serve`` process on that Redis and measures from the process start:

- listening: the address is printed (the socket accepts);
- healthy: ``/livez`` answers 200 (the process serves);
- first bid: an HTTP bid on the last auction (loaded on demand if recovery has not reached it) is
  acknowledged, i.e. durable;
- recovered: ``/readyz`` answers 200 (every unfinished auction loaded, its chain verified, its
  timers armed; the journal answers).

It also reports Redis memory (``INFO memory``) with the history loaded. Loopback and a private
Redis only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bidserver.auth import mint_token
from bidserver.engine.reverse import FORMAT
from bidserver.engine.reverse.commands import CreateAuction, InviteSupplier, PlaceBid, StartAuction
from bidserver.engine.reverse.values import (
    Actor, AuctionConfig, Decrement, DecrementKind, LotSpec, Role, TieRule,
)
from bidserver.runtime import snapshots
from bidserver.runtime.journaling import Chain, to_journal
from bidserver.store.embedded import EmbeddedRedis
from bidserver.store.journal import AppendRequest
from bidserver.store.redis_journal import RedisJournal
from bidserver.store.snapshots import RedisSnapshots

JWT_KEY = "restart-bench-key-" + "0123456789abcdef" * 2
BUYER = Actor(Role.BUYER, "bench-buyer")
SUPPLIERS = [f"sup-{i}" for i in range(10)]
DEFAULT_EVERY = 1000  # the server's default snapshot_every
T0 = 1_900_000_000_000  # far ahead: no auction ends while the benchmark runs
_LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)")


def history(auction_id: str, events: int) -> tuple[list, list[tuple[int, bytes]]]:
    """One auction's events (decided by the engine) and the snapshots the server would take."""
    config = AuctionConfig(
        title=f"Bench {auction_id}", currency="EUR",
        lots=(LotSpec(lot_id="L1", title="lot", ceiling=10**12),),
        duration_ms=10**9, decrement=Decrement(DecrementKind.AMOUNT, 1),
        tie_rule=TieRule.RANK_BY_TIME,
    )
    state, log, snaps, head = FORMAT.new_state(auction_id), [], [], Chain()
    commands = [CreateAuction(actor=BUYER, at=T0, auction_id=auction_id, config=config)]
    commands += [InviteSupplier(actor=BUYER, at=T0, supplier=s) for s in SUPPLIERS]
    commands.append(StartAuction(actor=BUYER, at=T0))
    entries: list[bytes] = []
    i = 0
    while state.seq < events:
        if commands:
            command = commands.pop(0)
        else:
            supplier = Actor(Role.SUPPLIER, SUPPLIERS[i % len(SUPPLIERS)])
            command = PlaceBid(actor=supplier, at=T0 + 1 + i, lot_id="L1",
                               amount=10**12 - 1 - i, bid_id=f"b{i}")
            i += 1
        decided = FORMAT.decide(state, command)
        assert isinstance(decided, list), decided
        for event in decided:
            FORMAT.evolve(state, event)
        sealed, _, head = to_journal(FORMAT, state, head, decided)
        entries += sealed
        log += decided
        if snapshots.due(DEFAULT_EVERY, state.seq, snaps[-1][0] if snaps else 0):
            snaps.append((state.seq, snapshots.take(FORMAT, state, head, log[-1].at)))
    return list(enumerate(entries, 1)), snaps


async def populate(url: str, auctions: int, events: int) -> list[str]:
    journal = RedisJournal(url)
    await journal.connect()
    store = RedisSnapshots(journal)
    ids = [f"a{n:016x}" for n in range(auctions)]
    started = time.monotonic()
    for n, auction_id in enumerate(ids):
        entries, snaps = history(auction_id, events)
        for start in range(0, len(entries), 500):
            batch = entries[start : start + 500]
            [outcome] = await journal.append_many(
                [AppendRequest(auction_id, batch[0][0], [data for _, data in batch])]
            )
            assert outcome is None, outcome
        for seq, data in snaps:
            await store.save(auction_id, seq, data)
        if n % 100 == 99:
            print(f"  written {n + 1} auctions in {time.monotonic() - started:.0f} s", flush=True)
    await journal.close()
    return ids


async def memory(url: str) -> dict[str, int]:
    journal = RedisJournal(url)
    info = await journal.redis.info("memory")
    keys = await journal.redis.dbsize()
    await journal.close()
    return {"used_memory": int(info["used_memory"]), "keys": int(keys)}


async def restart(url: str, workdir: Path, probe: str, timeout: float) -> dict[str, float]:
    """Seconds from the process start to: listening, healthy, first bid acknowledged, recovered."""
    env = dict(os.environ, BIDSERVER_JWT_KEY=JWT_KEY, PYTHONUNBUFFERED="1")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bidserver", "serve", "--port", "0", "--redis-url", url,
         "--data-dir", str(workdir), "--log-level", "warning", "--allow-single-machine-journal"],
        stdout=subprocess.PIPE, stderr=open(workdir / "server.log", "ab"), env=env,
    )
    out: dict[str, float] = {}
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout)
        match = _LISTENING.search(line.decode())
        assert match, line
        out["listening"] = time.monotonic() - started
        base = f"http://{match.group(1)}:{match.group(2)}"
        token = mint_token(JWT_KEY, role="supplier", party=SUPPLIERS[0])
        deadline = started + timeout
        async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
            while "recovered" not in out:
                assert time.monotonic() < deadline, f"not recovered within {timeout} s"
                try:
                    alive = await client.get("/livez")
                    ready = await client.get("/readyz")
                except httpx.TransportError:
                    await asyncio.sleep(0.005)
                    continue
                now = time.monotonic() - started
                if alive.status_code == 200:
                    out.setdefault("healthy", now)
                    if "first_bid" not in out:
                        bid = await client.post(
                            f"/api/auctions/{probe}/bids",
                            json={"bid_id": "restart-probe", "lot_id": "L1", "amount": 1},
                            headers={"authorization": f"Bearer {token}"},
                        )
                        assert bid.status_code in (200, 201), bid.text
                        out["first_bid"] = time.monotonic() - started
                    if ready.status_code == 200:
                        out["recovered"] = time.monotonic() - started
                await asyncio.sleep(0.005)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--auctions", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1000, help="events per auction")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI: proves it runs)")
    args = parser.parse_args()
    if args.smoke:
        args.auctions, args.events = 5, 1200
    with tempfile.TemporaryDirectory(prefix="bidserver-restart-") as tmp:
        workdir = Path(tmp)
        redis = EmbeddedRedis(workdir / "redis")
        redis.start()
        try:
            print(f"writing {args.auctions} auctions x {args.events} events ...", flush=True)
            ids = await populate(redis.url, args.auctions, args.events)
            mem = await memory(redis.url)
            probe = ids[-1]  # sorted last: recovery reaches it last
            with_snapshots = await restart(redis.url, workdir, probe, timeout=600)
            journal = RedisJournal(redis.url)
            keys = [k async for k in journal.redis.scan_iter(match="bidserver:snapshot:*")]
            if keys:
                await journal.redis.delete(*keys)
            await journal.close()
            without = await restart(redis.url, workdir, probe, timeout=600)
        finally:
            redis.stop()
    print()
    print(f"# restart with {args.auctions * args.events:,} journaled events across "
          f"{args.auctions:,} auctions ({datetime.date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} cores)")
    print(f"Redis used_memory {mem['used_memory'] / 2**20:.0f} MiB, {mem['keys']} keys "
          f"({mem['used_memory'] / args.auctions / 1024:.0f} KiB per auction)")
    print(f"{'seconds from process start':28} {'snapshots':>10} {'none':>10}")
    for name in ("listening", "healthy", "first_bid", "recovered"):
        print(f"{name:28} {with_snapshots[name]:>10.2f} {without[name]:>10.2f}")


if __name__ == "__main__":
    asyncio.run(main())
