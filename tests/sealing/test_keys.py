"""Key files: the server's receipt key made once (0600) and read back; keypairs never overwritten."""

from __future__ import annotations

import pytest

from bidserver.sealing import FIRST, ed25519
from bidserver.sealing.keys import load_or_create_signing_key, write_keypair
from bidserver.sealing.pem import read_private, read_public


def test_the_signing_key_is_created_once_private_and_kept(tmp_path):
    path = tmp_path / "data" / "receipt.key"
    key = load_or_create_signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_private("ed25519", path.read_text()) == key
    assert load_or_create_signing_key(path) == key
    assert ed25519.verify(ed25519.public_of(key), b"m", ed25519.sign(key, b"m"))
    assert [p.name for p in path.parent.iterdir()] == ["receipt.key"]  # no temporary file left


def test_a_file_that_is_not_a_signing_key_is_refused_not_replaced(tmp_path):
    path = tmp_path / "receipt.key"
    path.write_text("not a key\n")
    with pytest.raises(ValueError, match="receipt.key.*Ed25519"):
        load_or_create_signing_key(path)
    assert path.read_text() == "not a key\n"


def test_a_keypair_is_written_and_never_overwritten(tmp_path):
    private, public = FIRST.keypair()
    private_path, public_path = write_keypair(tmp_path / "officer", "x25519", private, public)
    assert private_path.stat().st_mode & 0o777 == 0o600
    assert read_private("x25519", private_path.read_text()) == private
    assert read_public("x25519", public_path.read_text()) == public
    with pytest.raises(FileExistsError):
        write_keypair(tmp_path / "officer", "x25519", *FIRST.keypair())
    assert read_private("x25519", private_path.read_text()) == private
