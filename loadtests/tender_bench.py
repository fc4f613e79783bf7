"""Sealed tenders under load (issue 11's speed targets): a deadline rush, and an opening.

    python -m loadtests.tender_bench [--quick] [--bidders 2000] [--rush-s 60] [--peak-rate 200]
                                     [--open-bids 1000]

A real ``bidserver serve`` on loopback with its own fresh Redis (``loadtests.bench.Server``, the
auction benchmark's), driven over its HTTP API and live room by this one process:

1. **Deadline rush.** A tender with ``--bidders`` invited suppliers; every supplier submits one
   sealed bid (sealed beforehand, as a supplier's client does before it sends) within the last
   ``--rush-s`` seconds before the deadline: half of them spread evenly over the first part, the
   other half at ``--peak-rate`` a second at the end (2,000 bids: 1,000 over 55 s, then 1,000 in
   the last 5 s). Each submission is timed from its request to its answer: the answer comes only
   once the bid is durable in Redis (the journal's rule) and carries the signed receipt. The
   server's RSS and Redis's ``used_memory`` are read before the tender is created and after its
   bids: the memory the open tender costs.
2. **Opening.** Another tender with ``--open-bids`` sealed bids, officers 2 of 3. After its
   deadline every bidder connects to the live room; the first officer presents a share (not
   timed), then the second: the timer runs from that request until the last bidder's socket has
   received the opening record (every bid decrypted, its commitment checked, the record
   journaled and sent to all), with the share's own answer time on the way.

Every address is loopback; every wait is bounded. ``--quick`` runs tiny sizes (the smoke test:
its figures mean nothing). Figures and how to read them: docs/performance.md, "Sealed tenders".
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
import websockets

from bidserver.auth import mint_token
from bidserver.sealing import FIRST as SUITE
from bidserver.sealing.bid import LotPrice, bid_content, seal_bid
from bidserver.sealing.shamir import share_to_text, split
from loadtests.bench import BUYER, HOST, JWT_KEY, Server, machine, percentile, proc_rss

DOCS = "sha256:" + "ee" * 32
TIMEOUT_S = 120.0


@dataclass
class Sizes:
    bidders: int = 2000
    rush_s: float = 60.0
    peak_rate: float = 200.0
    open_bids: int = 1000


QUICK = Sizes(bidders=20, rush_s=3.0, peak_rate=50.0, open_bids=10)


def officer(user: str) -> str:
    return mint_token(JWT_KEY, role="buyer", party=BUYER, user=user)


def supplier(party: str) -> str:
    return mint_token(JWT_KEY, role="supplier", party=party)


class Api:
    """The HTTP API with a pool of connections; each call's status checked."""

    def __init__(self, server: Server) -> None:
        self.http = httpx.AsyncClient(base_url=server.base_url, timeout=30,
                                      limits=httpx.Limits(max_connections=256))
        self.buyer = officer("clerk")

    async def call(self, bearer: str, path: str, body: Any = None, method: str = "POST") -> dict:
        answer = await self.http.request(method, path, json=body,
                                         headers={"authorization": f"Bearer {bearer}"})
        if answer.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    async def tender(self, title: str, parties: list[str], public: bytes, deadline: int) -> str:
        """A published tender, officers 2 of 3, with these suppliers invited."""
        config = {
            "title": title, "currency": "EUR", "documents_hash": DOCS,
            "lots": [{"lot_id": "L1", "title": "Lot 1"}],
            "public_key": base64.b64encode(public).decode(),
            "officers": ["off-1", "off-2", "off-3"], "k": 2,
            "schedule": {"enquiry_end_at": deadline - 1, "submission_deadline_at": deadline,
                         "opening_at": deadline},
        }
        tender = (await self.call(self.buyer, "/api/tenders", {"config": config}))["view"]["tender_id"]
        gate = asyncio.Semaphore(16)

        async def invite(party: str) -> None:
            async with gate:
                await self.call(self.buyer, f"/api/tenders/{tender}/invitations", {"supplier": party})

        await asyncio.gather(*(invite(p) for p in parties))
        await self.call(self.buyer, f"/api/tenders/{tender}/publish")
        return tender

    async def phase_becomes(self, tender: str, phase: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            view = (await self.call(self.buyer, f"/api/auctions/{tender}", method="GET"))["view"]
            if view["phase"] == phase:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"tender {tender} never reached {phase}")


def sealed_bodies(tender: str, parties: list[str], public: bytes) -> list[dict]:
    bodies = []
    for n, party in enumerate(parties):
        blob = seal_bid(SUITE, public, bid_content(tender, party, "EUR",
                                                   (LotPrice(lot_id="L1", amount=1_000_000 + n),)))
        bodies.append({"bid_id": str(uuid.uuid4()), "sealed": base64.b64encode(blob).decode(),
                       "commitment": SUITE.commitment(blob)})
    return bodies


