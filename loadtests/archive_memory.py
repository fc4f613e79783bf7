"""Redis memory of a finished auction before and after it is archived and trimmed.

    python -m loadtests.archive_memory [--events 1000 10000] [--auctions 10000] [--server PATH]

For each size, on a fresh durable Redis (``EmbeddedRedis``: AOF ``appendfsync always``, unix
socket): one auction of that many sealed ``bid_accepted`` events as the reverse-auction format
encodes them (uuid bid ids, 20 suppliers, 3 lots), appended in batches of 50 as a busy room's
group commit would, marked finished, archived (``Archives.write``) and trimmed
(``Journal.trim_archived``). Printed: the exact size of its stream (``MEMORY USAGE <key> SAMPLES
0``), ``INFO memory`` ``used_memory`` before the auction, with it and after the trim, and the
archive's size on disk. A first auction of the same size goes the same way unmeasured: what the
server allocates once (Lua, the index's keys) is not counted per auction.

Then what the journal keeps of each archived auction: ``--auctions`` one-event auctions finished
and trimmed, then as many again, measured: the growth of the index set, the finished set and the
archived hash (exact ``MEMORY USAGE``) and of ``used_memory``, per auction. (The listing's entries
are not the journal's and are not counted.)

``used_memory`` is read on a connection of its own once the journal's are closed: connections
hold query and reply buffers that follow the traffic, not the data.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path

import msgspec
from redis.asyncio import Redis

from bidserver.engine.reverse.events import BidAccepted
from bidserver.store.archive import Archives
from bidserver.store.chain import GENESIS, seal_with_hash
from bidserver.store.embedded import EmbeddedRedis
from bidserver.store.journal import AppendRequest
from bidserver.store.redis_journal import RedisJournal

FORMAT = "reverse_auction"
T0 = 1_800_000_000_000
BATCH = 50
CONCURRENCY = 50  # calls in flight while filling the index (one fsync serves many)


def bid_events(n: int, rng: random.Random) -> list[bytes]:
    """``n`` sealed bid_accepted envelopes, seq 1..n, one bid every ~400 ms."""
    entries, prev, amount = [], GENESIS, 50_000_000
    for seq in range(1, n + 1):
        amount -= rng.randint(1, 500)
        at = T0 + seq * 400
        event = msgspec.json.encode(
            BidAccepted(
                at=at,
                bid_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                lot_id=f"L{rng.randint(1, 3)}",
                supplier=f"supplier-{rng.randint(1, 20):04d}",
                amount=amount,
            )
        )
        entry, prev = seal_with_hash(seq, at, FORMAT, prev, event)
        entries.append(entry)
    return entries


async def measure(url: str, *keys: str) -> tuple[int, list[int]]:
    """``used_memory`` and the exact ``MEMORY USAGE`` of ``keys``, on the only connection."""
    redis = Redis.from_url(url)
    try:
        for _ in range(1000):  # the server frees closed connections on its next loop turn
            if int((await redis.info("clients"))["connected_clients"]) == 1:
                break
            await asyncio.sleep(0.005)
        else:
            raise RuntimeError("the journal's connections are still open")
        used = int((await redis.info("memory"))["used_memory"])
        sizes = [await redis.memory_usage(key, samples=0) or 0 for key in keys]
        return used, sizes
    finally:
        await redis.aclose()


async def connected(server: EmbeddedRedis) -> RedisJournal:
    journal = RedisJournal(server.url)
    await journal.connect()
    return journal


async def archive_and_trim(journal: RedisJournal, archives: Archives, auction_id: str) -> float:
    """The runtime's sequence for a finished auction; returns the archive's write time (ms)."""
    started = time.perf_counter()
    entries = await journal.read(auction_id)
    manifest = await asyncio.to_thread(archives.write, auction_id, entries, archived_at=T0)
    write_ms = (time.perf_counter() - started) * 1000
    await journal.trim_archived(auction_id, manifest.head_seq, manifest.head_hash)
    return write_ms


async def finished_auction(journal: RedisJournal, auction_id: str, entries: list[bytes]) -> None:
    for first in range(1, len(entries) + 1, BATCH):
        await journal.append(auction_id, first, entries[first - 1 : first - 1 + BATCH])
    await journal.mark_finished(auction_id)


async def one_auction(server: EmbeddedRedis, archives: Archives, n: int) -> str:
    """The same cycle twice on one server: the first warms it up, the second is measured."""
    entries = bid_events(n, random.Random(n))
    await measured_cycle(server, archives, f"warm-up-{n}", entries)
    auction_id = f"a{n:016x}"
    before, with_it, stream, after, left, write_ms = await measured_cycle(
        server, archives, auction_id, entries
    )
    raw = sum(len(e) for e in entries)
    gz = archives.entries_path(auction_id).stat().st_size
    return (
        f"{n:>6} events | envelopes {raw / n:4.0f} B each, {raw / 1024:6.0f} KiB | "
        f"stream MEMORY USAGE {stream / 1024:6.0f} KiB ({stream / n:4.0f} B/event) | "
        f"used_memory {(with_it - before) / 1024:+6.0f} KiB with it, "
        f"{(after - before):+d} B after trim (stream {left} B) | "
        f"archive {gz / 1024:5.0f} KiB gz, read+written+verified in {write_ms:4.0f} ms"
    )


async def measured_cycle(
    server: EmbeddedRedis, archives: Archives, auction_id: str, entries: list[bytes]
) -> tuple[int, int, int, int, int, float]:
    """used_memory before, used_memory and the stream's size once the auction is finished,
    used_memory and the stream's size after the trim, and the archive's write time."""
    before, _ = await measure(server.url)
    journal = await connected(server)
    key = journal.stream_key(auction_id)
    await finished_auction(journal, auction_id, entries)
    await journal.close()
    with_it, [stream] = await measure(server.url, key)
    journal = await connected(server)
    write_ms = await archive_and_trim(journal, archives, auction_id)
    await journal.close()
    after, [left] = await measure(server.url, key)
    return before, with_it, stream, after, left, write_ms


async def residue(server: EmbeddedRedis, auctions: int) -> str:
    """What stays of each archived auction, at scale (by the second round the sets and the hash
    are hash tables, as on a server that ran for months)."""
    [entry] = bid_events(1, random.Random(0))
    head = msgspec.json.decode(entry)["hash"]
    journal = RedisJournal(server.url)
    keys = {
        "index set": journal.index_key,
        "finished set": journal.finished_key,
        "archived hash": journal.archived_key,
    }
    rng = random.Random(auctions)
    for _ in range(2):
        ids = [f"a{rng.getrandbits(64):016x}" for _ in range(auctions)]
        before, sizes_before = await measure(server.url, *keys.values())
        journal = await connected(server)
        for i in range(0, auctions, CONCURRENCY):
            chunk = ids[i : i + CONCURRENCY]
            await journal.append_many([AppendRequest(a, 1, [entry]) for a in chunk])
            await asyncio.gather(*(journal.mark_finished(a) for a in chunk))
        await journal.close()
        streams, _ = await measure(server.url)
        journal = await connected(server)
        for i in range(0, auctions, CONCURRENCY):
            chunk = ids[i : i + CONCURRENCY]
            await asyncio.gather(*(journal.trim_archived(a, 1, head) for a in chunk))
        await journal.close()
        after, sizes = await measure(server.url, *keys.values())
    grown = [(a - b) / auctions for a, b in zip(sizes, sizes_before, strict=True)]
    parts = ", ".join(f"{name} {size:.1f}" for name, size in zip(keys, grown, strict=True))
    return (
        f"{auctions} archived auctions more (after {auctions}): MEMORY USAGE {sum(grown):+.1f} B "
        f"each ({parts}); used_memory {(after - before) / auctions:+.1f} B each "
        f"({(streams - before) / auctions:+.1f} B each before the trim, one-event streams); "
        f"in all {sum(sizes) / (2 * auctions):.1f} B each by MEMORY USAGE"
    )


async def server_name(server: EmbeddedRedis) -> str:
    redis = Redis.from_url(server.url)
    info = await redis.info("server")
    await redis.aclose()
    name = info.get("server_name", "redis")
    version = info.get(f"{name}_version", info["redis_version"])
    return f"{name} {version} ({server.executable or 'as embedded'}), a fresh one for each line"


async def run(args: argparse.Namespace, tmp: Path) -> None:
    archives = Archives(tmp / "archive")
    for n in args.events:
        with EmbeddedRedis(tmp / f"redis-{n}", executable=args.server) as server:
            if n == args.events[0]:
                print(await server_name(server))
            print(await one_auction(server, archives, n))
    with EmbeddedRedis(tmp / "redis-residue", executable=args.server) as server:
        print(await residue(server, args.auctions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--auctions", type=int, default=10000)
    parser.add_argument("--server", help="redis-server or valkey-server (default: as embedded)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="archive-memory-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
