"""The supplier registry over HTTP: searching and reading 100,000 real supplier records through
the running server (issue 12: "listing and searching suppliers by name, code, category and status
is paginated with p99 <= 50 ms").

    python -m loadtests.registry_http_bench [--suppliers 100000] [--samples 300] [--seed 1]

Why another benchmark beside ``loadtests.registry_bench``: that one times the store's calls with
synthetic record bytes; what a buyer waits for is the route, which also decodes the token, checks
the permission table, restores each record of the page from its bytes, works out its status and
standing at the server's clock and encodes the page as JSON. So the records here are real ones,
made by the production path, and the timings are of the real server process.

1. **Fill.** A fresh durable Redis (``EmbeddedRedis``: AOF ``appendfsync always``, as in
   production) is filled by ``Admission.act`` (decide, compare-and-set, durable before it
   answers), 32 suppliers in flight: each supplier registers (``Register``: a valid identifier,
   checked by its country's rules: a Chinese unified social credit code, a German, Polish or UK
   VAT number; a Latin, accented or Chinese legal name, as the store benchmark makes them; 1 to
   4 of 50 real CPV codes), then a reviewer qualifies it in (70 %) or rejects it from (15 %)
   each category, the rest left pending review; 3 % are blacklisted for 90 days and 3 %
   suspended until lifted.
2. **Requests.** ``bidserver serve`` is started on that Redis (loopback, a free port, the token key
   in ``BIDSERVER_JWT_KEY``), and this process sends requests one at a time over one keep-alive
   connection (latency, not throughput; the client's time included), ``--samples`` of each:
   searches (a name prefix of 1 to 3 characters, an identifier prefix, a category's qualified
   suppliers, a name prefix within them, the blacklisted, the reviewers' queue), the pages deep
   into category listings (every ``next_cursor`` followed), one supplier's record, and an
   invitation to a draft auction of a category: admitted (the registry's lookup, the invitation
   noted and journaled durably) and refused (409 ``supplier_not_eligible``: the lookup alone).

Figures are printed as a table; the smoke test (tests/loadtests/test_registry_http_bench_smoke.py)
runs it at a tiny size and asserts the rows, never the figures. Figures and how to read them:
docs/performance.md, "The supplier registry (issue 12)".
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.resources
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
from stdnum.cn import uscc
from stdnum.gb import vat as gb_vat
from stdnum.iso7064 import mod_11_10
from stdnum.pl import nip

from bidserver.auth import mint_token
from bidserver.engine.admission.commands import Command, Qualify, Register, Reject, Restrict
from bidserver.engine.admission.values import Registration, RestrictionKind
from bidserver.engine.rejections import Rejection
from bidserver.engine.values import Actor, Role
from bidserver.runtime.admission import Admission
from bidserver.store.redis_journal import RedisJournal
from bidserver.store.suppliers import RedisSuppliers
from loadtests.bench import BUYER, JWT_KEY, Server, machine, percentile
from loadtests.registry_bench import name_of

IN_FLIGHT = 32
TARGET_MS = 50.0
PER_AUCTION = 20  # invitations to one draft auction before the next: its answer stays small
DAY_MS = 24 * 3600 * 1000
REVIEWER = Actor(Role.PLATFORM, "platform", "rita")
REGIONS = ["110000", "310000", "440300", "440100", "330100", "320100", "510100", "420100",
           "120000", "500000", "320500", "610100"]  # the cities' administrative division codes


def cpv_codes(count: int = 50) -> list[str]:
    """``count`` real CPV codes, spread over the list: its groups (``XXX00000-Y``), evenly."""
    data = importlib.resources.files("bidserver.engine.admission").joinpath("cpv_en.json")
    codes = sorted(msgspec.json.decode(data.read_bytes(), type=dict[str, str]))
    groups = [c for c in codes if c[3:8] == "00000"]
    return groups[:: len(groups) // count][:count]


CATEGORIES = cpv_codes()


def identifier(i: int, country: str) -> str:
    """A valid identifier of ``country``, unique for ``i``, as a supplier would type it."""
    if country == "CN":
        body = f"91{REGIONS[i % len(REGIONS)]}MA{i:07d}"  # 17 characters; the 18th checks them
        return body + uscc.calc_check_digit(body)
    if country == "DE":
        body = str(10_000_000 + i)
        return f"DE {body}{mod_11_10.calc_check_digit(body)}"
    if country == "PL":
        for j in range(10):  # a NIP whose check would be 10 does not exist: the next one does
            body = str(100_000_000 + i * 10 + j)
            check = sum(w * int(d) for w, d in zip((6, 5, 7, 2, 3, 4, 5, 6, 7), body)) % 11
            if check < 10:
                return f"PL{body}{check}"
        raise AssertionError("no valid NIP among ten")
    body = f"{100 + i // 10_000:03d}{i % 10_000:04d}"  # GB: two check digits make 0 mod 97
    total = gb_vat.checksum(body + "00")
    return f"GB {body}{(97 - total) % 97:02d}"


def registration(i: int, rng: random.Random) -> tuple[Registration, list[str]]:
    """A supplier's registration (checked as the HTTP body would be) and its categories."""
    name = name_of(rng)  # the store benchmark's: 30 % Chinese, 10 % accented, 60 % Latin
    country = "CN" if "\u4e00" <= name[0] else rng.choice(["DE", "PL", "GB"])
    cats = rng.sample(CATEGORIES, rng.randint(1, 4))
    body = {"legal_name": name, "country": country, "identifier": identifier(i, country),
            "contacts": [{"name": "Tenders desk", "email": f"tenders@s{i}.example.com",
                          "phone": "+44 20 7946 0000"}],
            "categories": cats}
    return msgspec.convert(body, Registration), cats