def schedule(count: int, window_s: float, peak_rate: float) -> list[float]:
    """Send times (s from the window's start): the first half evenly over the window less the
    peak, the second half at ``peak_rate`` at its end."""
    peak_n = count // 2
    peak_s = peak_n / peak_rate
    calm_n = count - peak_n
    calm_s = max(window_s - peak_s, 0.0)
    calm = [calm_s * i / calm_n for i in range(calm_n)]
    return calm + [calm_s + i / peak_rate for i in range(peak_n)]


async def redis_memory(server: Server) -> int:
    client = aioredis.from_url(server.redis.url)
    try:
        return int((await client.info("memory"))["used_memory"])
    finally:
        await client.aclose()


async def rush(server: Server, api: Api, sizes: Sizes) -> dict:
    parties = [f"rush-{i:05d}" for i in range(sizes.bidders)]
    _, public = SUITE.keypair()
    rss_before, redis_before = proc_rss(server.pid), await redis_memory(server)
    setup_s = 3.0 + sizes.bidders / 100  # the invitations, at some hundreds a second
    start_at = time.time() + setup_s
    deadline = int((start_at + sizes.rush_s + 3.0) * 1000)
    tender = await api.tender("Deadline rush", parties, public, deadline)
    bodies = sealed_bodies(tender, parties, public)
    tokens = [supplier(p) for p in parties]
    times = schedule(sizes.bidders, sizes.rush_s, sizes.peak_rate)
    if time.time() > start_at:
        raise RuntimeError("the setup took longer than planned: raise setup_s")
    await asyncio.sleep(start_at - time.time())
    began = time.perf_counter()
    latencies: list[float] = []
    lags: list[float] = []
    sent_at: list[float] = []
    failures: list[str] = []
    receipts = 0

    async def submit(i: int) -> None:
        nonlocal receipts
        await asyncio.sleep(max(0.0, began + times[i] - time.perf_counter()))
        t0 = time.perf_counter()
        lags.append(t0 - began - times[i])
        sent_at.append(t0 - began)
        answer = await api.http.post(f"/api/tenders/{tender}/bids", json=bodies[i],
                                     headers={"authorization": f"Bearer {tokens[i]}"})
        latencies.append(time.perf_counter() - t0)
        if answer.status_code != 200:
            failures.append(f"{answer.status_code} {answer.text[:120]}")
        elif "receipt" in answer.json():
            receipts += 1

    await asyncio.gather(*(submit(i) for i in range(sizes.bidders)))
    elapsed = time.perf_counter() - began
    rss_after, redis_after = proc_rss(server.pid), await redis_memory(server)
    per_second: dict[int, int] = {}
    for at in sent_at:
        per_second[int(at)] = per_second.get(int(at), 0) + 1
    await api.phase_becomes(tender, "opening")
    return {"latencies": sorted(latencies), "lags": sorted(lags), "failures": failures,
            "receipts": receipts, "elapsed": elapsed, "peak": max(per_second.values()),
            "rss": rss_after - rss_before, "redis": redis_after - redis_before}


