"""Sealed bids' cryptography, pure: no I/O, no clock (``keys`` alone reads and writes key files).

What a supplier seals (``bid``), the suites that seal and sign, by name (``suite``), the tender key's
k-of-n shares (``shamir``) and their hand-out to the officers (``officers``), and the server's signed
receipts (``receipts``). Below the engine, which imports it; it imports nothing of bidserver's. See
docs/tenders.md, "Cryptography".
"""

from __future__ import annotations

from .errors import SealError, ShareError, UnknownSuite
from .hpke_x25519 import SUITE as HPKE_X25519
from .suites import Suite

SUITES: dict[str, Suite] = {s.name: s for s in (HPKE_X25519,)}
FIRST = HPKE_X25519


def suite(name: str) -> Suite:
    """The suite a tender names; ``UnknownSuite`` (never ``KeyError``) for one this server lacks."""
    found = SUITES.get(name)
    if found is None:
        raise UnknownSuite(f"no sealing suite {name!r} (this server has: {', '.join(sorted(SUITES))})")
    return found


__all__ = ["FIRST", "SUITES", "SealError", "ShareError", "Suite", "UnknownSuite", "suite"]