@dataclass
class Made:
    """What the requests need of the suppliers made: ids, names, identifiers, and who is
    eligible (qualified, unrestricted) or not in each category."""

    names: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    name_by_id: dict[str, str] = field(default_factory=dict)
    eligible: dict[str, list[str]] = field(default_factory=dict)
    ineligible: dict[str, list[str]] = field(default_factory=dict)
    acts: int = 0


async def supplier(admission: Admission, i: int, rng: random.Random, made: Made, now: int) -> None:
    """Register supplier ``i``, decide its categories and perhaps restrict it: each a command
    through ``Admission.act``, stored durably before the next."""
    sid = f"sup-{i:06d}"
    reg, cats = registration(i, rng)
    commands: list[Command] = [Register(actor=Actor(Role.SUPPLIER, sid, "admin"), at=0,
                                        registration=reg)]
    qualified = []
    for category in cats:
        roll = rng.random()
        if roll < 0.70:
            commands.append(Qualify(actor=REVIEWER, at=0, category=category,
                                    reason="licence and ISO 9001 checked"))
            qualified.append(category)
        elif roll < 0.85:
            commands.append(Reject(actor=REVIEWER, at=0, category=category,
                                   reason="no certificate for this category"))
    restricted = rng.random()
    if restricted < 0.03:
        commands.append(Restrict(actor=REVIEWER, at=0, kind=RestrictionKind.BLACKLISTED,
                                 reason="false declaration in a tender", end_at=now + 90 * DAY_MS))
    elif restricted < 0.06:
        commands.append(Restrict(actor=REVIEWER, at=0, kind=RestrictionKind.SUSPENDED,
                                 reason="complaint under examination"))
    for command in commands:
        result = await admission.act(sid, command)
        if isinstance(result, Rejection):
            raise RuntimeError(f"{sid}: {type(command).__name__} refused: {result}")
    made.acts += len(commands)
    made.ids.append(sid)
    made.names.append(reg.legal_name)
    made.name_by_id[sid] = reg.legal_name
    made.codes.append(result.registration.identifier)
    for category in cats:
        ok = category in qualified and restricted >= 0.06
        (made.eligible if ok else made.ineligible).setdefault(category, []).append(sid)


