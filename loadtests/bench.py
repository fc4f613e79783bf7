"""The benchmark: bidserver against the baseline, measured in the same run, one table.

    python -m loadtests.bench [--smoke] [--out results.json] [--only SCENARIO ...]

For each scenario and each server (bidserver, then the baseline) it starts a fresh Redis with the
durable configuration (``EmbeddedRedis``: AOF ``appendfsync always``, unix socket), a fresh server
process, and load-generator processes (``loadtests.loadgen``: the clients never share the server's
process), runs the load for a fixed time, samples CPU and memory of every process from ``/proc``,
and prints one table (scenario x {bidserver, baseline, target}) with the machine and the date.
Every loop is bounded in time and count; every address is loopback. ``--smoke`` runs tiny sizes
(CI runs it only to prove that the benchmark works: its figures mean nothing and nothing is
asserted on them). See docs/performance.md for the method.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec

from bidserver.auth import mint_token
from bidserver.store.embedded import EmbeddedRedis
from tests.store.servers import free_tcp_port, wait_linked

HOST = "127.0.0.1"
JWT_KEY = "bench-key-" + "0123456789abcdef" * 3
BUYER = "bench-buyer"
CEILING = 10**12  # bids fall by 1 from here: never runs out within a run
_BIDSERVER_LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)")
BASELINE_FANOUT_MS = 50.0  # bidserver's default fanout_interval_ms: the same conflation
# The servers measured: bidserver, the baseline (conflated like bidserver), and the baseline with
# no conflation at all (an update per committed batch: the latency floor of a plain broadcast),
# the last only in the live-room scenarios, where bid-to-screen is measured.
KINDS = ("bidserver", "baseline", "plain")
TITLES = {"bidserver": "bidserver", "baseline": "baseline",
          "plain": "baseline, no conflation"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# --------------------------------------------------------------------------------- sizes


@dataclass
class Sizes:
    duration_s: float = 8.0  # measured window of each load phase
    hot_bidders: int = 100  # closed loop: one bid in flight per bidder
    rate_bidders: int = 10  # open loop (20 bids/s): round robin, never more than one in flight
    slow_rate: float = 20.0
    watchers: tuple[int, ...] = (1000, 5000)
    watcher_procs: int = 2
    hold: int = 19_000
    hold_procs: int = 2
    restart_clients: int = 5000
    auctions: int = 1000
    auction_rate: float = 500.0  # bids/s over all small auctions (0.5 per auction per second)
    connect_timeout_s: float = 120.0


FULL = Sizes()
SMOKE = Sizes(
    duration_s=1.5,
    hot_bidders=8,
    rate_bidders=4,
    watchers=(50,),
    watcher_procs=1,
    hold=200,
    hold_procs=1,
    restart_clients=50,
    auctions=10,
    auction_rate=20.0,
    connect_timeout_s=30.0,
)

SCENARIOS = ("hot", "screen", "hold", "restart", "many")

# --------------------------------------------------------------------------------- /proc


def _children(pid: int) -> list[int]:
    """Direct children (``serve --workers N``: the workers of the supervisor)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _tree(pid: int) -> list[int]:
    return [pid, *_children(pid)] if WORKERS["n"] > 1 and pid else [pid]


def proc_cpu_s(pid: int) -> float:
    """CPU seconds of a process (and of its workers when bidserver runs with --workers)."""
    total = 0.0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    return total


def proc_rss(pid: int) -> int:
    total = 0
    for p in _tree(pid):
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
    return total


WORKERS: dict[str, Any] = {"n": 1, "baseline": "loadtests.baseline_server", "replicas": 0,
                           "cluster": False}  # --bidserver-workers, --baseline-stack, --redis-replicas, --redis-cluster


