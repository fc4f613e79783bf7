"""A real server signs tree heads of an auction run over the API; `bidserver audit export` (a
real process) writes its log, `audit verify` proves it against the server's published key, and
every way of tampering with the file fails, naming the problem."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from bidserver import cli
from bidserver.store.connect import is_cluster_url, redis_client
from bidserver.store.keyspace import KeySpace

from .conftest import SUPPLIERS, auction_config, create_auction
from .harness import JOURNAL_PREFIX, Api, token, wait_until

S1, S2 = list(SUPPLIERS)[:2]


async def signed_up_to_the_end(redis_url: str, auction_id: str) -> int:
    """Wait until the auction's last head covers its whole journal; returns its size."""
    client = redis_client(redis_url)
    keys = KeySpace(JOURNAL_PREFIX, sharded=is_cluster_url(redis_url))
    try:
        async def covered() -> int:
            last = await client.xrevrange(keys.stream(auction_id), count=1)
            head = await client.xrevrange(keys.heads(auction_id), count=1)
            seq = int(last[0][0].split(b"-")[0]) if last else 0
            return seq if head and int(head[0][0].split(b"-")[0]) == seq else 0

        return await wait_until(covered, 15, "a tree head covering the whole journal")
    finally:
        await client.aclose()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bidserver", *args], capture_output=True,
                          text=True, timeout=60)


async def test_an_auction_run_over_the_api_verifies_and_tampering_fails(server, redis_server,
                                                                        tmp_path):
    """Opened, bids, paused, resumed, cancelled over the API; exported and verified by real
    processes; then each way of tampering with the file, verified in process."""
    buyer, auction_id = await create_auction(server, auction_config())
    base = f"/api/auctions/{auction_id}"
    assert (await buyer.call("POST", f"{base}/start")).status_code == 200
    for n, (supplier, amount) in enumerate([(S1, 99_000), (S2, 98_500), (S1, 98_000)]):
        r = await Api(server, token("supplier", supplier)).call(
            "POST", f"{base}/bids", {"bid_id": f"bid-{n}", "lot_id": "L1", "amount": amount})
        assert r.status_code == 201, r.text
    for action, body in (("pause", {"reason": "a question"}), ("resume", None),
                         ("cancel", {"reason": "budget withdrawn"})):
        assert (await buyer.call("POST", f"{base}/{action}", body)).status_code == 200
    size = await signed_up_to_the_end(redis_server.url, auction_id)

    key = run("audit", "public-key", "--data-dir", str(server.data_dir))
    assert key.returncode == 0, key.stderr
    pem = tmp_path / "server.pem"
    pem.write_text(key.stdout)
    out = tmp_path / "audit.jsonl"
    done = run("audit", "export", "--redis-url", redis_server.url, "--out", str(out), auction_id)
    assert done.returncode == 0, done.stderr

    done = run("audit", "verify", "--public-key", str(pem), str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"ok: auction {auction_id}: {size} entries, hash chain intact")
    assert f"the last covering entries 1..{size}" in done.stdout
    exported = out.read_bytes()
    # a head at each phase change: opened, paused, resumed, cancelled (and maybe interval ones)
    assert exported.count(b'\n{"head":') >= 4

    for tamper in (_changed, _deleted, _inserted, _reordered, _cut_short):
        lines = exported.split(b"\n")[:-1]
        lines, expected = tamper(lines, _entries(lines))
        out.write_bytes(b"\n".join(lines) + b"\n")
        result = CliRunner().invoke(cli.main, ["audit", "verify", "--public-key", str(pem),
                                               str(out)])
        assert result.exit_code == 1, (tamper.__name__, result.output)
        assert result.output.startswith("FAILED: ") and expected in result.output, (
            tamper.__name__, result.output)


def _entries(lines: list[bytes]) -> list[int]:
    """The indexes of the entry lines (after the header and the heads)."""
    return [i for i, line in enumerate(lines) if line.startswith(b'{"seq":')]


def _changed(lines, entries):
    i = next(i for i in entries if b'"bid_id":"bid-1"' in lines[i])
    lines[i] = lines[i].replace(b'"amount":98500', b'"amount":97500')
    seq = entries.index(i) + 1
    return lines, f"entry {seq} was altered"


def _deleted(lines, entries):
    del lines[entries[4]]
    return lines, "entry 5 is missing (the next entry in the file is 6)"


def _inserted(lines, entries):
    lines.insert(entries[5], lines[entries[4]])  # entry 5 again, after itself
    return lines, "entry 6 holds entry 5 again: an entry was inserted or duplicated"


def _reordered(lines, entries):
    lines[entries[5]], lines[entries[6]] = lines[entries[6]], lines[entries[5]]
    return lines, "entry 6 is out of order: entry 7 comes before it"


def _cut_short(lines, entries):
    return lines[: entries[-2]], f"the log is cut short: it ends at entry {len(entries) - 2}"
