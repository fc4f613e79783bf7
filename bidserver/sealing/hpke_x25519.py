"""The first suite, ``hpke-x25519-sha256-aes256gcm+ed25519``.

Sealing is HPKE (RFC 9180) in base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, from
pyhpke on `cryptography`; the output is ``enc || ciphertext`` (32 bytes of encapsulated key, then
the plaintext's length plus a 16-byte tag), what a WebCrypto HPKE library produces from the same
suite ids. Signatures are Ed25519 (``ed25519.py``). Keys are raw bytes: 32 each.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pyhpke import AEADId, CipherSuite, KDFId, KEMId

from . import ed25519
from .errors import SealError
from .suites import Suite

NAME = "hpke-x25519-sha256-aes256gcm+ed25519"
ENC_SIZE = 32  # X25519's encapsulated key: the sender's ephemeral public key
TAG_SIZE = 16  # AES-GCM's tag
KEY_SIZE = 32

_HPKE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)


def keypair() -> tuple[bytes, bytes]:
    private = X25519PrivateKey.generate()
    return private.private_bytes_raw(), private.public_key().public_bytes_raw()


def public_of(private: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def seal(public: bytes, plaintext: bytes, info: bytes) -> bytes:
    try:
        enc, sender = _HPKE.create_sender_context(_HPKE.kem.deserialize_public_key(public), info)
    except Exception:  # pyhpke and cryptography raise ValueError or their own types, by version
        raise SealError("not a usable X25519 public key (32 bytes, not a low-order point)") from None
    return enc + sender.seal(plaintext)


def open(private: bytes, sealed: bytes, info: bytes) -> bytes:  # noqa: A001 - the suite's verb
    """Every failure is a ``SealError``: the engine opens all bids and must go on past a bad one,
    whatever the libraries raise (a wrong key or tampered bytes fail the tag; a low-order ``enc``
    makes X25519 refuse; a short blob or a malformed key fails on its length)."""
    if len(private) != KEY_SIZE:
        raise SealError(f"not an X25519 private key ({len(private)} bytes, {KEY_SIZE} expected)")
    if len(sealed) < ENC_SIZE + TAG_SIZE:
        raise SealError(f"too short to be sealed ({len(sealed)} bytes, at least {ENC_SIZE + TAG_SIZE})")
    try:
        recipient = _HPKE.create_recipient_context(
            sealed[:ENC_SIZE], _HPKE.kem.deserialize_private_key(private), info
        )
        return recipient.open(sealed[ENC_SIZE:])
    except Exception:
        raise SealError("does not open with this key (sealed to another key or for another use, or altered)") from None


SUITE = Suite(
    name=NAME,
    keypair=keypair,
    public_of=public_of,
    seal=seal,
    open=open,
    overhead=ENC_SIZE + TAG_SIZE,
    sign=ed25519.sign,
    verify=ed25519.verify,
    signing_keypair=ed25519.keypair,
    signing_public_size=ed25519.PUBLIC_SIZE,
)