class CpuWindow:
    """CPU seconds used by some processes between ``start()`` and ``stop()``."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.t0 = 0.0
        self.c0: dict[str, float] = {}
        self.result: dict[str, float] = {}

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.c0 = {k: proc_cpu_s(p) for k, p in self.pids.items()}

    def stop(self) -> dict[str, float]:
        elapsed = max(1e-9, time.monotonic() - self.t0)
        self.result = {
            k: 100.0 * (proc_cpu_s(p) - self.c0[k]) / elapsed for k, p in self.pids.items()
        }
        return self.result


# --------------------------------------------------------------------------------- statistics


def percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def weighted_percentiles(samples: list[tuple[float, float]], qs: tuple[float, ...]) -> list:
    if not samples:
        return [None for _ in qs]
    samples.sort()
    total = sum(w for _, w in samples)
    out, acc, i = [], 0.0, 0
    for q in qs:
        goal = q / 100 * total
        while i < len(samples) - 1 and acc + samples[i][1] < goal:
            acc += samples[i][1]
            i += 1
        out.append(samples[i][0])
    return out


def screen_latencies(
    bids: dict, deliveries: dict, t0: int, t1: int, budget: int = 400_000
) -> tuple[list, int]:
    """Bid-to-screen samples (ms, weight): each accepted bid sent in [t0, t1) against every
    watcher's receive time of the update whose seq range holds the bid's seq. Exact when there
    are at most ``budget`` (bid, watcher) pairs, else an unbiased random sample of pairs."""
    by_seq: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for (a, first, last) in deliveries:
        for seq in range(first, last + 1):
            by_seq.setdefault((a, seq), []).append((first, last))
    groups: dict[tuple[int, int, int], list[int]] = {}
    missing = 0
    for a, send, seq, status in zip(bids["auction"], bids["send"], bids["seq"], bids["status"]):
        if status != 0 or not (t0 <= send < t1):
            continue
        keys = by_seq.get((a, seq))
        if not keys:
            missing += 1
            continue
        for first, last in keys:
            groups.setdefault((a, first, last), []).append(send)
    pairs = sum(len(s) * len(deliveries[k]) for k, s in groups.items())
    samples: list[tuple[float, float]] = []
    if pairs <= budget:
        for key, sends in groups.items():
            recvs = deliveries[key]
            samples.extend(((r - s) / 1e6, 1.0) for s in sends for r in recvs)
    else:
        rng = random.Random(0)
        for key, sends in groups.items():
            recvs = deliveries[key]
            weight = len(sends) * len(recvs)
            m = max(1, round(budget * weight / pairs))
            w = weight / m
            samples.extend(
                ((rng.choice(recvs) - rng.choice(sends)) / 1e6, w) for _ in range(m)
            )
    return samples, missing


# --------------------------------------------------------------------------------- processes


class Worker:
    """One ``loadtests.loadgen`` process, steered over stdin, answering ``@@ {json}`` lines."""

    def __init__(self, name: str, spec: dict, workdir: Path) -> None:
        self.name = name
        self.spec = dict(spec, name=name, out=str(workdir / f"{name}.out"))
        self.spec_path = workdir / f"{name}.json"
        self.log_path = workdir / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.events: asyncio.Queue[dict] = asyncio.Queue()
        self.seen: dict[str, dict] = {}
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        self.spec_path.write_text(json.dumps(self.spec))
        with open(self.log_path, "wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "loadtests.loadgen", "--spec", str(self.spec_path),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            )
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc and self.proc.stdout
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                await self.events.put({"event": "exited"})
                return
            text = line.decode(errors="replace")
            if text.startswith("@@ "):
                event = json.loads(text[3:])
                self.seen[event["event"]] = event
                await self.events.put(event)

    async def wait(self, name: str, timeout: float) -> dict:
        if name in self.seen:
            return self.seen[name]
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.name}: no {name!r} within {timeout:.0f}s ({self.tail()})")
            try:
                event = await asyncio.wait_for(self.events.get(), remaining)
            except asyncio.TimeoutError:
                continue
            if event["event"] == name:
                return event
            if event["event"] == "exited":
                raise RuntimeError(f"{self.name} exited before {name!r}: {self.tail()}")

    def tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return ""

    def send(self, line: str) -> None:
        assert self.proc and self.proc.stdin
        if self.proc.returncode is None:
            self.proc.stdin.write((line + "\n").encode())

    async def finish(self, timeout: float = 60.0) -> tuple[dict, Any]:
        self.send("STOP")
        done = await self.wait("done", timeout)
        data = msgspec.msgpack.decode(Path(self.spec["out"]).read_bytes())
        await self.kill(timeout=10)
        return done, data

    async def kill(self, timeout: float = 5.0) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc
        return self.proc.pid


class ClusterRedis:
    """``--redis-cluster``: a Redis Cluster of 3 masters with a replica each (the durable config,
    on loopback; ``tests/store/cluster_servers.py``) standing where the one Redis stands. Its
    CPU is not in the table's Redis column (``pid`` 0): ``loadtests.cluster_bench`` measures
    it per master."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._stack: contextlib.ExitStack | None = None
        self.cluster: Any = None
        self.pid = 0

    @property
    def running(self) -> bool:
        return self.cluster is not None

    @property
    def url(self) -> str:
        assert self.cluster is not None
        return self.cluster.url

    def start(self) -> None:
        from tests.store.cluster_servers import redis_cluster

        self._stack = contextlib.ExitStack()
        self.cluster = self._stack.enter_context(redis_cluster(self.workdir / "cluster"))

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
        self._stack, self.cluster = None, None


def _redis_servers(workdir: Path, replicas: int) -> tuple[Any, list[EmbeddedRedis]]:
    """The benchmark's durable Redis and, with ``--redis-replicas``, its replicas (the same
    config, on loopback TCP as replication needs; the master too); with ``--redis-cluster``
    a cluster instead."""
    if WORKERS["cluster"]:
        return ClusterRedis(workdir), []
    if not replicas:
        return EmbeddedRedis(workdir / "redis"), []
    port = free_tcp_port()
    master = EmbeddedRedis(workdir / "redis", overrides={
        "port": str(port), "bind": "127.0.0.1", "repl-diskless-sync-delay": "0"})
    copies = [EmbeddedRedis(workdir / f"replica{i}", overrides={
        "port": str(free_tcp_port()), "bind": "127.0.0.1", "replicaof": f"127.0.0.1 {port}"})
        for i in range(replicas)]
    return master, copies


