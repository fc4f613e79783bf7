"""The audit export proves itself: an intact file verifies; each way of tampering with it is
found, and the first problem names the entry (or the head) it is in."""

from __future__ import annotations

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bidserver.store.audit_log import AuditFailed, export_bytes, verify
from bidserver.store.chain import GENESIS, seal_with_hash
from bidserver.store.merkle import Frontier, leaf_of
from bidserver.store.tree_heads import key_id, public_raw, sign_head

KEY = Ed25519PrivateKey.generate()
KID = key_id(KEY.public_key())
AT = 1_800_000_000_000
N, HEADS_AT = 12, (3, 6, 10)


def event(seq: int, amount: int | None = None) -> bytes:
    amount = 10_000 - seq if amount is None else amount
    return b'{"type":"bid_accepted","at":%d,"bid_id":"b%d","amount":%d}' % (AT + seq, seq, amount)


def sealed(events: list[bytes]) -> list[bytes]:
    """Envelopes of ``events`` in order, chained from the genesis hash."""
    entries, prev = [], GENESIS
    for seq, data in enumerate(events, start=1):
        entry, prev = seal_with_hash(seq, AT + seq, "reverse_auction", prev, data)
        entries.append(entry)
    return entries


def heads_over(entries: list[bytes], sizes=HEADS_AT, auction_id: str = "a1", key=KEY):
    frontier, heads = Frontier(), []
    for seq, entry in enumerate(entries, start=1):
        frontier.append(leaf_of(msgspec.json.decode(entry)["hash"]))
        if seq in sizes:
            heads.append(sign_head(key, auction_id, seq, frontier.root(), AT + 100 + seq))
    return heads


ENTRIES = sealed([event(seq) for seq in range(1, N + 1)])
HEADS = heads_over(ENTRIES)
KEYS = {KID: public_raw(KEY.public_key())}


def exported(entries=ENTRIES, heads=HEADS, auction_id: str = "a1") -> bytes:
    return export_bytes(auction_id, list(enumerate(entries, start=1)), heads, KEYS, AT + 1000)


def lines_of(data: bytes) -> list[bytes]:
    return data[:-1].split(b"\n")


