"""The sealing package's failures: each one type, so a caller handles one thing.

The engine opens every bid at the opening and must go on with the others whatever one bid holds:
``SealError`` is the only exception opening raises, ``ShareError`` the only one combining shares
raises, whatever the libraries underneath raise in their versions.
"""

from __future__ import annotations


class SealError(Exception):
    """Sealed bytes that do not open: a wrong key, bytes tampered with or cut short, bytes that were
    never sealed (a plaintext bid), or a plaintext that is not what it claims to be."""


class ShareError(Exception):
    """Key shares that do not combine: too few, a duplicate, shares of different splits, or one
    altered (the combined key is not the one that was split)."""


class UnknownSuite(Exception):
    """A suite name this server does not implement (a tender names its suite)."""
