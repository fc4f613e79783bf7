"""Handing out the tender key's shares: each officer's share sealed to that officer's own key.

Whoever splits the tender key (later: the server at publication, forgetting the key at once) seals
each share to its officer's X25519 public key with the first suite, so the hand-out can travel and
be stored like a sealed bid: only that officer's private key opens it, and nothing on the way holds
a share in the clear.
"""

from __future__ import annotations

from . import hpke_x25519
from .errors import SealError, ShareError
from .shamir import Share, share_from_text, share_to_text

_INFO = b"bidserver/officer-share/v1"


def seal_share(officer_public: bytes, share: Share) -> bytes:
    return hpke_x25519.seal(officer_public, share_to_text(share).encode(), _INFO)


def open_share(officer_private: bytes, sealed: bytes) -> Share:
    """``SealError`` for anything but a share sealed to this officer."""
    text = hpke_x25519.open(officer_private, sealed, _INFO)
    try:
        return share_from_text(text)
    except ShareError as exc:
        raise SealError(f"opened, but {exc}") from None