def joined(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


def with_entries(entries: list[bytes], data: bytes | None = None) -> bytes:
    """The export with its entry lines replaced (the header's counts kept in step)."""
    lines = lines_of(data or exported())
    header = msgspec.json.decode(lines[0])
    header["entries"] = len(entries)
    heads = [line for line in lines[1:] if line.startswith(b'{"head":')]
    return joined([msgspec.json.encode(header), *heads, *entries])


def test_an_intact_export_verifies():
    report = verify(exported())
    assert (report.auction_id, report.entries, report.heads, report.signed) == ("a1", 12, 3, 10)
    assert (report.key_ids, report.pinned) == ((KID,), False)
    pinned = verify(exported(), {KID: KEY.public_key()})
    assert pinned.pinned


def altered(seq: int) -> list[bytes]:
    """Entry ``seq``'s amount changed in place (its hash left as it was)."""
    entries = list(ENTRIES)
    entries[seq - 1] = entries[seq - 1].replace(b'"amount":%d' % (10_000 - seq), b'"amount":1')
    return entries


def rechained(events: list[bytes]) -> list[bytes]:
    """A forged history, every hash recomputed: a chain without a flaw."""
    return sealed(events)


ORIGINAL_EVENTS = [event(seq) for seq in range(1, N + 1)]

TAMPERED = {
    "an entry changed": (
        lambda: with_entries(altered(5)),
        "entry 5 was altered: its hash does not match its content"),
    "an entry changed, the chain recomputed": (
        lambda: with_entries(rechained(
            ORIGINAL_EVENTS[:4] + [event(5, amount=1)] + ORIGINAL_EVENTS[5:])),
        "entries 1..6 do not have the root signed at 1800000000106: an entry among entries 4..6"),
    "an entry removed": (
        lambda: with_entries(ENTRIES[:4] + ENTRIES[5:]),
        "entry 5 is missing (the next entry in the file is 6)"),
    "an entry removed from a log whose last head covers it all": (
        lambda: with_entries(ENTRIES[:4] + ENTRIES[5:], exported(heads=heads_over(ENTRIES, (6, 12)))),
        "entry 5 is missing (the next entry in the file is 6)"),
    "an entry removed, the rest renumbered and rechained": (
        lambda: with_entries(rechained(ORIGINAL_EVENTS[:4] + ORIGINAL_EVENTS[5:])),
        "entries 1..6 do not have the root signed"),
    "an entry inserted": (
        lambda: with_entries(ENTRIES[:4] + [seal_with_hash(
            5, AT + 5, "reverse_auction", msgspec.json.decode(ENTRIES[3])["hash"],
            event(5, amount=1))[0]] + ENTRIES[4:]),
        "entry 6 holds entry 5 again: an entry was inserted or duplicated"),
    "an entry inserted, the rest renumbered and rechained": (
        lambda: with_entries(rechained(
            ORIGINAL_EVENTS[:4] + [event(5, amount=1)] + ORIGINAL_EVENTS[4:])),
        "entries 1..6 do not have the root signed"),
    "two entries swapped": (
        lambda: with_entries(ENTRIES[:4] + [ENTRIES[5], ENTRIES[4]] + ENTRIES[6:]),
        "entry 5 is out of order: entry 6 comes before it"),
    "two entries swapped, renumbered and rechained": (
        lambda: with_entries(rechained(
            ORIGINAL_EVENTS[:4] + [ORIGINAL_EVENTS[5], ORIGINAL_EVENTS[4]] + ORIGINAL_EVENTS[6:])),
        "entries 1..6 do not have the root signed"),
    "the log cut short before the last head": (
        lambda: with_entries(ENTRIES[:9]),
        "the log is cut short: it ends at entry 9, but the tree head signed at 1800000000110 "
        "covers entries 1..10"),
    "the log cut short after the last head, the header left as it was": (
        lambda: joined(lines_of(exported())[:-1]),
        "the header announces 12 entries and 3 tree heads, the file holds 11 and 3"),
    "a head's root changed": (
        lambda: exported().replace(HEADS[1].root_hash.encode(), b"0" * 64),
        "the tree head of line 3 (entries 1..6) has a signature that key"),
    "a head of another auction": (
        lambda: exported(heads=HEADS + heads_over(ENTRIES, (12,), auction_id="a2")),
        "the tree head of line 5 (entries 1..12) is of auction 'a2', not 'a1'"),
    "the header names another auction": (
        lambda: exported().replace(b'"auction_id":"a1"', b'"auction_id":"a9"', 1),
        "the tree head of line 2 (entries 1..3) is of auction 'a1', not 'a9'"),
    "every head removed": (
        lambda: exported(heads=[]),
        "no signed tree head: the chain of its 12 entries is intact"),
    "two histories signed": (
        lambda: exported(heads=HEADS + [sign_head(KEY, "a1", 6, bytes(32), AT + 200)]),
        "two tree heads of auction 'a1' sign different roots for entries 1..6"),
    "the file cut in the middle of a line": (
        lambda: exported()[:-10],
        "the file does not end with a whole line"),
    "not an export": (
        lambda: b"hello\n",
        "line 1 is not a bidserver-audit/1 header"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_tampering_is_found_and_named(case):
    make, expected = TAMPERED[case]
    with pytest.raises(AuditFailed) as failed:
        verify(make())
    assert expected in str(failed.value)


def test_only_pinned_keys_are_trusted():
    other = Ed25519PrivateKey.generate()
    with pytest.raises(AuditFailed, match=f"signed with key {KID}, which is not a trusted key"):
        verify(exported(), {key_id(other.public_key()): other.public_key()})
    # Re-signed by whoever edited the file, with a key of its own that it put in the file: the
    # file agrees with itself, the pinned key does not.
    forged = rechained([event(1, amount=1)] + ORIGINAL_EVENTS[1:])
    data = export_bytes("a1", list(enumerate(forged, start=1)), heads_over(forged, key=other),
                        {key_id(other.public_key()): public_raw(other.public_key())}, AT)
    assert verify(data).entries == N
    with pytest.raises(AuditFailed, match="not a trusted key"):
        verify(data, {KID: KEY.public_key()})


def test_entries_after_the_last_head_are_counted_as_not_signed():
    report = verify(exported(heads=HEADS[:2]))
    assert (report.signed, report.entries) == (6, 12)


def test_an_entry_holding_a_newline_cannot_be_exported():
    with pytest.raises(ValueError, match="entry 2 holds a newline"):
        export_bytes("a1", [(1, ENTRIES[0]), (2, b"{\n}")], [], {}, AT)