class Server:
    """bidserver or the baseline, as a child process on loopback, with its own fresh Redis."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.workdir = workdir
        self.redis, self.replicas = _redis_servers(workdir, WORKERS["replicas"])
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = workdir / f"{kind}.log"
        self.buyer_token = mint_token(JWT_KEY, role="buyer", party=BUYER)

    def watcher_tokens(self, n: int, role: str = "observer") -> list[str]:
        """One token per watcher, each its own user: a server caps the live-room sockets one user
        holds (``max_sockets_per_user``), and thousands of people watch, not one."""
        return [mint_token(JWT_KEY, role=role, party=BUYER, user=f"watcher-{i}") for i in range(n)]

    async def start(self, port: int = 0, timeout: float = 30.0) -> float:
        """Start (or restart on the same port); returns the time.time_ns() it printed its address."""
        if not self.redis.running:
            self.redis.start()
            for replica in self.replicas:
                replica.start()
            if self.replicas:
                wait_linked(self.redis, self.replicas)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if self.kind == "bidserver":
            env.update(
                BIDSERVER_JWT_KEY=JWT_KEY,
                # The per-socket limit (20 msg/s by default) would measure the limiter, not the
                # server: each benchmark bidder stands for many suppliers' traffic.
                BIDSERVER_RATE_LIMIT_PER_S="1000000",
                BIDSERVER_RATE_LIMIT_BURST="1000000",
            )
            cmd = [sys.executable, *(os.environ.get("BENCH_SERVER_ENTRY", "-m bidserver").split()), "serve", "--host", HOST, "--port", str(port),
                   "--redis-url", self.redis.url, "--data-dir", str(self.workdir / "data"),
                   # one machine, or (--redis-replicas, --redis-cluster) every bid waits for
                   # its replicas
                   *([] if self.replicas or WORKERS["cluster"]
                     else ["--allow-single-machine-journal"]),
                   "--log-level", "warning", "--workers", str(WORKERS["n"])]
        else:
            fanout_ms = 0.0 if self.kind == "plain" else BASELINE_FANOUT_MS
            cmd = [sys.executable, "-m", WORKERS["baseline"], "--host", HOST,
                   "--port", str(port), "--redis-url", self.redis.url,
                   "--fanout-interval-ms", str(fanout_ms)]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env)
        log.close()
        loop = asyncio.get_running_loop()
        line = await asyncio.wait_for(loop.run_in_executor(None, self.proc.stdout.readline), timeout)
        listening_ns = time.time_ns()
        match = _BIDSERVER_LISTENING.search(line.decode(errors="replace"))
        if not match:
            raise RuntimeError(f"{self.kind} did not start: {line!r} {self.log_tail()}")
        self.port = int(match.group(2))
        await self._wait_ready(timeout)
        return listening_ns

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection(HOST, self.port)
                writer.close()
                if self.kind != "bidserver":
                    return
                async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as client:
                    if (await client.get("/readyz")).status_code == 200:
                        return
            except (OSError, httpx.HTTPError):
                pass
            await asyncio.sleep(0.02)
        raise RuntimeError(f"{self.kind} never became ready: {self.log_tail()}")

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc
        return self.proc.pid

    def log_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-8:])
        except OSError:
            return ""

    async def stop(self, timeout: float = 20.0) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            loop = asyncio.get_running_loop()
            try:
                await asyncio.wait_for(loop.run_in_executor(None, proc.wait), timeout)
            except asyncio.TimeoutError:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdout:
            proc.stdout.close()
        self.proc = None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for replica in self.replicas:
            replica.stop()
        self.redis.stop()

    # ------------------------------------------------------------------- auctions

    def supplier_token(self, supplier: str) -> str:
        return mint_token(JWT_KEY, role="supplier", party=supplier)

    async def create_auctions(self, count: int, suppliers: list[str]) -> list[str]:
        """``count`` open auctions with these suppliers invited (bidserver: over its HTTP API;
        the baseline has no setup: any id is a room)."""
        if self.kind != "bidserver":
            return [f"bench-{i}" for i in range(count)]
        config = {
            "title": "bench", "currency": "EUR", "duration_ms": 6 * 3600 * 1000,
            "lots": [{"lot_id": "L1", "title": "Lot 1", "ceiling": CEILING}],
            "decrement": {"kind": "amount", "value": 1},
            "tie_rule": "rank_by_time", "bid_rule": "improve_own", "min_bid_interval_ms": 0,
            "visibility": "rank_and_leading_price",
        }
        headers = {"authorization": f"Bearer {self.buyer_token}"}
        sem = asyncio.Semaphore(16)
        async with httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30) as client:

            async def call(method: str, path: str, body: Any = None) -> dict:
                async with sem:
                    response = await client.request(method, path, json=body)
                if response.status_code >= 300:
                    raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
                return response.json()

            async def one(i: int) -> str:
                created = await call("POST", "/api/auctions", {"config": config})
                auction_id = created["view"]["auction_id"]
                for supplier in suppliers:
                    await call("POST", f"/api/auctions/{auction_id}/invitations",
                               {"supplier": supplier, "name": supplier})
                await call("POST", f"/api/auctions/{auction_id}/start")
                return auction_id

            return list(await asyncio.gather(*(one(i) for i in range(count))))


# --------------------------------------------------------------------------------- scenarios


@dataclass
class Ctx:
    sizes: Sizes
    root: Path
    results: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    loadgen_cpu: dict = field(default_factory=dict)

    def put(self, server: str, key: str, value: Any) -> None:
        self.results.setdefault(key, {})[server] = value


async def start_workers(workers: list[Worker], timeout: float) -> list[dict]:
    for worker in workers:
        await worker.start()
    return [await w.wait("ready", timeout) for w in workers]


def split(count: int, parts: int) -> list[int]:
    parts = max(1, min(parts, count))
    return [count // parts + (1 if i < count % parts else 0) for i in range(parts)]


def merge_bids(datas: list[dict]) -> dict:
    out = {"auction": [], "send": [], "ack": [], "seq": [], "status": []}
    for data in datas:
        for key in out:
            out[key].extend(data[key])
    return out


def merge_deliveries(datas: list[dict]) -> dict:
    out: dict[tuple[int, int, int], list[int]] = {}
    for data in datas:
        for a, first, last, recvs in data["deliveries"]:
            out.setdefault((a, first, last), []).extend(recvs)
    return out


def with_journal_seqs(bids: dict, recorders: list[dict]) -> dict:
    """bidserver's bids with the journal seq the buyer's socket saw for each (a supplier's
    ``bid_result`` carries its own cursor, which does not count other suppliers' bids); a bid
    no recorder saw keeps none (counted as unseen). The baseline's bids are left as they are."""
    seqs: dict[str, int] = {}
    for data in recorders:
        seqs.update(data["bid_seqs"])
    return dict(bids, seq=[seqs.get(bid_id, 0) for bid_id in bids["id"]])


def bid_stats(bids: dict, t0: int, t1: int) -> dict:
    acks, accepted, rejected, lost = [], 0, 0, 0
    for send, ack, status in zip(bids["send"], bids["ack"], bids["status"]):
        if not (t0 <= send < t1):
            continue
        if status == 0:
            accepted += 1
            acks.append((ack - send) / 1e6)
        elif status == 1:
            rejected += 1
        else:
            lost += 1
    acks.sort()
    seconds = (t1 - t0) / 1e9
    return {
        "accepted_per_s": accepted / seconds, "accepted": accepted, "rejected": rejected,
        "unanswered": lost, "ack_p50_ms": percentile(acks, 50), "ack_p99_ms": percentile(acks, 99),
    }


def screen_stats(bids: dict, deliveries: dict, t0: int, t1: int) -> dict:
    samples, missing = screen_latencies(bids, deliveries, t0, t1)
    p50, p99 = weighted_percentiles(samples, (50, 99))
    delivered = sum(1 for recvs in deliveries.values() for r in recvs if t0 <= r < t1)
    return {"screen_p50_ms": p50, "screen_p99_ms": p99, "unseen_bids": missing,
            "deliveries_per_s": delivered / ((t1 - t0) / 1e9)}


async def load_phase(
    server: Server, bidder: Worker, watchers: list[Worker], others: dict[str, int],
    duration: float,
) -> tuple[int, int, dict]:
    """GO bidders for ``duration`` s; CPU of server, Redis, load generators in the window."""
    pids = {"server": server.pid, "redis": server.redis.pid or 0, **others}
    window = CpuWindow(pids)
    t0 = time.time_ns() + 300_000_000
    t1 = t0 + int(duration * 1e9)
    bidder.send(f"GO {t0} {t1}")
    await asyncio.sleep((t0 - time.time_ns()) / 1e9)
    spy = start_profile(server, duration)
    window.start()
    await asyncio.sleep(max(0.0, (t1 - time.time_ns()) / 1e9))
    cpu = window.stop()
    if spy is not None:
        spy.wait(timeout=30)
    await bidder.wait("bids_done", 30)
    await asyncio.sleep(0.3)  # the last updates reach the watchers
    return t0, t1, cpu


PROFILE = {"on": False, "count": 0}


def start_profile(server: Server, duration: float) -> subprocess.Popen | None:
    """``--profile``: py-spy samples the server during the load window (collapsed stacks)."""
    if not PROFILE["on"]:
        return None
    PROFILE["count"] += 1
    out = server.workdir.parent / f"profile-{server.kind}-{PROFILE['count']}.txt"
    print(f"  profiling {server.kind} into {out}", file=sys.stderr, flush=True)
    return subprocess.Popen(
        [shutil.which("py-spy", path=os.path.dirname(sys.executable)) or "py-spy",
         "record", "--pid", str(server.pid), "--duration", str(max(1, int(duration))),
         "--rate", "200", "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def loadgen_pids(workers: list[Worker]) -> dict[str, int]:
    return {f"lg:{w.name}": w.pid for w in workers}


def sum_loadgen(cpu: dict) -> float:
    return sum(v for k, v in cpu.items() if k.startswith("lg:"))


async def scenario_hot(ctx: Ctx, server: Server) -> None:
    s = ctx.sizes
    suppliers = [f"sup-{i}" for i in range(s.hot_bidders)]
    [auction] = await server.create_auctions(1, suppliers)
    bidder = Worker("hot-bidders", {
        "role": "bidders", "host": HOST, "port": server.port, "auctions": [auction],
        "tokens": [server.supplier_token(x) for x in suppliers], "count": s.hot_bidders,
        "mode": "closed", "amount_base": CEILING}, ctx.root / server.kind)
    await start_workers([bidder], s.connect_timeout_s)
    t0, t1, cpu = await load_phase(server, bidder, [], loadgen_pids([bidder]), s.duration_s)
    _, data = await bidder.finish()
    stats = bid_stats(data, t0, t1)
    ctx.put(server.kind, "hot.rate", stats["accepted_per_s"])
    ctx.put(server.kind, "hot.ack", (stats["ack_p50_ms"], stats["ack_p99_ms"]))
    ctx.put(server.kind, "hot.cpu", (cpu["server"], cpu["redis"]))
    ctx.put(server.kind, "hot.errors", stats["rejected"] + stats["unanswered"])
    ctx.loadgen_cpu.setdefault("hot", {})[server.kind] = sum_loadgen(cpu)


async def scenario_screen(ctx: Ctx, server: Server, watchers_n: int) -> None:
    s = ctx.sizes
    slow = [f"slow-{i}" for i in range(s.rate_bidders)]
    fast = [f"fast-{i}" for i in range(s.hot_bidders)]
    [auction] = await server.create_auctions(1, slow + fast)
    rss_before = proc_rss(server.pid)
    wdir = ctx.root / server.kind
    watchers = [
        Worker(f"w{watchers_n}-{i}", {
            "role": "watchers", "host": HOST, "port": server.port, "auctions": [auction],
            "tokens": server.watcher_tokens(n), "count": n, "concurrency": 256}, wdir)
        for i, n in enumerate(split(watchers_n, s.watcher_procs))
    ]
    recorders = [] if server.kind != "bidserver" else [Worker(f"w{watchers_n}-rec", {
        "role": "watchers", "host": HOST, "port": server.port, "auctions": [auction],
        "tokens": [server.buyer_token], "count": 1, "record_bids": True}, wdir)]
    await start_workers(watchers + recorders, s.connect_timeout_s)
    await asyncio.sleep(0.5)
    rss_held = proc_rss(server.pid)
    held = sum(w.seen["ready"]["connected"] for w in watchers)
    common = {"role": "bidders", "host": HOST, "port": server.port, "auctions": [auction],
              "amount_base": CEILING}
    slow_w = Worker(f"w{watchers_n}-slow", dict(
        common, tokens=[server.supplier_token(x) for x in slow], count=len(slow), mode="rate",
        rate=s.slow_rate), wdir)
    fast_w = Worker(f"w{watchers_n}-fast", dict(
        common, tokens=[server.supplier_token(x) for x in fast], count=len(fast), mode="closed"),
        wdir)
    await start_workers([slow_w, fast_w], s.connect_timeout_s)
    pids = loadgen_pids(watchers + recorders + [slow_w, fast_w])
    a0, a1, cpu_a = await load_phase(server, slow_w, watchers, pids, s.duration_s)
    b0, b1, cpu_b = await load_phase(server, fast_w, watchers, pids, s.duration_s)
    rss_loaded = proc_rss(server.pid)
    _, slow_data = await slow_w.finish()
    _, fast_data = await fast_w.finish()
    wdone = [await w.finish() for w in watchers]
    wdata = [d for _, d in wdone]
    if recorders:
        recorded = [(await w.finish())[1] for w in recorders]
        slow_data, fast_data = (with_journal_seqs(d, recorded) for d in (slow_data, fast_data))
    deliveries = merge_deliveries(wdata)
    key = f"w{watchers_n}"
    closes: dict[str, int] = {}
    for done, _ in wdone:
        for code, n in done.get("closes", {}).items():
            closes[code] = closes.get(code, 0) + n
    ctx.put(server.kind, f"{key}.closes", sum(closes.values()))
    if closes:
        ctx.notes.append(f"{server.kind} {watchers_n} watchers: sockets closed by the server "
                         f"(close code: count) {closes}")
    slow_bids = bid_stats(slow_data, a0, a1)
    slow_screen = screen_stats(slow_data, deliveries, a0, a1)
    fast_bids = bid_stats(fast_data, b0, b1)
    fast_screen = screen_stats(fast_data, deliveries, b0, b1)
    ctx.put(server.kind, f"{key}.held", held)
    ctx.put(server.kind, f"{key}.slow", (slow_screen["screen_p50_ms"], slow_screen["screen_p99_ms"],
                                         slow_bids["accepted_per_s"]))
    ctx.put(server.kind, f"{key}.fast", (fast_screen["screen_p50_ms"], fast_screen["screen_p99_ms"],
                                         fast_bids["accepted_per_s"]))
    ctx.put(server.kind, f"{key}.fast_ack", (fast_bids["ack_p50_ms"], fast_bids["ack_p99_ms"]))
    ctx.put(server.kind, f"{key}.deliveries", (slow_screen["deliveries_per_s"],
                                               fast_screen["deliveries_per_s"]))
    ctx.put(server.kind, f"{key}.cpu", (cpu_a["server"], cpu_b["server"]))
    ctx.put(server.kind, f"{key}.rss", (rss_loaded, (rss_held - rss_before) / max(1, held)))
    ctx.put(server.kind, f"{key}.unseen", slow_screen["unseen_bids"] + fast_screen["unseen_bids"])
    ctx.loadgen_cpu.setdefault(key, {})[server.kind] = max(sum_loadgen(cpu_a), sum_loadgen(cpu_b))


def hold_target(sizes: Sizes) -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    headroom = 300  # the server's own files, Redis connections, listening socket...
    return max(1, min(sizes.hold, hard - headroom))


async def scenario_hold(ctx: Ctx, server: Server) -> None:
    s = ctx.sizes
    [auction] = await server.create_auctions(1, [])
    n = hold_target(s)
    rss_before = proc_rss(server.pid)
    watchers = [
        Worker(f"hold-{i}", {
            "role": "watchers", "host": HOST, "port": server.port, "auctions": [auction],
            "tokens": server.watcher_tokens(k), "count": k, "concurrency": 256}, ctx.root / server.kind)
        for i, k in enumerate(split(n, s.hold_procs))
    ]
    for worker in watchers:
        await worker.start()
    window = CpuWindow({"server": server.pid, **loadgen_pids(watchers)})
    window.start()
    for worker in watchers:
        await worker.wait("ready", s.connect_timeout_s)
    cpu = window.stop()
    ctx.loadgen_cpu.setdefault("hold", {})[server.kind] = sum_loadgen(cpu)
    await asyncio.sleep(1.0)
    rss_after = proc_rss(server.pid)
    datas = [(await w.finish())[1] for w in watchers]
    starts = [c[0] for d in datas for c in d["connect"] if c[0]]
    ends = [c[1] for d in datas for c in d["connect"] if c[1]]
    held = len(ends)
    rate = held / ((max(ends) - min(starts)) / 1e9) if ends and starts else 0.0
    errors: dict[str, int] = {}
    for w in watchers:
        for k, v in w.seen["ready"]["errors"].items():
            errors[k] = errors.get(k, 0) + v
    ctx.put(server.kind, "hold.held", (held, n))
    ctx.put(server.kind, "hold.kb", (rss_after - rss_before) / max(1, held) / 1024)
    ctx.put(server.kind, "hold.rate", rate)
    ctx.put(server.kind, "hold.cpu", cpu["server"])
    if errors:
        ctx.notes.append(f"{server.kind} hold: connect errors {errors}")


async def scenario_restart(ctx: Ctx, server: Server) -> None:
    s = ctx.sizes
    bidders = [f"sup-{i}" for i in range(2)]
    [auction] = await server.create_auctions(1, bidders)
    wdir = ctx.root / server.kind
    watchers = [
        Worker(f"rs-{i}", {
            "role": "watchers", "host": HOST, "port": server.port, "auctions": [auction],
            "tokens": server.watcher_tokens(k), "count": k, "concurrency": 256,
            "reconnect": True, "reconnect_deadline_s": 60}, wdir)
        for i, k in enumerate(split(s.restart_clients, s.watcher_procs))
    ]
    bidder = Worker("rs-bidders", {
        "role": "bidders", "host": HOST, "port": server.port, "auctions": [auction],
        "tokens": [server.supplier_token(x) for x in bidders], "count": len(bidders),
        "mode": "rate", "rate": 20.0, "amount_base": CEILING}, wdir)
    await start_workers(watchers + [bidder], s.connect_timeout_s)
    await load_phase(server, bidder, watchers, {}, 1.0)  # some events to resume from
    await bidder.finish()
    for w in watchers:
        w.send("GO 0 0")  # arm: report once every dropped client is back
    port = server.port
    t_stop = time.time_ns()
    await server.stop()
    t_listen = await server.start(port=port)
    resumed_all = True
    try:
        for w in watchers:
            await w.wait("resumed", 60)
    except (TimeoutError, RuntimeError) as exc:
        resumed_all = False
        ctx.notes.append(f"{server.kind} restart: {exc}")
    datas = [(await w.finish())[1] for w in watchers]
    done = [r[1] for d in datas for r in d["resume"] if r[1]]
    dropped = sum(len(d["resume"]) for d in datas)
    ctx.put(server.kind, "restart.resumed", (len(done), s.restart_clients, dropped))
    if done:
        ctx.put(server.kind, "restart.s", ((max(done) - t_listen) / 1e9, (max(done) - t_stop) / 1e9))
    ctx.put(server.kind, "restart.down_s", (t_listen - t_stop) / 1e9)
    if not resumed_all:
        ctx.notes.append(f"{server.kind} restart: not every client resumed within 60 s")


async def scenario_many(ctx: Ctx, server: Server) -> None:
    s = ctx.sizes
    rss_before = proc_rss(server.pid)
    t_setup = time.monotonic()
    auctions = await server.create_auctions(s.auctions, ["sup-0"])
    setup_s = time.monotonic() - t_setup
    wdir = ctx.root / server.kind
    bidserver = server.kind == "bidserver"  # its watchers here are the buyer's: they see bid ids
    watchers = [Worker("many-w", {
        "role": "watchers", "host": HOST, "port": server.port, "auctions": auctions,
        "tokens": server.watcher_tokens(len(auctions), "buyer" if bidserver else "observer"),
        "count": len(auctions), "concurrency": 256, "record_bids": bidserver}, wdir)]
    bidder = Worker("many-b", {
        "role": "bidders", "host": HOST, "port": server.port, "auctions": auctions,
        "tokens": [server.supplier_token("sup-0")], "count": len(auctions), "mode": "rate",
        "rate": s.auction_rate, "amount_base": CEILING}, wdir)
    await start_workers(watchers + [bidder], s.connect_timeout_s)
    await asyncio.sleep(0.5)
    t0, t1, cpu = await load_phase(server, bidder, watchers, loadgen_pids(watchers + [bidder]),
                                   s.duration_s)
    rss_after = proc_rss(server.pid)
    _, bdata = await bidder.finish()
    wdata = [(await w.finish())[1] for w in watchers]
    if bidserver:
        bdata = with_journal_seqs(bdata, wdata)
    bids = bid_stats(bdata, t0, t1)
    screen = screen_stats(bdata, merge_deliveries(wdata), t0, t1)
    ctx.put(server.kind, "many.rss", (rss_after / 2**20, (rss_after - rss_before) / len(auctions) / 1024))
    ctx.put(server.kind, "many.ack", (bids["ack_p50_ms"], bids["ack_p99_ms"], bids["accepted_per_s"]))
    ctx.put(server.kind, "many.screen", (screen["screen_p50_ms"], screen["screen_p99_ms"]))
    ctx.put(server.kind, "many.cpu", cpu["server"])
    ctx.put(server.kind, "many.setup_s", setup_s)
    ctx.loadgen_cpu.setdefault("many", {})[server.kind] = sum_loadgen(cpu)


async def run_scenario(ctx: Ctx, name: str, kind: str, *args: Any) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-{kind}-", dir=ctx.root))
    (ctx.root / kind).mkdir(exist_ok=True)
    server = Server(kind, workdir)
    t = time.monotonic()
    try:
        await server.start()
        await {"hot": scenario_hot, "screen": scenario_screen, "hold": scenario_hold,
               "restart": scenario_restart, "many": scenario_many}[name](ctx, server, *args)
    except Exception as exc:  # one failed scenario must not hide the others
        ctx.notes.append(f"{kind} {name}{args or ''} FAILED: {type(exc).__name__}: {exc}")
    finally:
        await server.stop()
        server.close()
        shutil.rmtree(workdir / "redis", ignore_errors=True)
    print(f"  {name}{list(args) if args else ''} on {kind}: {time.monotonic() - t:.1f}s",
          file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------- report


def machine() -> dict:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    redis_version = "?"
    with contextlib.suppress(Exception):
        from bidserver.store.embedded import find_server_executable

        exe = find_server_executable()
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
        redis_version = f"{Path(exe).name} " + (re.search(r"v=(\S+)", out) or ["", "?"])[1]
    mem = "?"
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.1f} GiB"
    return {
        "cpu": model, "cores": os.cpu_count(), "memory": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(), "redis": redis_version,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
    }


def fmt(value: Any, spec: str = ".1f") -> str:
    if value is None:
        return "-"
    if isinstance(value, (tuple, list)):
        return " / ".join(fmt(v, spec) for v in value)
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def rows(ctx: Ctx) -> list[tuple[str, str, str, str, str]]:
    r = ctx.results
    s = ctx.sizes

    def get(key: str, kind: str, index: int | None = None) -> Any:
        value = r.get(key, {}).get(kind)
        if value is not None and index is not None:
            value = value[index]
        return value

    out = []

    def row(label: str, key: str, target: str, spec: str = ".1f", index: int | None = None) -> None:
        out.append((label, *(fmt(get(key, kind, index), spec) for kind in KINDS), target))

    def pair(label: str, key: str, target: str = "") -> None:
        out.append((label, *(_two(get(key, kind)) for kind in KINDS), target))

    hot_ratio = None
    if get("hot.rate", "bidserver") and get("hot.rate", "baseline"):
        hot_ratio = get("hot.rate", "bidserver") / get("hot.rate", "baseline")
    row(f"hot auction: durable bids/s ({s.hot_bidders} closed-loop bidders)", "hot.rate",
        f">= 20000 and >= 0.8x baseline (now {fmt(hot_ratio, '.2f')}x)", ".0f")
    row("hot auction: bid-to-ack p50 / p99 ms", "hot.ack", "p99 <= 10", ".2f")
    row("hot auction: CPU % server / redis", "hot.cpu", "", ".0f")
    row("hot auction: bids not accepted", "hot.errors", "0", ".0f")
    for n in s.watchers:
        key = f"w{n}"
        target = {1000: "p99 <= 25 and <= 1.1x baseline", 5000: "p99 <= 75"}.get(n, "")
        row(f"{n} watchers: held", f"{key}.held", f"{n}: every figure below is void otherwise")
        pair(f"{n} watchers @ {s.slow_rate:.0f} bids/s: bid-to-screen p50 / p99 ms",
             f"{key}.slow", target)
        mine, plain = get(f"{key}.slow", "bidserver"), get(f"{key}.slow", "plain")
        if n == 1000 or (mine and plain):
            ratio = None
            if mine and plain and None not in (*mine[:2], *plain[:2]) and min(plain[:2]) > 0:
                ratio = (mine[0] / plain[0], mine[1] / plain[1])
            out.append((f"{n} watchers @ {s.slow_rate:.0f} bids/s: bidserver p50 / p99 as x of "
                        "the baseline with no conflation", fmt(ratio, ".2f"), "", "",
                        "p99 <= 1.2x" if n == 1000 else ""))
        row(f"{n} watchers @ max: bids/s", f"{key}.fast", "", ".0f", index=2)
        pair(f"{n} watchers @ max: bid-to-screen p50 / p99 ms", f"{key}.fast")
        row(f"{n} watchers @ max: bid-to-ack p50 / p99 ms", f"{key}.fast_ack", "", ".1f")
        row(f"{n} watchers: deliveries/s @ {s.slow_rate:.0f} / @ max", f"{key}.deliveries", "", ".0f")
        row(f"{n} watchers: server CPU % @ {s.slow_rate:.0f} / @ max", f"{key}.cpu", "", ".0f")
        row(f"{n} watchers: sockets closed by the server (e.g. 4408 lagging)", f"{key}.closes", "0")
        out.append((f"{n} watchers: server RSS MB / KB per connection",
                    *(_rss(get(f"{key}.rss", kind)) for kind in KINDS), ""))
    row("connections held / attempted", "hold.held", ">= 19000")
    row("connections: KB per connection (server RSS)", "hold.kb", "<= 16", ".1f")
    row("connections: handshakes/s", "hold.rate", ">= 1500", ".0f")
    row("connections: server CPU % while connecting", "hold.cpu", "", ".0f")
    row("restart: clients resumed / total / dropped", "restart.resumed", f"{s.restart_clients}")
    row("restart: s to resume all, from listening / from stop", "restart.s", "<= 5", ".2f")
    row("restart: s down (stop to listening)", "restart.down_s", "", ".2f")
    row(f"{s.auctions} auctions: server RSS MB / KB per auction", "many.rss", "", ".1f")
    row(f"{s.auctions} auctions: bid-to-ack p50 / p99 ms / bids/s", "many.ack", "", ".1f")
    row(f"{s.auctions} auctions: bid-to-screen p50 / p99 ms", "many.screen", "", ".1f")
    row(f"{s.auctions} auctions: server CPU %", "many.cpu", "", ".0f")
    for scen, per in ctx.loadgen_cpu.items():
        out.append((f"load generators CPU % ({scen})",
                    *(fmt(per.get(kind), ".0f") for kind in KINDS), "(of 200%)"))
    return out


def _two(value: Any) -> str:
    return "-" if value is None else f"{fmt(value[0])} / {fmt(value[1])}"


def _rss(value: Any) -> str:
    return "-" if value is None else f"{value[0] / 2**20:.0f} / {value[1] / 1024:.1f}"


def render(ctx: Ctx, info: dict, command: str) -> str:
    table = rows(ctx)
    header = ("scenario", *(TITLES[kind] for kind in KINDS), "target")
    widths = [max(len(r[i]) for r in table + [header]) for i in range(len(header))]
    lines = [
        f"bidserver benchmark{' (SMOKE: tiny sizes, figures meaningless)' if command.endswith('--smoke') else ''}",
        f"command: {command}",
        f"date: {info['date']}   machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, "
        f"{info['kernel']}, Python {info['python']}, {info['redis']} (AOF appendfsync always), "
        f"RLIMIT_NOFILE {info['nofile'][0]}",
        "",
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in table]
    if ctx.notes:
        lines += ["", "notes:"] + [f"- {n}" for n in ctx.notes]
    return "\n".join(lines)


async def amain(args: argparse.Namespace) -> int:
    sizes = SMOKE if args.smoke else FULL
    if args.duration:
        sizes.duration_s = args.duration
    if args.watchers:
        sizes.watchers = tuple(args.watchers)
    if args.hot_bidders:
        sizes.hot_bidders = args.hot_bidders
    if args.auction_rate:
        sizes.auction_rate = args.auction_rate
    if args.baseline_fanout_ms is not None:
        global BASELINE_FANOUT_MS
        BASELINE_FANOUT_MS = args.baseline_fanout_ms
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"RLIMIT_NOFILE raised from {soft} to the hard limit {hard} (servers and load "
          f"generators inherit it); connections scenario aims at {hold_target(sizes)}",
          file=sys.stderr, flush=True)
    only = set(args.only or SCENARIOS)
    PROFILE["on"] = args.profile
    WORKERS["n"] = args.bidserver_workers
    WORKERS["replicas"] = args.redis_replicas
    WORKERS["cluster"] = args.redis_cluster
    if args.baseline_stack == "picows":
        WORKERS["baseline"] = "loadtests.baseline_picows"
    root = Path(tempfile.mkdtemp(prefix="bidbench-"))
    ctx = Ctx(sizes, root)
    info = machine()
    try:
        for kind in KINDS:
            (root / kind).mkdir(exist_ok=True)
        plan: list[tuple] = []
        if "hot" in only:
            plan.append(("hot",))
        if "screen" in only:
            plan += [("screen", n) for n in sizes.watchers]
        for name in ("hold", "restart", "many"):
            if name in only:
                plan.append((name,))
        for step in plan:
            for kind in args.servers:
                if kind != "plain" or step[0] == "screen":
                    await run_scenario(ctx, step[0], kind, *step[1:])
    finally:
        if args.keep:
            print(f"work files kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    command = "python -m loadtests.bench" + "".join(f" {a}" for a in sys.argv[1:])
    print(render(ctx, info, command), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(
            {"machine": info, "command": command, "smoke": args.smoke,
             "sizes": sizes.__dict__, "results": ctx.results, "loadgen_cpu": ctx.loadgen_cpu,
             "notes": ctx.notes, "table": rows(ctx)}, indent=1, default=str))
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="bidserver vs baseline benchmark")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: proves it runs (CI)")
    parser.add_argument("--out", help="also write the results as JSON here")
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument("--duration", type=float, help="seconds of each measured load phase")
    parser.add_argument("--watchers", type=int, nargs="*", help="watcher counts (default 1000 5000)")
    parser.add_argument("--hot-bidders", type=int, help="closed-loop bidders (default 100)")
    parser.add_argument("--baseline-fanout-ms", type=float, default=None,
                        help="the baseline's conflation interval (default 50, as bidserver; 0: "
                             "an update per committed batch)")
    parser.add_argument("--servers", nargs="+", choices=KINDS, default=list(KINDS),
                        help="which servers to measure (plain: the baseline with no conflation, "
                             "in the live-room scenarios only)")
    parser.add_argument("--bidserver-workers", type=int, default=1,
                        help="run bidserver as N processes on one port (serve --workers N)")
    parser.add_argument("--redis-replicas", type=int, default=0,
                        help="give bidserver's Redis N replicas on loopback; every bid waits for them")
    parser.add_argument("--redis-cluster", action="store_true",
                        help="run bidserver on a Redis Cluster of 3 masters x 1 replica on loopback "
                             "(with --servers bidserver); every bid waits for its master's replica")
    parser.add_argument("--auction-rate", type=float, default=None,
                        help="bids/s in total over the 1,000 auctions of `many` (default 500)")
    parser.add_argument("--baseline-stack", choices=("uvicorn", "picows"), default="uvicorn",
                        help="the baseline's WebSocket stack (uvicorn+ASGI, as bidserver; or picows)")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy record each server during its load phases (with --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, raw data)")
    args = parser.parse_args(argv)
    if args.redis_cluster and (set(args.servers) - {"bidserver"} or args.redis_replicas):
        parser.error("--redis-cluster is for --servers bidserver, without --redis-replicas")
    sys.exit(asyncio.run(amain(args)))


if __name__ == "__main__":
    main()
