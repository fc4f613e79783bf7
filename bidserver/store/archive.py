"""Archives of finished auctions: the journal's entries exported to files, verified by their chain.

Why: a finished auction's stream would stay in Redis for ever, and Redis memory is the scarce
resource of a server that runs for months. Once an auction is finished its history no longer
changes, so it can live in a file (the data directory's ``archive/``, or a mounted shared
directory) and be trimmed from Redis (``Journal.trim_archived``), which keeps only the archive's
head so that nothing can be appended behind it.

Layout, two files per auction, named by its id (ids are ``[A-Za-z0-9_-]{1,64}``, so no id can name
a path outside the directory):

* ``<id>.jsonl.gz``: the entries, one envelope per line, exactly the bytes the journal stored,
  gzip-compressed with no file name and time in its header (the same entries give the same
  bytes). ``zcat`` shows them; each line is checked as ``docs/design.md`` tells an auditor.
* ``<id>.manifest.json``: ``ArchiveManifest``, the commit point: an archive exists once its
  manifest does. It holds the SHA-256 of the entries file's bytes (``sha256sum`` checks it) and
  the chain's head, the anchor the chain alone lacks: an entry removed from the end of the
  entries file is caught by ``head_seq``/``head_hash``.

Why verify on both sides: the archive replaces the only other copy. ``write`` verifies the whole
chain before writing anything and reads the files back and verifies them before it returns (so
the caller may trim Redis on its word); ``read`` verifies everything again, since a file can be
damaged or edited while it waits.

Why no clock and no asyncio: ``archived_at`` is passed in (tests and replays stay deterministic),
and every call blocks on disk (fsync), so the runtime calls it in a thread.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import msgspec

from ..failures import UNREADABLE
from .chain import verify

__all__ = ["ARCHIVE_FORMAT", "ArchiveError", "ArchiveManifest", "Archives"]

ARCHIVE_FORMAT = "bidserver-archive/1"
"""The layout above; a reader refuses a manifest announcing another one."""

ENTRIES_SUFFIX = ".jsonl.gz"
MANIFEST_SUFFIX = ".manifest.json"

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ArchiveError(Exception):
    """An archive file is missing, truncated, unreadable or not what its manifest says, or an
    archive with another history is in the way. Nothing read from it may be trusted."""


class ArchiveManifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What an archive holds: ``entries`` entries, seq 1 to ``head_seq``, the last of which has
    hash ``head_hash``; ``sha256`` is of the entries file's bytes (compressed, as stored)."""

    auction_id: str
    format: str  # ARCHIVE_FORMAT: the file layout (each envelope names its auction's format)
    entries: int
    head_seq: int
    head_hash: str
    sha256: str
    archived_at: int  # ms epoch, the caller's clock


_encode_manifest = msgspec.json.Encoder().encode
_decode_manifest = msgspec.json.Decoder(ArchiveManifest).decode


def check_id(auction_id: str) -> str:
    """``auction_id`` if it is safe as a file name, else ``ValueError``."""
    if not _SAFE_ID.fullmatch(auction_id):
        raise ValueError(f"auction id {auction_id!r} cannot be archived: not [A-Za-z0-9_-]{{1,64}}")
    return auction_id


