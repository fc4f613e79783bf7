"""The first suite: HPKE X25519/SHA-256/AES-256-GCM sealing and Ed25519 signatures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidserver.sealing import FIRST, SealError
from bidserver.sealing.hpke_x25519 import ENC_SIZE, TAG_SIZE

INFO = b"test-info"
PRIVATE, PUBLIC = FIRST.keypair()
SEALED = FIRST.seal(PUBLIC, b"price: 970.50", INFO)


def test_sealed_opens_with_its_key_and_info_only():
    assert FIRST.public_of(PRIVATE) == PUBLIC
    assert len(SEALED) == ENC_SIZE + len(b"price: 970.50") + TAG_SIZE == FIRST.overhead + 13
    assert FIRST.open(PRIVATE, SEALED, INFO) == b"price: 970.50"
    other, _ = FIRST.keypair()
    with pytest.raises(SealError):
        FIRST.open(other, SEALED, INFO)
    with pytest.raises(SealError):
        FIRST.open(PRIVATE, SEALED, b"another tender")


def test_sealing_twice_gives_different_bytes():
    assert FIRST.seal(PUBLIC, b"same", INFO) != FIRST.seal(PUBLIC, b"same", INFO)


@given(st.data())
def test_any_changed_byte_fails_to_open(data):
    at = data.draw(st.integers(0, len(SEALED) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = SEALED[:at] + bytes([SEALED[at] ^ flip]) + SEALED[at + 1:]
    with pytest.raises(SealError):
        FIRST.open(PRIVATE, tampered, INFO)


@given(st.integers(0, len(SEALED) - 1))
def test_truncated_fails_to_open(length):
    with pytest.raises(SealError):
        FIRST.open(PRIVATE, SEALED[:length], INFO)


@pytest.mark.parametrize("sealed", [
    b'{"tender_id":"T1","supplier":"s1","lots":[{"lot_id":"L1","amount":97050}]}',  # plaintext
    bytes(ENC_SIZE) + bytes(TAG_SIZE + 8),  # a low-order (all-zero) encapsulated key
    b"",
])
def test_what_was_never_sealed_fails_to_open(sealed):
    with pytest.raises(SealError):
        FIRST.open(PRIVATE, sealed, INFO)


@given(st.binary(max_size=200))
def test_any_bytes_open_or_raise_seal_error_never_another_exception(sealed):
    try:
        FIRST.open(PRIVATE, sealed, INFO)
    except SealError:
        pass


@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33)])
def test_malformed_keys_are_seal_errors(key):
    with pytest.raises(SealError):
        FIRST.open(key, SEALED, INFO)
    with pytest.raises(SealError):
        FIRST.seal(key, b"x", INFO)


def test_sealing_to_a_low_order_public_key_is_a_seal_error():
    with pytest.raises(SealError, match="low-order"):
        FIRST.seal(bytes(32), b"x", INFO)  # every shared secret would be zero: X25519 refuses


@given(st.data())
def test_the_commitment_changes_with_any_byte(data):
    assert FIRST.commitment(SEALED) == FIRST.commitment(bytes(SEALED))
    assert FIRST.commitment(SEALED).startswith("sha256:") and len(FIRST.commitment(SEALED)) == 7 + 64
    at = data.draw(st.integers(0, len(SEALED) - 1))
    changed = SEALED[:at] + bytes([SEALED[at] ^ data.draw(st.integers(1, 255))]) + SEALED[at + 1:]
    assert FIRST.commitment(changed) != FIRST.commitment(SEALED)
    assert FIRST.commitment(SEALED[:at]) != FIRST.commitment(SEALED)


def test_signatures_verify_only_unchanged_and_with_their_key():
    from bidserver.sealing import ed25519

    private, public = ed25519.keypair()
    assert ed25519.public_of(private) == public
    signature = FIRST.sign(private, b"message")
    assert FIRST.verify(public, b"message", signature)
    assert not FIRST.verify(public, b"messagE", signature)
    assert not FIRST.verify(public, b"message", signature[:-1] + bytes([signature[-1] ^ 1]))
    assert not FIRST.verify(ed25519.keypair()[1], b"message", signature)
    assert not FIRST.verify(public[:31], b"message", signature)
    assert not FIRST.verify(public, b"message", b"")
