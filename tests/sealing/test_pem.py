"""Keys as text: PEM or base64 of the raw bytes, each algorithm only as itself."""

from __future__ import annotations

import base64

import pytest

from bidserver.sealing import FIRST, ed25519
from bidserver.sealing.pem import private_pem, public_b64, public_pem, read_private, read_public

PAIRS = {"x25519": FIRST.keypair(), "ed25519": ed25519.keypair()}


@pytest.mark.parametrize("algorithm", ["x25519", "ed25519"])
def test_keys_read_back_from_pem_and_base64(algorithm):
    private, public = PAIRS[algorithm]
    assert read_private(algorithm, private_pem(algorithm, private)) == private
    assert read_private(algorithm, "  " + base64.b64encode(private).decode() + "\n") == private
    assert read_public(algorithm, public_pem(algorithm, public)) == public
    assert read_public(algorithm, public_b64(public)) == public
    assert "PRIVATE KEY" in private_pem(algorithm, private) and "PUBLIC KEY" in public_pem(algorithm, public)


@pytest.mark.parametrize("text", ["", "not base64!", base64.b64encode(bytes(31)).decode(),
                                  "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n"])
def test_what_is_not_a_key_is_a_value_error(text):
    with pytest.raises(ValueError, match="not an X25519 public key"):
        read_public("x25519", text)
    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        read_private("ed25519", text)


def test_a_key_of_the_other_algorithm_is_refused():
    x_private, x_public = PAIRS["x25519"]
    with pytest.raises(ValueError, match="not an Ed25519 public key"):
        read_public("ed25519", public_pem("x25519", x_public))
    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        read_private("ed25519", private_pem("x25519", x_private))
    with pytest.raises(ValueError, match="not an X25519 private key"):
        read_private("x25519", public_pem("x25519", x_public))
