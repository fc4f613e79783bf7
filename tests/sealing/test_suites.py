"""Suites by name: the one a tender names, or UnknownSuite."""

from __future__ import annotations

import pytest

from bidserver.sealing import FIRST, SUITES, UnknownSuite, suite


def test_the_first_suite_by_its_name():
    assert suite("hpke-x25519-sha256-aes256gcm+ed25519") is FIRST
    assert set(SUITES) == {FIRST.name}


@pytest.mark.parametrize("name", ["", "sm2-sm3-sm4", "HPKE-X25519-SHA256-AES256GCM+ED25519"])
def test_an_unknown_name_is_unknown_suite_not_key_error(name):
    with pytest.raises(UnknownSuite, match="hpke-x25519"):
        suite(name)
    assert not issubclass(UnknownSuite, LookupError)