async def opening(server: Server, api: Api, sizes: Sizes) -> dict:
    parties = [f"open-{i:05d}" for i in range(sizes.open_bids)]
    private, public = SUITE.keypair()
    shares = [share_to_text(s) for s in split(private, 2, 3)]
    setup_s = 3.0 + sizes.open_bids / 40  # invitations, then the bids as fast as they go
    deadline = int((time.time() + setup_s) * 1000)
    tender = await api.tender("Opening", parties, public, deadline)
    for user in ("off-1", "off-3"):  # the officers who open declare no conflict first
        await api.call(officer(user), f"/api/tenders/{tender}/declarations",
                       {"conflict": False, "statement": "No interest in any supplier."})
    bodies = sealed_bodies(tender, parties, public)
    gate = asyncio.Semaphore(32)

    async def submit(party: str, body: dict) -> None:
        async with gate:
            await api.call(supplier(party), f"/api/tenders/{tender}/bids", body)

    await asyncio.gather(*(submit(p, b) for p, b in zip(parties, bodies)))
    if time.time() * 1000 > deadline:
        raise RuntimeError("the bids took longer than planned: raise setup_s")
    await api.phase_becomes(tender, "opening")

    url = f"ws://{HOST}:{server.port}/ws/auctions/{tender}?access_token="
    sockets = []
    for party in parties:  # one at a time: the server's accept backlog is not what is measured
        sockets.append(await websockets.connect(url + supplier(party), max_size=None,
                                                compression=None, open_timeout=30))
    welcomed = await asyncio.gather(*(s.recv() for s in sockets))
    assert all('"type":"welcome"' in w for w in welcomed)
    await api.call(officer("off-1"), f"/api/tenders/{tender}/shares", {"share": shares[0]})
    began = time.perf_counter()
    arrivals: list[float] = []
    sizes_seen: list[int] = []

    async def record(socket: Any) -> None:
        while True:
            message = await socket.recv(decode=False)  # the bytes: no UTF-8 decoding here
            if b'"opening":{' in message:
                arrivals.append(time.perf_counter() - began)
                sizes_seen.append(len(message))
                return

    watching = asyncio.gather(*(asyncio.wait_for(record(s), TIMEOUT_S) for s in sockets))
    await api.call(officer("off-3"), f"/api/tenders/{tender}/shares", {"share": shares[2]})
    answered = time.perf_counter() - began
    await watching
    for socket in sockets:
        await socket.close()
    return {"answered": answered, "arrivals": sorted(arrivals), "sockets": len(sockets),
            "message": max(sizes_seen, default=0)}


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def report(sizes: Sizes, argv: list[str], info: dict, r: dict, o: dict) -> str:
    lat = r["latencies"]
    p99 = percentile(lat, 99)
    arrivals = o["arrivals"]
    whole = arrivals[-1] if arrivals else None
    rows = [
        (f"deadline rush: {sizes.bidders} sealed bids in {sizes.rush_s:g} s, peak "
         f"{sizes.peak_rate:g}/s: answer (durable, with its receipt) p50 / p95 / p99 / max ms",
         f"{ms(percentile(lat, 50))} / {ms(percentile(lat, 95))} / {ms(p99)} / {ms(lat[-1])}",
         "p99 <= 100", "yes" if p99 is not None and p99 <= 0.1 else "**no**"),
        ("deadline rush: accepted with a receipt / refused or failed",
         f"{r['receipts']} / {len(r['failures'])}", "", ""),
        ("deadline rush: busiest second, bids sent", f"{r['peak']}", "", ""),
        ("deadline rush: the script's own lag behind its schedule, p99 / max ms",
         f"{ms(percentile(r['lags'], 99))} / {ms(r['lags'][-1])}", "", ""),
        (f"open tender with {sizes.bidders} sealed bids: server RSS / Redis used_memory grown, MB",
         f"{r['rss'] / 1e6:.1f} / {r['redis'] / 1e6:.1f}", "", ""),
        ("... per bid, KB", f"{r['rss'] / sizes.bidders / 1e3:.2f} / "
         f"{r['redis'] / sizes.bidders / 1e3:.2f}", "", ""),
        (f"opening {sizes.open_bids} sealed bids (k-th share to the record on every bidder's "
         f"socket, {o['sockets']} sockets), s", f"{whole:.2f}" if whole is not None else "-",
         "<= 2", "yes" if whole is not None and whole <= 2 else "**no**"),
        ("... the k-th share's answer (decrypted, checked, journaled), s", f"{o['answered']:.2f}",
         "", ""),
        ("... the message that carries the record, KB (the largest one socket got)",
         f"{o['message'] / 1e3:.1f}", "", ""),
        ("... the first / median socket with the record, s",
         f"{arrivals[0]:.2f} / {percentile(arrivals, 50):.2f}" if arrivals else "-", "", ""),
    ]
    head = [
        f"command: python -m loadtests.tender_bench {' '.join(argv)}".rstrip(),
        f"date: {info['date']}; machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, "
        f"{info['kernel']}; Python {info['python']}; {info['redis']}",
        "", "| measure | figure | target | met |", "|---|---|---|---|",
    ]
    lines = head + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    if r["failures"]:
        lines.append(f"\nfailures (first 5): {r['failures'][:5]}")
    return "\n".join(lines)


async def amain(sizes: Sizes, argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="bidserver-tender-bench-") as work:
        server = Server("bidserver", Path(work))
        try:
            await server.start()
            api = Api(server)
            r = await rush(server, api, sizes)
            o = await opening(server, api, sizes)
            await api.http.aclose()
            print(report(sizes, argv, machine(), r, o))
        finally:
            await server.stop()
            server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: proves the script runs")
    for name, spec in Sizes.__dataclass_fields__.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(spec.default), default=None)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    base = QUICK if args.quick else Sizes()
    sizes = Sizes(**{name: getattr(args, name) if getattr(args, name) is not None
                     else getattr(base, name) for name in Sizes.__dataclass_fields__})
    return asyncio.run(amain(sizes, argv))


if __name__ == "__main__":
    sys.exit(main())
