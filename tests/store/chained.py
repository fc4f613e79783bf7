"""Sealed entries for store tests: the journals take hash-chained envelopes only.

The test chain is deterministic: entry ``seq`` seals ``ev(seq)`` at time ``T0 + seq``, linked to
entry ``seq - 1``, so any test can ask for any slice of it and get the bytes its writer would
have appended. A fork (another writer's history) shares the entries before ``fork_at``.
"""

from __future__ import annotations

from bidserver.store.chain import GENESIS, read_header, seal_with_hash

FORMAT = "test"
T0 = 1_800_000_000_000


def ev(seq: int, tag: str = "") -> bytes:
    return f'{{"type":"bid","n":{seq}{tag}}}'.encode()


def sealed(first: int, last: int, *, fork_at: int | None = None) -> list[bytes]:
    """Entries ``first..last`` of the test chain, or of its fork from ``fork_at`` on."""
    out: list[bytes] = []
    prev = GENESIS
    for seq in range(1, last + 1):
        forked = fork_at is not None and seq >= fork_at
        event = ev(seq, ',"fork":true' if forked else "")
        entry, prev = seal_with_hash(seq, T0 + seq, FORMAT, prev, event)
        if seq >= first:
            out.append(entry)
    return out


def numbered(first: int, last: int) -> list[tuple[int, bytes]]:
    """``sealed(first, last)`` as ``Journal.read`` returns it."""
    return list(zip(range(first, last + 1), sealed(first, last), strict=True))


def hash_of(entry: bytes) -> str:
    return read_header(entry).hash
