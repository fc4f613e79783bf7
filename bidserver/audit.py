"""The audit log's outside: the server's signing key, and what ``bidserver audit`` does.

The signing key (Ed25519) signs every tree head (``runtime.heads``). It lives in
``<data_dir>/signing.key`` (PKCS #8 PEM, mode 0600), generated on the first start, so that
``serve``, its workers, and ``bidserver audit public-key`` agree on it with nothing configured;
whoever holds it can sign heads in the server's name, so it is kept like ``jwt.key``, and its
public half is what the operator publishes for auditors to pin (``audit verify --public-key``).

``export`` gathers one auction's log, heads and keys from Redis (or its entries from an archive
file, once it left Redis) into the file ``store.audit_log`` describes, which also verifies it
(without Redis, so ``audit verify`` imports none of this).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .config import Settings
from .sealing.keys import load_or_create_signing_key
from .store.archive import ArchiveError, Archives
from .store.audit_log import export_bytes
from .store.chain import ChainBroken
from .store.head_store import RedisTreeHeads
from .store.journal import JournalError
from .store.redis_journal import RedisJournal


SIGNING_KEY_FILE = "signing.key"


class AuditError(Exception):
    """What keeps an audit command from doing its work, in one line."""


def audit_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The server's one Ed25519 key, from ``<data_dir>/signing.key``: it signs the audit log's
    tree heads and the tenders' receipts alike, so one published public key checks both. Loaded
    (or created once) by ``sealing.keys.load_or_create_signing_key``, the key's one loader.
    ``AuditError`` if the file holds no Ed25519 key."""
    try:
        raw = load_or_create_signing_key(settings.data_dir / SIGNING_KEY_FILE)
    except ValueError as exc:
        raise AuditError(str(exc)) from None
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_pem(key: Ed25519PrivateKey) -> str:
    """The public half, as auditors pin it (SubjectPublicKeyInfo PEM, as ``openssl pkey
    -pubout`` writes it)."""
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


async def export(
    redis_url: str, auction_id: str, archive: Path | None, now_ms: int
) -> tuple[bytes, int, int]:
    """The export file of ``auction_id``, and how many entries and heads it holds: its entries
    from the journal at ``redis_url`` (or from ``archive``, an archive file of it), its heads
    and their keys from that Redis."""
    journal = RedisJournal(redis_url, allow_unsafe=True)  # read only: durability is not at stake
    heads_store = RedisTreeHeads(journal)
    try:
        entries = await journal.read(auction_id) if archive is None else []
        archived = None if entries else await journal.archived(auction_id)
        records = await heads_store.read(auction_id)
        keys = await heads_store.keys()
    except JournalError as exc:
        raise AuditError(f"cannot read the journal at {redis_url}: {exc}") from None
    finally:
        await journal.close()
    if archive is not None:
        entries = _archived_entries(archive, auction_id)
    elif archived is not None:
        raise AuditError(f"auction {auction_id!r} is archived (up to entry {archived[0]}): "
                         f"export it with --archive <archive dir>/{auction_id}.jsonl.gz")
    if not entries:
        raise AuditError(f"no journal for auction {auction_id!r}")
    try:
        data = export_bytes(auction_id, entries, [r.head for r in records], keys, now_ms)
    except ValueError as exc:
        raise AuditError(str(exc)) from None
    return data, len(entries), len(records)


def _archived_entries(path: Path, auction_id: str) -> list[tuple[int, bytes]]:
    try:
        manifest, entries = Archives(path.parent).read_file(path)
    except (ArchiveError, ChainBroken) as exc:
        raise AuditError(f"archive refused: {exc}") from None
    if manifest.auction_id != auction_id:
        raise AuditError(f"{path} is the archive of auction {manifest.auction_id!r}")
    return entries
