"""An officer's share, handed out sealed to that officer's own key."""

from __future__ import annotations

import pytest

from bidserver.sealing import FIRST, SealError
from bidserver.sealing.officers import _INFO, open_share, seal_share
from bidserver.sealing.shamir import combine, split

TENDER_PRIVATE, _ = FIRST.keypair()


def test_each_officer_opens_its_own_share_and_k_of_them_the_tender_key():
    officers = [FIRST.keypair() for _ in range(3)]
    handed_out = [seal_share(public, share) for (_, public), share in zip(officers, split(TENDER_PRIVATE, 2, 3))]
    opened = [open_share(private, sealed) for (private, _), sealed in zip(officers, handed_out)]
    assert combine(opened[1:]) == TENDER_PRIVATE
    with pytest.raises(SealError):
        open_share(officers[0][0], handed_out[1])  # another officer's


def test_what_is_not_a_sealed_share_is_a_seal_error():
    private, public = FIRST.keypair()
    with pytest.raises(SealError, match="not a key share"):
        open_share(private, FIRST.seal(public, b"not a share", _INFO))
    with pytest.raises(SealError):
        open_share(private, FIRST.seal(public, b"{}", b"another use"))
    with pytest.raises(SealError):
        open_share(private, b"")
