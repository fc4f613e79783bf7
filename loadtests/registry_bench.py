"""The supplier registry's storage at scale: lookups, searches and memory with 100,000 suppliers.

    python -m loadtests.registry_bench [--suppliers 100000] [--samples 2000] [--seed 1]

A fresh durable Redis (``EmbeddedRedis``: AOF ``appendfsync always`` as in production, unix
socket, in a temporary directory) is filled through ``RedisSuppliers.append`` (the production
write: one script, fsynced before it returns; 32 in flight) with ``--suppliers`` synthetic
suppliers: Latin, accented and Chinese company names, unique identifiers, 1 to 4 of 50
categories each with a status, an overall status, a due time for half of them, a record of
1-2 KB and 2 to 5 events of 200-600 bytes. Then, one call at a time (latency, not throughput),
from this process over the socket, the client's own time included:

* the eligibility lookup (``get``), and ``get_many`` of 50 (a picker's page);
* searches, 50 a page: by name prefix (1-3 folded characters, Latin or Chinese), by category and
  status (two tags), by prefix and tag, by identifier prefix; the first page of each;
* the worst case of a search: two large tags that no supplier has both, so every call walks its
  whole scan budget (``DEFAULT_SCAN_BUDGET`` members) and comes back empty with a cursor;
* pages deep into a result: following the cursors of a whole category+status listing.

And Redis's ``used_memory`` grown by the fill, in all and per supplier. Figures are printed as a
table; the smoke test (tests/loadtests/test_registry_bench_smoke.py) runs it at a tiny size and
asserts the rows, never the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import string
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bidserver.store.embedded import EmbeddedRedis
from bidserver.store.redis_journal import RedisJournal
from bidserver.store.suppliers import DEFAULT_SCAN_BUDGET, Indexed, RedisSuppliers
from loadtests.bench import machine, percentile

CATEGORIES = [f"{(3 + 2 * i) * 1_000_000 + 100_000 * (i % 9):08d}-{i % 10}" for i in range(50)]
STATUSES = ["qualified"] * 12 + ["pending"] * 5 + ["rejected"] + ["suspended"] * 2
OVERALL = {"qualified": 60, "pending": 25, "rejected": 5, "suspended": 7, "blacklisted": 3}
LATIN = ["Acme", "Northwind", "Global", "Baltic", "Danube", "Atlas", "Nordic", "Alpine", "Iberia",
         "Meridian", "Summit", "Harbor", "Pioneer", "Vertex", "Orion", "Sterling", "Apex", "Delta"]
TRADES = ["Trading", "Construction", "Medical", "Supplies", "Logistics", "Engineering", "Foods",
          "Energy", "Systems", "Textiles", "Chemicals", "Printing", "Security", "Office"]
FORMS = ["Ltd", "GmbH", "S.A.", "S.p.A.", "B.V.", "AB", "Oy", "SAS", "sp. z o.o.", "a.s."]
ACCENTED = ["Société Générale de Travaux", "Bäckerei Müller", "Łódzkie Zakłady", "Škoda Dodávky",
            "Ørsted Service", "Überland Bau", "Éclair Nettoyage", "Čistírna Brno"]
CITIES = ["北京", "上海", "深圳", "广州", "杭州", "南京", "成都", "武汉", "天津", "重庆", "苏州", "西安"]
INDUSTRIES = ["建工", "医疗器械", "电气", "科技", "物流", "化工", "食品", "纺织", "安防", "印务",
              "能源", "信息技术", "环保", "机械"]
IN_FLIGHT = 32


def name_of(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return f"{rng.choice(CITIES)}{rng.choice(INDUSTRIES)}{rng.choice(['', '集团', '股份'])}有限公司"
    if roll < 0.4:
        return f"{rng.choice(ACCENTED)} {rng.randint(1, 999)}"
    return f"{rng.choice(LATIN)} {rng.choice(TRADES)} {rng.randint(1, 9999)} {rng.choice(FORMS)}"


def code_of(i: int, rng: random.Random) -> str:
    tail = "".join(rng.choices(string.digits + "ABCDEFGHJKLMNPQRTUWXY", k=8))
    country = rng.choice(["CN", "DE", "FR", "PL", "IT", "GB"])
    return f"{country}{i:08d}{tail}"


def padding(rng: random.Random, size: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits + " ", k=size))


def supplier(i: int, rng: random.Random) -> tuple[str, list[bytes], bytes, Indexed, int | None]:
    """One synthetic supplier: id, events, record (JSON-like bytes of 1-2 KB), index fields."""
    sid = f"org-{i:06d}"
    name = name_of(rng)
    cats = {c: rng.choice(STATUSES) for c in rng.sample(CATEGORIES, rng.randint(1, 4))}
    status = rng.choices(list(OVERALL), weights=list(OVERALL.values()))[0]
    tags = frozenset({f"status:{status}", *(f"cat:{c}:{s}" for c, s in cats.items())})
    events = [f'{{"type":"event_{k}","at":{1_700_000_000_000 + k},"by":"u-{i}","detail":"'
              f'{padding(rng, rng.randint(150, 550))}"}}'.encode()
              for k in range(rng.randint(2, 5))]
    record = (f'{{"id":"{sid}","legal_name":"{name}","categories":{list(cats)},"documents":"'
              f'{padding(rng, rng.randint(900, 1900))}"}}').encode()
    due = 1_800_000_000_000 + rng.randint(0, 31_536_000_000) if rng.random() < 0.5 else None
    return sid, events, record, Indexed(name, code_of(i, rng), tags), due


async def fill(
    store: RedisSuppliers, count: int, rng: random.Random
) -> tuple[list[tuple[str, Indexed]], float]:
    """Append ``count`` suppliers; returns what the searches need of them (id, index fields)
    and the time it took (the records made on the way, not kept)."""
    made: list[tuple[str, Indexed]] = []
    numbers = iter(range(count))

    async def worker() -> None:
        for i in numbers:
            sid, events, record, indexed, due = supplier(i, rng)
            made.append((sid, indexed))
            await store.append(sid, 0, events, record, indexed, due)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return made, time.perf_counter() - started


async def timed(calls: list[Callable[[], Awaitable[object]]]) -> list[float]:
    """Each call's time, one at a time, sorted."""
    took = []
    for call in calls:
        started = time.perf_counter()
        await call()
        took.append(time.perf_counter() - started)
    return sorted(took)


