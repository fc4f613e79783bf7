"""The bid document store: sealed files by their SHA-256, on the local disk, never in the journal.

Why apart from the journal: a bid is a kilobyte in a Redis stream, a proposal is megabytes, and
Redis holds everything in memory. The journal keeps ciphertexts of bids and hashes; the files
the bids name are here, and a bid's commitment (which names them) says which bytes they must be.

Layout: ``<root>/<tender>/<supplier>/<sha256 hex>``, each supplier's uploads apart, so that the
owner of a file is where it is (no index to keep in step) and one supplier's upload is never
served as another's. Ids are checked against a name pattern without ``/`` before they become a
path. A file is written aside (``.upload-*`` in its directory), its digest computed while it is
written, fsynced, then renamed into place and the directory fsynced: a file at its name is
complete and durable, and is there before the upload is answered. The same bytes uploaded again
are the same name: the second copy is dropped.

Per machine: the root is a local directory (``<data_dir>/files`` unless ``files_dir`` names a
shared volume). Server processes on several machines need it shared (a network volume, or an
object store behind this same interface, later); processes on one machine share it as it is.

Writes go through a thread (``asyncio.to_thread``) in blocks of ``BLOCK`` bytes, so a slow disk
delays an upload, not the event loop, and an upload's memory is one block however large the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from pathlib import Path
from types import TracebackType

from .archive import fsync_dir

BLOCK = 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_HEX = re.compile(r"[0-9a-f]{64}")


class FileTooBig(Exception):
    """More bytes than the store takes in one file."""


def is_hex_digest(text: str) -> bool:
    return _HEX.fullmatch(text) is not None


class FileStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def _dir(self, tender: str, supplier: str) -> Path:
        for name in (tender, supplier):
            if _NAME.fullmatch(name) is None:
                raise ValueError(f"{name!r} cannot name a directory of the file store")
        return self.root / tender / supplier

    def find(self, tender: str, supplier: str, hexdigest: str) -> Path | None:
        """The stored file, or None (no such file, or ids that name none)."""
        if not is_hex_digest(hexdigest):
            return None
        try:
            path = self._dir(tender, supplier) / hexdigest
        except ValueError:
            return None
        return path if path.is_file() else None

    def digests(self, tender: str, supplier: str) -> list[str]:
        """The hex digests of a supplier's stored files, sorted (partial uploads left out)."""
        try:
            return sorted(p.name for p in self._dir(tender, supplier).iterdir()
                          if is_hex_digest(p.name))
        except (ValueError, FileNotFoundError, NotADirectoryError):
            return []

    def upload(self, tender: str, supplier: str) -> Upload:
        """A file being received for ``supplier`` in ``tender`` (``ValueError`` for ids that
        cannot name a directory): ``async with store.upload(...) as upload``."""
        return Upload(self._dir(tender, supplier), self.max_bytes)


class Upload:
    """One file on its way in: ``write`` its bytes, read ``size`` and ``hexdigest``, ``commit``
    it under its digest; left without ``commit``, the partial file is deleted."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.size = 0
        self._hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._tmp: Path | None = None
        self._fd: int | None = None

    async def __aenter__(self) -> Upload:
        def start() -> tuple[Path, int]:
            if not self.directory.is_dir():  # new directories are durable before a file in them
                self.directory.mkdir(parents=True, exist_ok=True)
                fsync_dir(self.directory.parent.parent)
                fsync_dir(self.directory.parent)
            tmp = self.directory / f".upload-{os.getpid()}-{secrets.token_hex(8)}"
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

        self._tmp, self._fd = await asyncio.to_thread(start)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.to_thread(self._discard)

    def _discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None

    @property
    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    async def write(self, data: bytes) -> None:
        """``FileTooBig`` once the file is past the store's limit: nothing more is written."""
        self.size += len(data)
        if self.size > self.max_bytes:
            raise FileTooBig(f"more than {self.max_bytes} bytes")
        self._hash.update(data)
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= BLOCK:
            await self._flush()

    async def _flush(self) -> None:
        block, self._pending, self._pending_size = b"".join(self._pending), [], 0
        if block:
            await asyncio.to_thread(_write_all, self._fd, block)

    async def commit(self) -> bool:
        """The file, durable under its digest's name; whether it is new (False: the same bytes
        were there already)."""
        await self._flush()
        return await asyncio.to_thread(self._commit)

    def _commit(self) -> bool:
        final = self.directory / self.hexdigest
        if final.exists():
            return False
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        os.replace(self._tmp, final)
        self._tmp = None
        fsync_dir(self.directory)
        return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
