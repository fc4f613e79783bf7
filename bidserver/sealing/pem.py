"""Keys as text: PEM (what openssl and other tools read) or base64 of the raw 32 bytes (what a
browser's WebCrypto exports and what an API can publish in one line). Pure: no files.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

Algorithm = Literal["x25519", "ed25519"]
_PRIVATE = {"x25519": x25519.X25519PrivateKey, "ed25519": ed25519.Ed25519PrivateKey}
_PUBLIC = {"x25519": x25519.X25519PublicKey, "ed25519": ed25519.Ed25519PublicKey}
_LABEL = {"x25519": "X25519", "ed25519": "Ed25519"}


def private_pem(algorithm: Algorithm, private: bytes) -> str:
    """PKCS #8, unencrypted: the file's mode (0600) is what guards it."""
    return _PRIVATE[algorithm].from_private_bytes(private).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(algorithm: Algorithm, public: bytes) -> str:
    return _PUBLIC[algorithm].from_public_bytes(public).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_b64(public: bytes) -> str:
    return base64.b64encode(public).decode()


def read_private(algorithm: Algorithm, text: str) -> bytes:
    """Raw private key from PEM or base64; ``ValueError`` naming what was expected otherwise."""
    kind = _PRIVATE[algorithm]
    return _read(text, lambda data: serialization.load_pem_private_key(data, password=None),
                 kind.from_private_bytes, kind, _wanted(algorithm, "private")).private_bytes_raw()


def read_public(algorithm: Algorithm, text: str) -> bytes:
    """Raw public key from PEM or base64; ``ValueError`` naming what was expected otherwise."""
    kind = _PUBLIC[algorithm]
    return _read(text, serialization.load_pem_public_key, kind.from_public_bytes, kind,
                 _wanted(algorithm, "public")).public_bytes_raw()


def _wanted(algorithm: Algorithm, half: str) -> str:
    return f"not an {_LABEL[algorithm]} {half} key (PEM, or base64 of its 32 bytes)"


def _read(text: str, from_pem: Callable[[bytes], Any], from_raw: Callable[[bytes], Any], kind: type,
          wanted: str) -> Any:
    text = text.strip()
    try:
        key = from_pem(text.encode()) if text.startswith("-----BEGIN") else from_raw(
            base64.b64decode(text, validate=True))
    except (ValueError, TypeError, UnsupportedAlgorithm):  # binascii.Error is a ValueError
        raise ValueError(wanted) from None
    if not isinstance(key, kind):  # a PEM key of another algorithm
        raise ValueError(wanted)
    return key