def ms(values: list[float], q: float) -> str:
    value = percentile(values, q)
    return "-" if value is None else f"{value * 1000:.2f}"


async def measure(store: RedisSuppliers, made: list, samples: int, rng: random.Random) -> dict:
    ids = [sid for sid, _indexed in made]
    names = [indexed.name for _sid, indexed in made]
    codes = [indexed.code for _sid, indexed in made]
    few = max(10, samples // 4)
    out: dict[str, list[float]] = {}
    out["get"] = await timed([lambda s=rng.choice(ids): store.get(s) for _ in range(samples)])
    out["get_many"] = await timed([lambda b=rng.sample(ids, 50): store.get_many(b)
                                   for _ in range(few)])
    pages: dict[str, list[int]] = {}

    async def search(kind: str, *args) -> None:
        page = await store.search(*args)
        pages.setdefault(kind, []).append(len(page.ids))

    def prefix() -> str:
        name = rng.choice(names)
        return name[: rng.randint(1, 2)] if "\u4e00" <= name[0] else name[: rng.randint(1, 3)]

    def category_tags() -> list[str]:
        return [f"cat:{rng.choice(CATEGORIES)}:qualified", "status:qualified"]

    out["prefix"] = await timed([lambda p=prefix(): search("prefix", p) for _ in range(few)])
    out["tags"] = await timed([lambda t=category_tags(): search("tags", "", t)
                               for _ in range(few)])
    out["prefix_tag"] = await timed([lambda p=prefix(), c=rng.choice(CATEGORIES):
                                     search("prefix_tag", p, [f"cat:{c}:qualified"])
                                     for _ in range(few)])
    out["code"] = await timed([lambda c=rng.choice(codes)[:5]: store.search_code(c)
                               for _ in range(few)])
    worst = ["status:pending", "status:qualified"]  # two large sets, no supplier in both
    out["budget"] = await timed([lambda: search("budget", "", worst) for _ in range(few)])
    deep: list[float] = []
    depth: list[int] = []
    for c in CATEGORIES[: max(2, few // 25)]:
        after, n = None, 0
        while True:
            started = time.perf_counter()
            page = await store.search("", [f"cat:{c}:qualified", "status:qualified"], after, 50)
            deep.append(time.perf_counter() - started)
            n += 1
            if page.next is None:
                break
            after = page.next
        depth.append(n)
    out["deep"] = sorted(deep)
    return {"latency": out, "pages": pages, "depth": depth}


async def used_memory(journal: RedisJournal) -> int:
    return int((await journal.redis.info("memory"))["used_memory"])


def report(args: argparse.Namespace, argv: list[str], info: dict, fill_s: float, memory: int,
           aof: int, m: dict) -> str:
    lat, pages, depth = m["latency"], m["pages"], m["depth"]
    n = args.suppliers

    def row(label: str, key: str) -> tuple[str, str]:
        return label, f"{ms(lat[key], 50)} / {ms(lat[key], 99)}"

    def mean(kind: str) -> str:
        found = pages.get(kind, [])
        return f"{sum(found) / len(found):.1f}" if found else "-"

    rows = [
        (f"fill: {n} suppliers through append (durable, {IN_FLIGHT} in flight), s / appends/s",
         f"{fill_s:.1f} / {n / fill_s:.0f}"),
        row(f"eligibility lookup get, p50 / p99 ms ({len(lat['get'])} calls)", "get"),
        row("get_many of 50 ids (one pipeline), p50 / p99 ms", "get_many"),
        row(f"search by name prefix (1-3 chars), first page of 50, p50 / p99 ms "
            f"(mean ids {mean('prefix')})", "prefix"),
        row(f"search by category + status (2 tags), p50 / p99 ms (mean ids {mean('tags')})",
            "tags"),
        row(f"search by name prefix + category tag, p50 / p99 ms (mean ids {mean('prefix_tag')})",
            "prefix_tag"),
        row("search by identifier prefix (5 chars), p50 / p99 ms", "code"),
        row("search, the worst case: two large tags no supplier has both (each call examines "
            f"the whole scan budget, {DEFAULT_SCAN_BUDGET}, and answers with a cursor), "
            "p50 / p99 ms", "budget"),
        row(f"pages deep into a category+status listing (every cursor followed, "
            f"{len(depth)} listings, up to {max(depth, default=0)} pages), per page p50 / p99 ms",
            "deep"),
        ("Redis used_memory grown by the fill, MB / per supplier, KB",
         f"{memory / 1e6:.1f} / {memory / n / 1e3:.2f}"),
        ("AOF on disk after the fill, MB / per supplier, KB",
         f"{aof / 1e6:.1f} / {aof / n / 1e3:.2f}"),
    ]
    head = [
        f"command: python -m loadtests.registry_bench {' '.join(argv)}".rstrip(),
        f"date: {info['date']}; machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, "
        f"{info['kernel']}; Python {info['python']}; {info['redis']}",
        "", "| measure | figure |", "|---|---|",
    ]
    return "\n".join(head + [f"| {a} | {b} |" for a, b in rows])


async def amain(args: argparse.Namespace, argv: list[str]) -> int:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bidserver-registry-bench-") as work, \
            EmbeddedRedis(Path(work) / "redis") as server:
        journal = RedisJournal(server.url, socket_timeout=30.0, waitaof_timeout_ms=1000)
        await journal.connect()
        store = RedisSuppliers(journal)
        before = await used_memory(journal)
        made, fill_s = await fill(store, args.suppliers, rng)
        memory = await used_memory(journal) - before
        aof = sum(p.stat().st_size for p in (Path(work) / "redis").rglob("*") if p.is_file()
                  and "appendonly" in str(p))
        m = await measure(store, made, args.samples, rng)
        await journal.close()
        print(report(args, argv, machine(), fill_s, memory, aof, m))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=2000, help="get calls; a quarter of it "
                        "for each kind of search")
    parser.add_argument("--seed", type=int, default=1)
    argv = sys.argv[1:] if argv is None else argv
    return asyncio.run(amain(parser.parse_args(argv), argv))


if __name__ == "__main__":
    sys.exit(main())
