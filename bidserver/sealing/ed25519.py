"""Ed25519 signatures (RFC 8032) from `cryptography`, keys as raw 32 bytes.

The first suite signs with these, and so does the server's receipt key whatever a tender's suite.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PUBLIC_SIZE = 32


def keypair() -> tuple[bytes, bytes]:
    """A fresh (private, public) pair, from the OS CSPRNG."""
    private = Ed25519PrivateKey.generate()
    return private.private_bytes_raw(), private.public_key().public_bytes_raw()


def public_of(private: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def sign(private: bytes, message: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(private).sign(message)


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Never raises: a malformed key or signature is just not a valid signature."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):  # ValueError: not a 32-byte key
        return False
    return True