async def fill(url: str, count: int, rng: random.Random) -> tuple[Made, float]:
    journal = RedisJournal(url, socket_timeout=30.0, waitaof_timeout_ms=1000)
    await journal.connect()
    admission = Admission(RedisSuppliers(journal), lambda: time.time_ns() // 1_000_000)
    made = Made()
    numbers = iter(range(count))
    now = admission.now()

    async def worker() -> None:
        for i in numbers:
            await supplier(admission, i, rng, made, now)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    finally:
        await journal.close()
    return made, time.perf_counter() - started


# ------------------------------------------------------------------ requests


def bearer(role: str, party: str, user: str) -> dict[str, str]:
    return {"authorization": f"Bearer {mint_token(JWT_KEY, role=role, party=party, user=user)}"}


BUYER_HEADERS = bearer("buyer", BUYER, "bea")
REVIEWER_HEADERS = bearer("platform", "platform", "rita")


@dataclass
class Timed:
    """One kind of request: each one's time, and the items of each page answered."""

    took: list[float] = field(default_factory=list)
    items: list[int] = field(default_factory=list)


class Client:
    """One keep-alive connection; each request timed from its send to its whole answer read,
    and its status checked (a benchmark that measured refusals would mislead)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60,
                                      limits=httpx.Limits(max_connections=1))

    async def call(self, into: Timed | None, method: str, path: str, *, expect: int = 200,
                   headers: dict[str, str] = BUYER_HEADERS, **kwargs: Any) -> dict:
        started = time.perf_counter()
        answer = await self.http.request(method, path, headers=headers, **kwargs)
        took = time.perf_counter() - started
        if answer.status_code != expect:
            raise RuntimeError(f"{method} {path} {kwargs}: {answer.status_code} "
                               f"{answer.text[:300]}")
        body = answer.json()
        if into is not None:
            into.took.append(took)
            if "items" in body:
                into.items.append(len(body["items"]))
        return body

    async def page(self, into: Timed, params: dict[str, str],
                   headers: dict[str, str] = BUYER_HEADERS) -> dict:
        return await self.call(into, "GET", "/api/suppliers", params=params, headers=headers)


def prefix(rng: random.Random, names: list[str]) -> str:
    """The start of a real name as a buyer types it: 1-2 characters of a Chinese one (a city),
    1-3 of another."""
    name = rng.choice(names)
    return name[: rng.randint(1, 2)] if "\u4e00" <= name[0] else name[: rng.randint(1, 3)]


async def searches(client: Client, made: Made, samples: int, rng: random.Random) -> dict:
    out: dict[str, Timed] = {key: Timed() for key in (
        "q", "code", "category", "q_category", "blacklisted", "review", "deep", "record")}
    for _ in range(samples):
        await client.page(out["q"], {"q": prefix(rng, made.names)})
    for _ in range(samples):
        await client.page(out["code"], {"code": rng.choice(made.codes)[: rng.randint(4, 6)]})
    for _ in range(samples):
        await client.page(out["category"],
                          {"category": rng.choice(CATEGORIES), "status": "qualified"})
    for _ in range(samples):  # a picker: the start of the name of one of its suppliers
        category = rng.choice([c for c in CATEGORIES if made.eligible.get(c)])
        name = made.name_by_id[rng.choice(made.eligible[category])]
        await client.page(out["q_category"], {"q": prefix(rng, [name]), "category": category,
                                              "status": "qualified"})
    for _ in range(samples):
        await client.page(out["blacklisted"], {"status": "blacklisted"}, REVIEWER_HEADERS)
    for _ in range(samples):
        await client.page(out["review"], {"review": "pending"}, REVIEWER_HEADERS)
    listings = []
    for category in CATEGORIES[: max(1, samples // 100)]:
        cursor, pages = None, 0
        while True:
            params = {"category": category, "status": "qualified",
                      **({"cursor": cursor} if cursor else {})}
            cursor = (await client.page(out["deep"], params))["next_cursor"]
            pages += 1
            if cursor is None:
                break
        listings.append(pages)
    for _ in range(samples):
        await client.call(out["record"], "GET", f"/api/suppliers/{rng.choice(made.ids)}")
    return {"timed": out, "listings": listings}


async def draft_auction(client: Client, category: str) -> str:
    config = {"title": "Registry benchmark", "currency": "EUR", "category": category,
              "lots": [{"lot_id": "L1", "title": "Lot 1", "ceiling": 1_000_000}],
              "duration_ms": 3_600_000, "decrement": {"kind": "amount", "value": 100}}
    answer = await client.call(None, "POST", "/api/auctions", json={"config": config}, expect=201)
    return answer["view"]["auction_id"]


async def invitations(client: Client, made: Made, samples: int, rng: random.Random) -> dict:
    """Invitations to draft auctions of a category, the suppliers drawn from its eligible ones
    (admitted: 200) or from those who applied and are not (refused: 409)."""
    out = {"admitted": Timed(), "refused": Timed()}
    for kind, pool, expect in (("admitted", made.eligible, 200), ("refused", made.ineligible, 409)):
        done = 0
        while done < samples:
            category = rng.choice([c for c in CATEGORIES if pool.get(c)])
            auction = await draft_auction(client, category)
            for sid in rng.sample(pool[category], min(PER_AUCTION, len(pool[category]),
                                                      samples - done)):
                await client.call(out[kind], "POST", f"/api/auctions/{auction}/invitations",
                                  json={"supplier": sid}, expect=expect)
                done += 1
    return out


async def measure(server: Server, made: Made, samples: int, rng: random.Random) -> dict:
    client = Client(server.base_url)
    try:
        for _ in range(5):  # the connection opened and the server's first requests behind us
            await client.page(Timed(), {"q": prefix(rng, made.names)})
        found = await searches(client, made, samples, rng)
        found["timed"].update(await invitations(client, made, samples, rng))
    finally:
        await client.http.aclose()
    return found


# ------------------------------------------------------------------ report


def ms(values: list[float], q: float) -> str:
    value = percentile(sorted(values), q)
    return "-" if value is None else f"{value * 1000:.1f}"


def report(args: argparse.Namespace, argv: list[str], info: dict, made: Made, fill_s: float,
           found: dict) -> str:
    timed, listings = found["timed"], found["listings"]
    n = args.suppliers

    def row(label: str, key: str, target: bool = True) -> str:
        t = timed[key]
        items = f"{sum(t.items) / len(t.items):.1f}" if t.items else "-"
        p99 = percentile(sorted(t.took), 99)
        met = ("" if not target else "-" if p99 is None
               else "yes" if p99 * 1000 <= TARGET_MS else "**no**")
        took = f"{ms(t.took, 50)} / {ms(t.took, 99)}"
        return f"| {label} | {len(t.took)} | {took} | {items} | {met} |"

    rows = [
        row("`GET /api/suppliers?q=` a name prefix (1-3 characters)", "q"),
        row("`?code=` an identifier prefix (4-6 characters)", "code"),
        row("`?category=X&status=qualified`, the first page", "category"),
        row("`?q=&category=X&status=qualified`, the start of one of its suppliers' names",
            "q_category"),
        row("`?status=blacklisted` (reviewer)", "blacklisted"),
        row("`?review=pending`, the reviewers' queue (reviewer)", "review"),
        row(f"pages deep into `?category=X&status=qualified` (every `next_cursor` followed, "
            f"{len(listings)} listings, up to {max(listings, default=0)} pages), per page",
            "deep"),
        row("`GET /api/suppliers/{id}`, one record with its standings", "record", False),
        row("`POST /api/auctions/{id}/invitations`, admitted (the registry's lookup, the "
            "invitation noted and journaled durably)", "admitted", False),
        row("`POST /api/auctions/{id}/invitations`, refused 409 `supplier_not_eligible`",
            "refused", False),
    ]
    head = [
        f"command: python -m loadtests.registry_http_bench {' '.join(argv)}".rstrip(),
        f"date: {info['date']}; machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, "
        f"{info['kernel']}; Python {info['python']}; {info['redis']}",
        f"suppliers: {n}, in {len(CATEGORIES)} categories; fill through Admission.act (durable, "
        f"{IN_FLIGHT} in flight): {made.acts} commands in {fill_s:.1f} s, "
        f"{made.acts / fill_s:.0f} commands/s",
        "load average (1 min) when the requests began / ended: {:.2f} / {:.2f} (the machine's "
        "other work shows in the p99s)".format(*found["load"]),
        "", f"| request (one at a time) | requests | p50 / p99 ms | items per page | "
        f"p99 <= {TARGET_MS:g} ms |", "|---|---|---|---|---|",
    ]
    return "\n".join(head + rows)


async def amain(args: argparse.Namespace, argv: list[str]) -> int:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bidserver-registry-http-bench-") as work:
        server = Server("bidserver", Path(work))
        try:
            server.redis.start()
            made, fill_s = await fill(server.redis.url, args.suppliers, rng)
            await server.start()
            load = os.getloadavg()[0]
            found = await measure(server, made, args.samples, rng)
            found["load"] = (load, os.getloadavg()[0])
        finally:
            await server.stop()
            server.close()
    print(report(args, argv, machine(), made, fill_s, found))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300, help="requests of each kind; the "
                        "listings followed deep: one per hundred")
    parser.add_argument("--seed", type=int, default=1)
    argv = sys.argv[1:] if argv is None else argv
    return asyncio.run(amain(parser.parse_args(argv), argv))


if __name__ == "__main__":
    sys.exit(main())
