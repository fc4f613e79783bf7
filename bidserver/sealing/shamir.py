"""Shamir k-of-n secret sharing of a 32-byte private key: the tender's key exists only as shares.

The arithmetic is pycryptodome's ``Crypto.Protocol.SecretSharing.Shamir`` (GF(2^128), 16-byte
secrets): the key is shared as two 16-byte halves, each with its own random polynomial and the same
indices, and a share holds both halves' points (32 bytes). Any ``k`` shares give the key back;
fewer give a value unrelated to it.

Each share also carries ``threshold`` (so too few shares is an error, not a wrong key) and
``fingerprint``, a domain-separated SHA-256 of the key, the same in every share of one split: shares
of different splits are refused before combining, and an altered share is caught after (the result
does not have the fingerprint). The fingerprint reveals no more than the tender's public key does
(both are one-way functions of a uniformly random 256-bit key); which is why ``split`` takes 32-byte
keys only, never a low-entropy secret whose hash could be searched.
"""

from __future__ import annotations

import hashlib

import msgspec
from Crypto.Protocol.SecretSharing import Shamir

from .errors import ShareError

SECRET_SIZE = 32
MAX_SHARES = 255
_HALF = SECRET_SIZE // 2
_FINGERPRINT_TAG = b"bidserver/shamir-fingerprint/v1\x00"


class Share(msgspec.Struct, frozen=True, kw_only=True):
    """One officer's share. ``share_to_text``/``share_from_text`` give it as a small JSON document
    (bytes as hex) that an officer keeps in a file and presents at the opening."""

    index: int  # 1..n: the point's x coordinate
    threshold: int  # k: how many shares open the key
    value: bytes  # the two halves' y coordinates, 16 bytes each
    fingerprint: bytes  # SHA-256 of the key (domain-separated): the same in every share of a split


class _ShareText(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    index: int
    threshold: int
    value: str
    fingerprint: str


def _fingerprint(secret: bytes) -> bytes:
    return hashlib.sha256(_FINGERPRINT_TAG + secret).digest()


def split(secret: bytes, k: int, n: int) -> list[Share]:
    """``n`` shares of which any ``k`` combine to ``secret``; draws from the OS CSPRNG. ``k = 1``
    (an RFQ whose buyer alone opens) makes every share the key itself. ``ValueError`` for arguments
    no caller should pass: the tender's configuration is checked before it gets here."""
    if len(secret) != SECRET_SIZE:
        raise ValueError(f"the secret must be a {SECRET_SIZE}-byte key, not {len(secret)} bytes")
    if not 1 <= k <= n <= MAX_SHARES:
        raise ValueError(f"need 1 <= k <= n <= {MAX_SHARES}, got k={k}, n={n}")
    low = Shamir.split(k, n, secret[:_HALF])
    high = Shamir.split(k, n, secret[_HALF:])
    fingerprint = _fingerprint(secret)
    return [
        Share(index=i, threshold=k, value=lo + hi, fingerprint=fingerprint)
        for (i, lo), (_, hi) in zip(low, high, strict=True)
    ]


def combine(shares: list[Share]) -> bytes:
    """The key, from at least ``threshold`` shares of one split; ``ShareError`` otherwise. Every
    share given is used, so one altered share among more than ``k`` is caught, not outvoted."""
    if not shares:
        raise ShareError("no shares")
    first = shares[0]
    if any((s.threshold, s.fingerprint) != (first.threshold, first.fingerprint) for s in shares):
        raise ShareError("the shares are not all of the same key")
    seen: set[int] = set()
    for share in shares:
        if not 1 <= share.index <= MAX_SHARES or len(share.value) != SECRET_SIZE:
            raise ShareError(f"share {share.index} is malformed")
        if share.index in seen:
            raise ShareError(f"share {share.index} is given twice")
        seen.add(share.index)
    if len(shares) < first.threshold:
        raise ShareError(f"{first.threshold} shares are needed, {len(shares)} given")
    secret = _interpolate(shares)
    if _fingerprint(secret) != first.fingerprint:
        raise ShareError("the shares do not give back the key they were split from: one is altered")
    return secret


def _interpolate(shares: list[Share]) -> bytes:
    """The polynomials' value at 0 through these points, whether or not they are enough."""
    low = Shamir.combine([(s.index, s.value[:_HALF]) for s in shares])
    high = Shamir.combine([(s.index, s.value[_HALF:]) for s in shares])
    return low + high


def share_to_text(share: Share) -> str:
    return msgspec.json.encode(
        _ShareText(index=share.index, threshold=share.threshold, value=share.value.hex(),
                   fingerprint=share.fingerprint.hex())
    ).decode()


def share_from_text(text: str | bytes) -> Share:
    """``ShareError`` for anything that is not a share's text."""
    try:
        raw = msgspec.json.decode(text, type=_ShareText)
        return Share(index=raw.index, threshold=raw.threshold, value=bytes.fromhex(raw.value),
                     fingerprint=bytes.fromhex(raw.fingerprint))
    except (msgspec.DecodeError, ValueError) as exc:
        raise ShareError(f"not a key share: {exc}") from None