class Archives:
    """The archives kept in one directory (created on the first ``write``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def entries_path(self, auction_id: str) -> Path:
        return self.root / f"{check_id(auction_id)}{ENTRIES_SUFFIX}"

    def manifest_path(self, auction_id: str) -> Path:
        return self.root / f"{check_id(auction_id)}{MANIFEST_SUFFIX}"

    def exists(self, auction_id: str) -> bool:
        """Whether the auction has an archive (its manifest); not whether it is intact."""
        return self.manifest_path(auction_id).is_file()

    def write(
        self, auction_id: str, entries: Sequence[tuple[int, bytes]], *, archived_at: int
    ) -> ArchiveManifest:
        """Archive an auction's whole history (``(seq, entry)`` from 1, as ``Journal.read``
        returns it) and return its manifest once the files are durable and read back verified.

        Raises ``ChainBroken`` (nothing written) if the entries are not one unbroken chain from
        entry 1, ``ValueError`` for a bad id, no entries or an entry holding a newline.
        Idempotent: if the same history is archived already (same head), its manifest is
        returned as it was first written. An archive with another history is never replaced
        (``ArchiveError``): the auction was archived with entries it no longer has, or the other
        way round, and a person must look. Nor is a damaged one: ``read``'s error is raised.
        """
        check_id(auction_id)
        entries = list(entries)
        if not entries:
            raise ValueError(f"auction {auction_id!r} has no entries to archive")
        head = verify(auction_id, entries)[-1]
        for seq, entry in entries:
            if b"\n" in entry:
                raise ValueError(f"auction {auction_id!r}: entry {seq} holds a newline")
        if self.exists(auction_id):
            archived, _ = self.read(auction_id)
            if (archived.head_seq, archived.head_hash) == (head.seq, head.hash):
                return archived
            raise ArchiveError(
                f"auction {auction_id!r} is archived already up to entry {archived.head_seq} "
                f"({archived.head_hash[:12]}...), not {head.seq} ({head.hash[:12]}...): "
                f"refusing to replace {self.manifest_path(auction_id)}"
            )
        blob = gzip.compress(b"".join(entry + b"\n" for _, entry in entries), 6, mtime=0)
        manifest = ArchiveManifest(
            auction_id=auction_id,
            format=ARCHIVE_FORMAT,
            entries=len(entries),
            head_seq=head.seq,
            head_hash=head.hash,
            sha256=hashlib.sha256(blob).hexdigest(),
            archived_at=archived_at,
        )
        if not self.root.is_dir():
            self.root.mkdir(parents=True, exist_ok=True)
            fsync_dir(self.root.parent)  # the directory itself must survive a crash too
        _replace_durably(self.entries_path(auction_id), blob)  # first: the manifest commits
        _replace_durably(self.manifest_path(auction_id), _encode_manifest(manifest) + b"\n")
        stored, read_back = self.read(auction_id)
        if read_back != entries:
            raise ArchiveError(f"{self.entries_path(auction_id)} changed while it was written")
        return stored

    def read(self, auction_id: str) -> tuple[ArchiveManifest, list[tuple[int, bytes]]]:
        """The auction's archived manifest and entries, verified (see ``read_file``)."""
        path = self.manifest_path(auction_id)
        if not path.is_file():
            raise ArchiveError(f"auction {auction_id!r} has no archive ({path} is missing)")
        manifest, entries = self.read_file(path)
        if manifest.auction_id != auction_id:
            raise ArchiveError(f"{path} is the archive of auction {manifest.auction_id!r}")
        return manifest, entries

    def read_file(self, path: Path) -> tuple[ArchiveManifest, list[tuple[int, bytes]]]:
        """An archive given by the path of either of its files (the other is beside it),
        verified: the manifest is one, the entries file decompresses, its entries are one
        unbroken chain (``ChainBroken`` names the first bad entry), ending where the manifest
        says, and its bytes have the manifest's SHA-256. Anything else is ``ArchiveError``."""
        path = Path(path)
        name = path.name
        if name.endswith(MANIFEST_SUFFIX):
            stem = name[: -len(MANIFEST_SUFFIX)]
        elif name.endswith(ENTRIES_SUFFIX):
            stem = name[: -len(ENTRIES_SUFFIX)]
        else:
            raise ArchiveError(
                f"{path} is not an archive file (*{ENTRIES_SUFFIX} or *{MANIFEST_SUFFIX})"
            )
        manifest_path = path.with_name(stem + MANIFEST_SUFFIX)
        entries_path = path.with_name(stem + ENTRIES_SUFFIX)
        manifest = _read_manifest(manifest_path)
        blob = _read_bytes(entries_path)
        entries = _split_entries(entries_path, blob)
        chain = verify(manifest.auction_id, entries)
        head_seq, head_hash = chain[-1].seq, chain[-1].hash  # never empty: see _split_entries
        if (len(entries), head_seq, head_hash) != (
            manifest.entries,
            manifest.head_seq,
            manifest.head_hash,
        ):
            raise ArchiveError(
                f"{entries_path} holds {len(entries)} entries ending at entry {head_seq} "
                f"({head_hash[:12]}...), its manifest says {manifest.entries} ending at entry "
                f"{manifest.head_seq} ({manifest.head_hash[:12]}...): truncated or replaced"
            )
        digest = hashlib.sha256(blob).hexdigest()
        if digest != manifest.sha256:
            raise ArchiveError(
                f"{entries_path} has SHA-256 {digest}, its manifest says {manifest.sha256}"
            )
        return manifest, entries


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ArchiveError(f"{path} is missing") from None
    except OSError as exc:
        raise ArchiveError(f"{path} cannot be read: {exc}") from exc


def _read_manifest(path: Path) -> ArchiveManifest:
    data = _read_bytes(path)
    try:
        manifest = _decode_manifest(data)
    except UNREADABLE as exc:  # includes ValidationError (a field missing, unknown, ...)
        raise ArchiveError(f"{path} is not an archive manifest: {exc}") from None
    if manifest.format != ARCHIVE_FORMAT:
        raise ArchiveError(
            f"{path} is an archive of format {manifest.format!r}, this bidserver reads "
            f"{ARCHIVE_FORMAT!r}"
        )
    if not _SAFE_ID.fullmatch(manifest.auction_id):  # callers may name files or keys after it
        raise ArchiveError(f"{path} names an unsafe auction id {manifest.auction_id!r}")
    return manifest


def _split_entries(path: Path, blob: bytes) -> list[tuple[int, bytes]]:
    """The entries file's lines as ``(seq, entry)``: line n is entry n (``verify`` checks that
    each envelope says so). At least one line: an empty file is truncated."""
    try:
        text = gzip.decompress(blob)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise ArchiveError(f"{path} is truncated or not gzip: {exc}") from None
    if not text.endswith(b"\n"):
        raise ArchiveError(f"{path} does not end with a whole line (truncated)")
    return list(enumerate(text[:-1].split(b"\n"), start=1))


def _replace_durably(path: Path, data: bytes) -> None:
    """Write ``path`` all at once: a temporary file beside it, fsynced, renamed over it, and the
    directory fsynced, so a crash leaves the old file or the new one, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in the directory ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
