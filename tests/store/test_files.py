"""The bid document store: a file is at its digest's name only once complete (an upload left
without ``commit``, or refused past the limit, leaves nothing, not even in part), the same bytes
again are not a second file, and ids that could name a path outside the store are refused."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from bidserver.store.files import BLOCK, FileStore, FileTooBig


def _run(coro):
    return asyncio.run(coro)


async def _upload(store: FileStore, data: bytes, commit: bool = True) -> tuple[str, bool | None]:
    async with store.upload("t-1", "sup-a") as upload:
        for i in range(0, len(data), 7000):
            await upload.write(data[i:i + 7000])
        return upload.hexdigest, (await upload.commit() if commit else None)


def test_a_file_is_stored_under_its_digest_once(tmp_path):
    store = FileStore(tmp_path, 10 * BLOCK)
    data = bytes(range(256)) * 9000  # over two blocks
    hexdigest, created = _run(_upload(store, data))
    assert hexdigest == hashlib.sha256(data).hexdigest() and created
    assert store.find("t-1", "sup-a", hexdigest).read_bytes() == data
    assert _run(_upload(store, data)) == (hexdigest, False)
    assert store.digests("t-1", "sup-a") == [hexdigest]
    assert [p.name for p in (tmp_path / "t-1" / "sup-a").iterdir()] == [hexdigest]
    assert store.find("t-1", "sup-b", hexdigest) is None  # another supplier's is its own


def test_nothing_is_left_of_an_upload_not_committed_or_too_big(tmp_path):
    store = FileStore(tmp_path, 20_000)
    _run(_upload(store, b"x" * 10_000, commit=False))
    with pytest.raises(FileTooBig):
        _run(_upload(store, b"y" * 30_000))
    assert list((tmp_path / "t-1" / "sup-a").iterdir()) == []
    assert store.digests("t-1", "sup-a") == []


def test_ids_that_are_no_names_name_no_path(tmp_path):
    store = FileStore(tmp_path, 1000)
    for tender, supplier in (("..", "x"), ("t-1", "../t-2"), ("t-1", "a/b"), ("", "x")):
        with pytest.raises(ValueError):
            store.upload(tender, supplier)
        assert store.find(tender, supplier, "0" * 64) is None
        assert store.digests(tender, supplier) == []
    assert store.find("t-1", "sup-a", "../../etc/passwd") is None
