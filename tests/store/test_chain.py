"""The hash chain, pure: what ``seal`` writes, what ``open_entry`` and ``verify`` accept, and that
every kind of edit to a stored history is refused with the entry it touched named."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidserver.store.chain import (
    GENESIS,
    PREDATES_CHAIN,
    ChainBroken,
    entry_hash,
    open_entry,
    read_header,
    seal,
    seal_with_hash,
    verify,
)

from .chained import FORMAT, T0, ev, hash_of, numbered, sealed

Entries = list[tuple[int, bytes]]


def test_genesis_is_64_hex_zeros() -> None:
    assert GENESIS == "0" * 64


def test_seal_then_open_gives_the_fields_and_the_event_byte_exact() -> None:
    event = r'{"type":"bid", "s":"é\u00e9\\", "n":[1,2.50]}'.encode()
    data = seal(7, T0, "reverse_auction", "ab" * 32, event)
    envelope = open_entry("a1", 7, data)
    assert (envelope.seq, envelope.at, envelope.format, envelope.prev) == (
        7,
        T0,
        "reverse_auction",
        "ab" * 32,
    )
    assert envelope.hash == entry_hash(7, T0, "reverse_auction", "ab" * 32, event)
    assert seal_with_hash(7, T0, "reverse_auction", "ab" * 32, event) == (data, envelope.hash)
    assert bytes(envelope.event) == event
    readable = json.loads(data)  # plain JSON, fields in the documented order
    assert list(readable) == ["seq", "at", "format", "prev", "hash", "event"]
    assert readable["event"] == json.loads(event)
    header = read_header(data)
    assert (header.seq, header.prev, header.hash) == (7, "ab" * 32, envelope.hash)


def test_the_hash_is_recomputable_by_the_documented_recipe() -> None:
    event = b'{"type":"bid_accepted","amount":9000,"at":1800000000123}'
    prev = hash_of(sealed(1, 1)[0])
    data = seal(2, 1_800_000_000_123, "reverse_auction", prev, event)
    stored = json.loads(data)["hash"]
    recipe = b"2\n1800000000123\nreverse_auction\n" + prev.encode() + b"\n" + event
    assert hashlib.sha256(recipe).hexdigest() == stored
    if shutil.which("sha256sum"):  # the docstring's shell line, literally
        line = (
            f"{{ printf '2\\n1800000000123\\nreverse_auction\\n%s\\n' {prev}; "
            f"printf '%s' '{event.decode()}'; }} | sha256sum"
        )
        out = subprocess.run(["sh", "-c", line], capture_output=True, check=True, text=True)
        assert out.stdout.split()[0] == stored


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, T0, FORMAT, GENESIS, b"{}"), "start at 1"),
        ((1, T0, FORMAT, GENESIS, b""), "whitespace"),
        ((1, T0, FORMAT, GENESIS, b" {}"), "whitespace"),
        ((1, T0, FORMAT, GENESIS, b"{}\n"), "whitespace"),
        ((1, T0, "Reverse", GENESIS, b"{}"), "format"),
        ((1, T0, "a\nb", GENESIS, b"{}"), "format"),
        ((1, T0, "", GENESIS, b"{}"), "format"),
    ],
)
def test_seal_refuses_what_it_could_not_hash_unambiguously(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        seal(*args)


def test_read_header_refuses_anything_but_an_envelope() -> None:
    for data in (ev(1), b"", b"[1]", b'{"seq":1,"prev":"x","hash":"y"'):
        with pytest.raises(ValueError, match="not a hash-chain envelope"):
            read_header(data)


def test_verify_returns_the_envelopes_of_a_valid_chain() -> None:
    envelopes = verify("a1", numbered(1, 5))
    assert [e.seq for e in envelopes] == [1, 2, 3, 4, 5]
    assert [bytes(e.event) for e in envelopes] == [ev(i) for i in range(1, 6)]
    assert envelopes[0].prev == GENESIS
    assert all(e.prev == before.hash for before, e in zip(envelopes, envelopes[1:]))
    resumed = verify("a1", numbered(3, 5), after_seq=2, after_hash=envelopes[1].hash)
    assert resumed == envelopes[2:]
    assert verify("a1", []) == []


# ---------------------------------------------------------------- each edit, refused and named


def replace_at(seq: int, data: bytes) -> Callable[[Entries], Entries]:
    return lambda entries: [(s, data if s == seq else d) for s, d in entries]


def edit_bytes(seq: int, old: bytes, new: bytes) -> Callable[[Entries], Entries]:
    def edit(entries: Entries) -> Entries:
        data = dict(entries)[seq]
        assert data.count(old) == 1
        return replace_at(seq, data.replace(old, new))(entries)

    return edit


def swap(a: int, b: int) -> Callable[[Entries], Entries]:
    def edit(entries: Entries) -> Entries:
        data = dict(entries)
        return [(s, data[b] if s == a else data[a] if s == b else d) for s, d in entries]

    return edit


PREV_3 = hash_of(sealed(2, 2)[0])

EDITS = {
    "event bytes altered": (edit_bytes(3, b'"n":3', b'"n":8'), 3, "was altered"),
    "time altered": (edit_bytes(3, b'"at":%d' % (T0 + 3), b'"at":%d' % (T0 + 9)), 3, "was altered"),
    "format altered": (edit_bytes(3, b'"format":"test"', b'"format":"tess"'), 3, "was altered"),
    "prev altered": (edit_bytes(3, PREV_3.encode(), b"1" * 64), 3, "was altered"),
    "hash altered": (
        edit_bytes(3, hash_of(sealed(3, 3)[0]).encode(), PREV_3.encode()),
        3,
        "was altered",
    ),
    "re-sealed with another prev": (
        replace_at(3, seal(3, T0 + 3, FORMAT, "1" * 64, ev(3))),
        3,
        "does not follow entry 2: its prev is not that entry's hash",
    ),
    "re-sealed with another event": (
        replace_at(3, sealed(3, 3, fork_at=3)[0]),
        4,  # entry 3 is a valid envelope; entry 4 no longer follows it
        r"does not follow entry 3: .*\(entry 3 or 4 was altered or replaced\)",
    ),
    "removed": (
        lambda es: [(s, d) for s, d in es if s != 3],
        3,
        r"is missing \(the next stored entry is 4\)",
    ),
    "first removed": (lambda es: es[1:], 1, "is missing"),
    "reordered": (swap(3, 4), 3, "holds the envelope of entry 4: entries were reordered"),
    "duplicated": (replace_at(4, sealed(3, 3)[0]), 4, "holds the envelope of entry 3"),
    "sealed as another seq": (
        replace_at(3, seal(9, T0, FORMAT, PREV_3, ev(3))),
        3,
        "envelope of entry 9",
    ),
    "first not from genesis": (
        replace_at(1, seal(1, T0 + 1, FORMAT, "1" * 64, ev(1))),
        1,
        "does not start the chain",
    ),
    "a prev that is no hash": (
        replace_at(1, seal(1, T0 + 1, FORMAT, "\n", ev(1))),
        1,
        "has an invalid prev",
    ),
    "not an envelope": (replace_at(2, b"garbage"), 2, "is not a hash-chain envelope"),
    "an unknown field": (edit_bytes(2, b'{"seq"', b'{"x":1,"seq"'), 2, "not a hash-chain envelope"),
    "listed out of order": (lambda es: [*es, es[-1]], 5, r"is out of order \(it comes after 5\)"),
}


@pytest.mark.parametrize("name", EDITS)
def test_every_edit_is_refused_naming_the_entry(name: str) -> None:
    edit, seq, match = EDITS[name]
    with pytest.raises(ChainBroken, match=match) as info:
        verify("a1", edit(numbered(1, 5)))
    assert (info.value.auction_id, info.value.seq) == ("a1", seq)
    assert str(info.value).startswith(f"auction 'a1': entry {seq} ")
    assert "\n" not in str(info.value)


def test_an_entry_from_before_the_chain_is_refused_with_what_to_do() -> None:
    old = [(1, b'{"type":"auction_created","at":1,"auction_id":"a1"}'), (2, ev(2))]
    with pytest.raises(ChainBroken) as info:
        verify("a1", old)
    assert info.value.seq == 1
    assert str(info.value) == (
        "auction 'a1': entry 1 predates the hash chain (journal written by bidserver < 0.2); "
        "export it with an older version or start a new data directory"
    )
    assert info.value.why == PREDATES_CHAIN
    with pytest.raises(ChainBroken, match="entry 4 predates the hash chain"):
        open_entry("a1", 4, ev(4))


def test_a_resumed_verify_checks_the_seam() -> None:
    with pytest.raises(ChainBroken, match="entry 3 does not follow entry 2"):
        verify("a1", numbered(3, 5), after_seq=2, after_hash=GENESIS)
    with pytest.raises(ChainBroken, match=r"entry 3 is missing \(the next stored entry is 4\)"):
        verify("a1", numbered(4, 5), after_seq=2, after_hash=PREV_3)


# ---------------------------------------------------------------- the property

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def chains(draw: st.DrawFn) -> Entries:
    events = draw(st.lists(json_values.map(msgspec.json.encode), min_size=1, max_size=6))
    fmt = draw(st.sampled_from(["reverse_auction", "test", "x.v2"]))
    entries: Entries = []
    prev = GENESIS
    for seq, event in enumerate(events, start=1):
        data = seal(seq, draw(st.integers(0, 2**53)), fmt, prev, event)
        prev = hash_of(data)
        entries.append((seq, data))
    return entries


@settings(max_examples=500, deadline=None)
@given(chains(), st.data())
def test_any_single_byte_change_to_any_entry_is_detected(
    entries: Entries, data: st.DataObject
) -> None:
    assert len(verify("a1", entries)) == len(entries)
    index = data.draw(st.integers(0, len(entries) - 1), label="entry")
    seq, stored = entries[index]
    at = data.draw(st.integers(0, len(stored) - 1), label="byte")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != stored[at]), label="new value")
    altered = stored[:at] + bytes([byte]) + stored[at + 1 :]
    entries[index] = (seq, altered)
    with pytest.raises(ChainBroken) as info:
        verify("a1", entries)
    assert info.value.seq == seq

