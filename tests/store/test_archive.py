"""Archives of finished auctions: what ``write`` puts on disk, that ``read`` gives it back verified,
and that a file missing, cut short, altered or belonging to another auction is refused by name."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import msgspec
import pytest

from bidserver.store.archive import ARCHIVE_FORMAT, ArchiveError, ArchiveManifest, Archives
from bidserver.store.chain import GENESIS, ChainBroken, seal
from bidserver.store.journal import Journal, JournalArchived

from .chained import FORMAT, T0, hash_of, numbered, sealed

AT = 1_800_000_100_000


@pytest.fixture
def archives(tmp_path: Path) -> Archives:
    return Archives(tmp_path / "archive")


def archived(archives: Archives, auction_id: str = "a1", n: int = 50) -> ArchiveManifest:
    return archives.write(auction_id, numbered(1, n), archived_at=AT)


def lines(archives: Archives, auction_id: str = "a1") -> list[bytes]:
    return gzip.decompress(archives.entries_path(auction_id).read_bytes()).split(b"\n")[:-1]


def rewrite_entries(archives: Archives, entries: list[bytes], auction_id: str = "a1") -> None:
    """Replace the entries file by hand with ``entries``, validly gzipped (only the manifest's
    SHA-256 can tell)."""
    content = b"".join(e + b"\n" for e in entries)
    archives.entries_path(auction_id).write_bytes(gzip.compress(content, mtime=0))


def edit_manifest(archives: Archives, **changes: object) -> None:
    path = archives.manifest_path("a1")
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


# ---------------------------------------------------------------- writing and reading back


def test_write_then_read_round_trip(archives: Archives) -> None:
    entries = numbered(1, 50)
    manifest = archives.write("a1", entries, archived_at=AT)
    assert manifest == ArchiveManifest(
        auction_id="a1",
        format=ARCHIVE_FORMAT,
        entries=50,
        head_seq=50,
        head_hash=hash_of(entries[-1][1]),
        sha256=hashlib.sha256(archives.entries_path("a1").read_bytes()).hexdigest(),
        archived_at=AT,
    )
    assert archives.exists("a1") and not archives.exists("a2")
    assert archives.read("a1") == (manifest, entries)
    assert archives.read_file(archives.manifest_path("a1")) == (manifest, entries)
    assert archives.read_file(archives.entries_path("a1")) == (manifest, entries)


def test_the_files_are_readable_without_bidserver(archives: Archives) -> None:
    """One envelope per line, byte-exact, gzipped; the manifest is JSON; no temporary file
    stays behind."""
    manifest = archived(archives)
    assert lines(archives) == sealed(1, 50)
    assert json.loads(archives.manifest_path("a1").read_text()) == msgspec.to_builtins(manifest)
    assert sorted(p.name for p in archives.root.iterdir()) == ["a1.jsonl.gz", "a1.manifest.json"]


def test_the_same_entries_give_the_same_bytes(archives: Archives, tmp_path: Path) -> None:
    first = archived(archives)
    other = Archives(tmp_path / "elsewhere").write("a1", numbered(1, 50), archived_at=AT + 1)
    assert other.sha256 == first.sha256


def test_writing_the_same_history_again_returns_the_first_manifest(archives: Archives) -> None:
    first = archived(archives)
    before = archives.entries_path("a1").read_bytes(), archives.manifest_path("a1").read_bytes()
    assert archives.write("a1", numbered(1, 50), archived_at=AT + 60_000) == first
    after = archives.entries_path("a1").read_bytes(), archives.manifest_path("a1").read_bytes()
    assert after == before


@pytest.mark.parametrize(
    "entries",
    [numbered(1, 51), numbered(1, 49), list(enumerate(sealed(1, 50, fork_at=20), start=1))],
    ids=["longer", "shorter", "forked"],
)
def test_an_archive_with_another_history_is_never_replaced(
    archives: Archives, entries: list[tuple[int, bytes]]
) -> None:
    archived(archives)
    before = archives.entries_path("a1").read_bytes()
    with pytest.raises(ArchiveError, match="archived already up to entry 50 .*refusing to replace"):
        archives.write("a1", entries, archived_at=AT)
    assert archives.entries_path("a1").read_bytes() == before
    assert archives.read("a1")[1] == numbered(1, 50)


def test_a_damaged_archive_in_the_way_is_not_overwritten(archives: Archives) -> None:
    archived(archives)
    rewrite_entries(archives, sealed(1, 40))
    damaged = archives.entries_path("a1").read_bytes()
    with pytest.raises(ArchiveError, match="holds 40 entries"):
        archives.write("a1", numbered(1, 50), archived_at=AT)
    assert archives.entries_path("a1").read_bytes() == damaged


def test_an_entries_file_without_manifest_is_no_archive_and_is_replaced(
    archives: Archives,
) -> None:
    """A crash between the two renames leaves the entries file alone: the manifest commits."""
    archives.root.mkdir()
    archives.entries_path("a1").write_bytes(b"half of an old attempt")
    assert not archives.exists("a1")
    manifest = archived(archives)
    assert archives.read("a1") == (manifest, numbered(1, 50))


# ---------------------------------------------------------------- refused before writing


def test_a_broken_chain_is_refused_and_nothing_written(archives: Archives) -> None:
    entries = numbered(1, 10)
    entries[3] = (4, entries[3][1].replace(b'"n":4', b'"n":5'))
    with pytest.raises(ChainBroken) as info:
        archives.write("a1", entries, archived_at=AT)
    assert (info.value.auction_id, info.value.seq) == ("a1", 4)
    with pytest.raises(ChainBroken, match="entry 1 is missing"):
        archives.write("a1", numbered(2, 10), archived_at=AT)  # not the whole history
    assert not archives.root.exists()


def test_no_entries_or_an_entry_with_a_newline_is_refused(archives: Archives) -> None:
    with pytest.raises(ValueError, match="no entries"):
        archives.write("a1", [], archived_at=AT)
    entry = seal(1, T0, FORMAT, GENESIS, b'{"type":"bid",\n"n":1}')  # valid JSON, valid seal
    with pytest.raises(ValueError, match="entry 1 holds a newline"):
        archives.write("a1", [(1, entry)], archived_at=AT)
    assert not archives.root.exists()


@pytest.mark.parametrize(
    "bad", ["", "../a1", "a/b", "a.b", ".", "a1\n", "é", "a" * 65, "a b", "/tmp/x"]
)
def test_ids_that_are_not_safe_file_names_are_refused(archives: Archives, bad: str) -> None:
    with pytest.raises(ValueError, match="cannot be archived"):
        archives.write(bad, numbered(1, 1), archived_at=AT)
    for call in (archives.read, archives.exists):
        with pytest.raises(ValueError, match="cannot be archived"):
            call(bad)
    assert not archives.root.exists()


def test_the_longest_safe_id_is_taken(archives: Archives) -> None:
    auction_id = "A-_9" * 16
    archived(archives, auction_id, n=1)
    assert archives.read(auction_id)[1] == numbered(1, 1)


# ---------------------------------------------------------------- refused when read


def test_a_missing_archive_or_file_is_named(archives: Archives) -> None:
    with pytest.raises(ArchiveError, match="auction 'a1' has no archive"):
        archives.read("a1")
    archived(archives)
    archives.entries_path("a1").unlink()
    with pytest.raises(ArchiveError, match="a1.jsonl.gz is missing"):
        archives.read("a1")
    archived(archives, "a2")
    archives.manifest_path("a2").unlink()
    with pytest.raises(ArchiveError, match="a2.manifest.json is missing"):
        archives.read_file(archives.entries_path("a2"))
    with pytest.raises(ArchiveError, match="not an archive file"):
        archives.read_file(archives.root / "a2.txt")


def test_an_altered_entry_is_named(archives: Archives) -> None:
    archived(archives)
    entries = sealed(1, 50)
    entries[29] = entries[29].replace(b'"n":30', b'"n":31')
    rewrite_entries(archives, entries)
    with pytest.raises(ChainBroken) as info:
        archives.read("a1")
    assert str(info.value) == (
        "auction 'a1': entry 30 was altered: its hash does not match its content"
    )


def test_an_entry_removed_from_the_middle_is_named(archives: Archives) -> None:
    archived(archives)
    entries = sealed(1, 50)
    del entries[9]
    rewrite_entries(archives, entries)
    with pytest.raises(ChainBroken) as info:
        archives.read("a1")
    assert info.value.seq == 10 and "holds the envelope of entry 11" in info.value.why


def test_entries_removed_from_the_end_are_caught_by_the_manifest(archives: Archives) -> None:
    archived(archives)
    rewrite_entries(archives, sealed(1, 45))  # a valid chain, only shorter
    with pytest.raises(ArchiveError, match="holds 45 entries ending at entry 45 .*says 50"):
        archives.read("a1")


def test_a_cut_file_is_truncated(archives: Archives) -> None:
    archived(archives)
    path = archives.entries_path("a1")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ArchiveError, match="truncated or not gzip"):
        archives.read("a1")
    path.write_bytes(gzip.compress(gzip.decompress(whole)[:-30], mtime=0))  # last line cut
    with pytest.raises(ArchiveError, match="does not end with a whole line"):
        archives.read("a1")
    path.write_bytes(b"")
    with pytest.raises(ArchiveError, match="a1.jsonl.gz does not end with a whole line"):
        archives.read("a1")


def test_other_bytes_with_the_same_entries_fail_the_checksum(archives: Archives) -> None:
    """The chain verifies, but the file is not the one the manifest describes."""
    manifest = archived(archives)
    path = archives.entries_path("a1")
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), 1, mtime=0))
    with pytest.raises(ArchiveError, match=f"its manifest says {manifest.sha256}"):
        archives.read("a1")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"head_hash": "f" * 64}, "manifest says 50 ending at entry 50 \\(ffffffffffff"),
        ({"entries": 51, "head_seq": 51}, "manifest says 51"),
        ({"sha256": "0" * 64}, "its manifest says 0000"),
        ({"format": "bidserver-archive/2"}, "format 'bidserver-archive/2'"),
        ({"signed_by": "me"}, "not an archive manifest.*unknown field"),
        ({"entries": "50"}, "not an archive manifest"),
        ({"auction_id": "../a1"}, "names an unsafe auction id '../a1'"),
    ],
)
def test_an_altered_manifest_is_refused(archives: Archives, changes: dict, match: str) -> None:
    archived(archives)
    edit_manifest(archives, **changes)
    with pytest.raises(ArchiveError, match=match):
        archives.read("a1")


def test_another_auctions_archive_is_refused(archives: Archives) -> None:
    archived(archives)
    for suffix in (".jsonl.gz", ".manifest.json"):
        shutil.copy(archives.root / f"a1{suffix}", archives.root / f"a2{suffix}")
    with pytest.raises(ArchiveError, match="is the archive of auction 'a1'"):
        archives.read("a2")
    manifest, _ = archives.read_file(archives.root / "a2.jsonl.gz")  # a file says what it is
    assert manifest.auction_id == "a1"


# ---------------------------------------------------------------- with the journal


async def test_archive_then_trim_then_read_from_the_archive(
    journal: Journal, archives: Archives
) -> None:
    """The runtime's sequence: read the finished auction, archive it, trim the journal to the
    archive's head; its history is then the archive's, and nothing can be appended to it."""
    await journal.append("a1", 1, sealed(1, 30))
    await journal.mark_finished("a1")
    manifest = archives.write("a1", await journal.read("a1"), archived_at=AT)
    await journal.trim_archived("a1", manifest.head_seq, manifest.head_hash)
    assert await journal.read("a1") == []
    assert await journal.archived("a1") == (30, manifest.head_hash)
    assert archives.read("a1") == (manifest, numbered(1, 30))
    with pytest.raises(JournalArchived):
        await journal.append("a1", 31, sealed(31, 31))
