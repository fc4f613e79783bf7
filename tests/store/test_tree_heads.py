"""Signed tree heads: the signature covers the documented text and every field; the store keeps
heads in order, on top of the head they continue (memory twin and real Redis alike)."""

from __future__ import annotations

import hashlib
import subprocess
import shutil

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from redis.crc import key_slot

from bidserver.store.head_store import HeadConflict, HeadRecord, MemoryTreeHeads, RedisTreeHeads
from bidserver.store.redis_journal import RedisJournal
from bidserver.store.tree_heads import head_problem, key_id, public_raw, sign_head

KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(KEY.public_key()): KEY.public_key()}
ROOT = hashlib.sha256(b"a root").digest()


def test_a_head_verifies_and_any_changed_field_does_not():
    head = sign_head(KEY, "a1", 42, ROOT, 1_800_000_000_123)
    assert head.key_id == hashlib.sha256(public_raw(KEY.public_key())).hexdigest()[:16]
    assert head_problem(head, KEYS) is None
    changes = {
        "auction_id": "a2", "tree_size": 41, "root_hash": "0" * 64,
        "timestamp": 1_800_000_000_124, "signature": "00" * 64,
    }
    for field, value in changes.items():
        problem = head_problem(msgspec.structs.replace(head, **{field: value}), KEYS)
        assert problem is not None and "signature" in problem, field
    other = Ed25519PrivateKey.generate()
    assert "not a trusted key" in head_problem(sign_head(other, "a1", 42, ROOT, 1), KEYS)
    forged = msgspec.structs.replace(sign_head(other, "a1", 42, ROOT, 1), key_id=head.key_id)
    assert "did not make" in head_problem(forged, KEYS)
    assert "malformed" in head_problem(msgspec.structs.replace(head, root_hash="xyz"), KEYS)
    with pytest.raises(ValueError):
        sign_head(KEY, "a\n1", 42, ROOT, 1)
    with pytest.raises(ValueError):
        sign_head(KEY, "a1", 0, ROOT, 1)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl here")
def test_an_auditor_checks_a_head_with_openssl(tmp_path):
    """The signed text is the one the docs give, checkable without bidserver."""
    head = sign_head(KEY, "a1", 42, ROOT, 1_800_000_000_123)
    text = f"bidserver-tree-head/1\na1\n42\n{ROOT.hex()}\n1800000000123\n{head.key_id}\n"
    (tmp_path / "msg").write_text(text)
    (tmp_path / "sig").write_bytes(bytes.fromhex(head.signature))
    (tmp_path / "key.pem").write_bytes(
        KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    done = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin",
         "-in", "msg", "-sigfile", "sig"], cwd=tmp_path, capture_output=True, text=True)
    if "rawin" in done.stderr and done.returncode != 0 and "Signature" not in done.stdout:
        pytest.skip(f"this openssl cannot verify Ed25519 raw input: {done.stderr.strip()}")
    assert done.returncode == 0 and "Verified Successfully" in done.stdout, done.stderr


def record(size: int, auction_id: str = "a1") -> HeadRecord:
    head = sign_head(KEY, auction_id, size, ROOT, size)
    return HeadRecord(head=head, entry_hash="ab" * 32, frontier=("cd" * 32,) * size.bit_count())


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
async def heads(request):
    if request.param == "memory":
        yield MemoryTreeHeads()
        return
    if request.param == "redis-cluster":
        journal = RedisJournal(request.getfixturevalue("redis_cluster").url, replicas=1)
    else:
        journal = RedisJournal(request.getfixturevalue("redis_server").url)
    await journal.connect()
    yield RedisTreeHeads(journal)
    await journal.close()


async def test_heads_follow_the_head_they_continue(heads):
    assert await heads.last("a1") is None
    await heads.append(record(3), after_size=0)
    await heads.append(record(3), after_size=0)  # a retry: no-op
    await heads.append(record(7), after_size=3)
    with pytest.raises(HeadConflict) as conflict:  # computed from a head that is not the last
        await heads.append(record(9), after_size=3)
    assert conflict.value.last_size == 7
    with pytest.raises(HeadConflict):  # another head of a size already stored
        other = HeadRecord(head=sign_head(KEY, "a1", 7, bytes(32), 99), entry_hash="ab" * 32,
                           frontier=("cd" * 32,) * 3)
        await heads.append(other, after_size=3)
    await heads.append(record(2, "a2"), after_size=0)
    assert [r.head.tree_size for r in await heads.read("a1")] == [3, 7]
    assert await heads.last("a1") == record(7)
    assert await heads.read("nothing") == []


async def test_signing_keys_are_published_by_id(heads):
    raw = public_raw(KEY.public_key())
    await heads.add_key(key_id(KEY.public_key()), raw)
    await heads.add_key(key_id(KEY.public_key()), raw)
    assert await heads.keys() == {key_id(KEY.public_key()): raw}


async def test_a_head_edited_in_redis_is_named(redis_server):
    from bidserver.store.journal import JournalError

    journal = RedisJournal(redis_server.url)
    await journal.connect()
    try:
        heads = RedisTreeHeads(journal)
        await heads.append(record(3), after_size=0)
        await journal.redis.xadd(heads.heads_key("a1"), {"r": b"{not json"}, id="5-0")
        with pytest.raises(JournalError, match="bidserver:heads:a1 5-0 is not a stored tree head"):
            await heads.read("a1")
    finally:
        await journal.close()


async def test_the_keys_on_one_redis_and_on_a_cluster(redis_server, redis_cluster):
    """One Redis: the names of earlier releases. A cluster: an auction's heads in its shard's
    slot (with its journal), the signing keys in a slot of their own."""
    for url, replicas in ((redis_server.url, 0), (redis_cluster.url, 1)):
        journal = RedisJournal(url, replicas=replicas)
        await journal.connect()
        heads = RedisTreeHeads(journal)
        ids = [f"a{i}" for i in range(40)]  # over every shard of a cluster
        for auction_id in ids:
            await heads.append(record(3, auction_id), after_size=0)
        await heads.add_key(key_id(KEY.public_key()), public_raw(KEY.public_key()))
        if journal.keys.sharded:
            assert {journal.keys.shard(a) for a in ids} == set(range(journal.keys.shards))
            for auction_id in ids:
                assert key_slot(heads.heads_key(auction_id).encode()) == key_slot(
                    journal.stream_key(auction_id).encode())
            assert heads.keys_key == "bidserver:{signing-keys}:signing-keys"
        else:
            assert sorted(k.decode() for k in await journal.redis.keys("bidserver:[hs]*")) == [
                *sorted(f"bidserver:heads:{a}" for a in ids), "bidserver:signing-keys"]
        assert await journal.redis.hget(heads.keys_key, key_id(KEY.public_key())) == (
            public_raw(KEY.public_key()).hex().encode())
        assert [await heads.last(a) for a in ids] == [record(3, a) for a in ids]
        await journal.close()
