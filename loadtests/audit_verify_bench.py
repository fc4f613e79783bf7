"""How fast `bidserver audit verify` checks an exported log (the issue's target: 100,000
entries/s or more).

    python -m loadtests.audit_verify_bench [--entries 200000] [--head-every 1000]

Builds a synthetic export as the server would have written it: an auction created and opened,
then ``entries`` bids (real ``bid_accepted`` events, encoded by the engine, sealed into the hash
chain), a tree head signed every ``head-every`` entries and one at the end. Then it times, on the
file, the verification itself (``store.audit_log.verify``: the chain recomputed, the Merkle root
at every head, every signature) and the whole command (``python -m bidserver audit verify``, a
new process: start-up and reading the file included), and prints entries/s for each. Offline:
no server, no Redis, no network; the file goes to a temporary directory, removed afterwards.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bidserver.engine.reverse import FORMAT
from bidserver.engine.reverse.events import AuctionCreated, AuctionOpened, BidAccepted, LotEnd
from bidserver.engine.reverse.values import AuctionConfig, Decrement, DecrementKind, LotSpec
from bidserver.store.audit_log import export_bytes, verify
from bidserver.store.chain import GENESIS, seal_with_hash
from bidserver.store.merkle import Frontier, leaf_of
from bidserver.store.tree_heads import key_id, public_raw, sign_head

AT = 1_800_000_000_000
AUCTION = "a0123456789abcdef"


def events(count: int):
    config = AuctionConfig(
        title="Road salt, winter", currency="EUR",
        lots=(LotSpec(lot_id="L1", title="Road salt", ceiling=10_000_000),),
        duration_ms=3_600_000, decrement=Decrement(DecrementKind.AMOUNT, 1),
    )
    yield AuctionCreated(at=AT, auction_id=AUCTION, buyer="org-buyer", config=config)
    yield AuctionOpened(at=AT + 1, lot_ends=(LotEnd("L1", AT + 3_600_000),))
    for n in range(count - 2):
        yield BidAccepted(at=AT + 2 + n, bid_id=f"bid-{n:08d}", lot_id="L1",
                          supplier=f"sup-{n % 50:03d}", amount=9_999_999 - n, user=f"u{n % 50}")


def build(count: int, head_every: int, key: Ed25519PrivateKey) -> bytes:
    entries, heads, prev, frontier = [], [], GENESIS, Frontier()
    for seq, event in enumerate(events(count), start=1):
        entry, prev = seal_with_hash(seq, event.at, FORMAT.name, prev, FORMAT.encode_event(event))
        entries.append((seq, entry))
        frontier.append(leaf_of(prev))
        if seq % head_every == 0 or seq == count:
            heads.append(sign_head(key, AUCTION, seq, frontier.root(), event.at + 5))
    keys = {key_id(key.public_key()): public_raw(key.public_key())}
    return export_bytes(AUCTION, entries, heads, keys, AT + count + 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--head-every", type=int, default=1000)
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    started = time.perf_counter()
    data = build(args.entries, args.head_every, key)
    print(f"built {args.entries} entries ({len(data) / 1e6:.1f} MB) in "
          f"{time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    report = verify(data)
    took = time.perf_counter() - started
    assert report.entries == args.entries and report.signed == args.entries
    print(f"verify (in process):  {took:6.2f} s  {args.entries / took:10,.0f} entries/s  "
          f"({report.heads} signed heads)")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.jsonl"
        path.write_bytes(data)
        pem = Path(tmp) / "key.pem"
        pem.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bidserver", "audit", "verify", "--public-key", str(pem),
             str(path)], capture_output=True, text=True, timeout=600)
        took = time.perf_counter() - started
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"bidserver audit verify: {took:6.2f} s  {args.entries / took:10,.0f} entries/s  "
          "(a new process, reading the file)")
    print(f"python {platform.python_version()}, {platform.machine()}")


if __name__ == "__main__":
    main()
