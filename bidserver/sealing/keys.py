"""Key files: the one module of the sealing package that touches the file system.

The rest of the package is pure and the engine imports it; this module is for the composition root
(``serve``, the command line) only. Private keys are PEM files of mode 0600, created complete and
atomically (written aside, then hard-linked into place, as ``config.resolve_jwt_key`` does), so two
processes starting together end up with the same key and never read half of one, and an existing
key is never overwritten: receipts signed with it must stay verifiable.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from . import ed25519
from .pem import Algorithm, private_pem, public_pem, read_private

log = logging.getLogger(__name__)


def load_or_create_signing_key(path: Path) -> bytes:
    """The server's one Ed25519 signing key (raw private bytes): it signs receipts and the audit
    log's tree heads (``audit.audit_signing_key``), from ``path``, generated there once if
    missing. ``ValueError`` for a file that holds no Ed25519 private key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        private, _ = ed25519.keypair()
        _create_exclusive(path, private_pem("ed25519", private))  # another process may win: read back
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("%s is readable by others (mode %o): anyone who reads it can sign receipts and tree heads", path, mode)
    try:
        return read_private("ed25519", path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def write_keypair(directory: Path, algorithm: Algorithm, private: bytes, public: bytes) -> tuple[Path, Path]:
    """``private.pem`` (0600) and ``public.pem`` in ``directory``; ``FileExistsError`` if either is
    there already (a key is never overwritten: what was sealed to it would be lost)."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / "private.pem", directory / "public.pem"
    for path in (private_path, public_path):
        if path.exists():
            raise FileExistsError(f"{path} exists: a key is never overwritten")
    if not _create_exclusive(private_path, private_pem(algorithm, private)):
        raise FileExistsError(f"{private_path} exists: a key is never overwritten")
    public_path.write_text(public_pem(algorithm, public))
    return private_path, public_path


def _create_exclusive(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` (0600) unless it exists; whether this call created it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if another process got there first: theirs wins
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)
