"""Shamir k-of-n shares of a tender key: any k give it back, fewer never, and bad sets are refused."""

from __future__ import annotations

import itertools
import secrets

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidserver.sealing import ShareError
from bidserver.sealing.shamir import _interpolate, combine, share_from_text, share_to_text, split

KEY = secrets.token_bytes(32)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))), st.binary(min_size=32, max_size=32))
def test_any_k_of_n_give_the_key_and_k_minus_1_never(kn, key):
    k, n = kn
    shares = split(key, k, n)
    assert [s.index for s in shares] == list(range(1, n + 1))
    for chosen in itertools.combinations(shares, k):
        assert combine(list(reversed(chosen))) == key
    for chosen in itertools.combinations(shares, k - 1):
        with pytest.raises(ShareError, match="needed" if chosen else "no shares"):
            combine(list(chosen))
        if chosen:  # what k-1 points interpolate to is not the key
            assert _interpolate(list(chosen)) != key
    assert combine(shares) == key  # more than k: all used, still the key


def test_k_minus_1_shares_claiming_a_lower_threshold_are_caught():
    shares = split(KEY, 3, 5)
    forged = [msgspec.structs.replace(s, threshold=2) for s in shares[:2]]
    with pytest.raises(ShareError, match="altered"):
        combine(forged)


def test_k_1_makes_every_share_the_key():
    assert all(combine([s]) == KEY for s in split(KEY, 1, 3))


def test_duplicate_shares_are_refused():
    a, b, _ = split(KEY, 2, 3)
    with pytest.raises(ShareError, match="twice"):
        combine([a, a])
    with pytest.raises(ShareError, match="twice"):
        combine([a, msgspec.structs.replace(b, index=a.index)])


def test_shares_of_different_keys_are_refused():
    mine, theirs = split(KEY, 2, 3), split(secrets.token_bytes(32), 2, 3)
    with pytest.raises(ShareError, match="same key"):
        combine([mine[0], theirs[1]])
    with pytest.raises(ShareError, match="same key"):
        combine([mine[0], split(KEY, 3, 3)[1]])  # same key, other split's threshold


@given(st.integers(0, 31), st.integers(1, 255))
def test_an_altered_share_is_caught(at, flip):
    a, b = split(KEY, 2, 2)
    value = bytearray(b.value)
    value[at] ^= flip
    with pytest.raises(ShareError, match="altered"):
        combine([a, msgspec.structs.replace(b, value=bytes(value))])


@pytest.mark.parametrize("change", [{"value": bytes(31)}, {"index": 0}, {"index": 256}])
def test_malformed_shares_are_refused(change):
    a, b = split(KEY, 2, 2)
    with pytest.raises(ShareError, match="malformed"):
        combine([a, msgspec.structs.replace(b, **change)])


def test_no_shares():
    with pytest.raises(ShareError):
        combine([])


@pytest.mark.parametrize("args", [(bytes(16), 2, 3), (bytes(33), 2, 3), (KEY, 0, 3), (KEY, 4, 3), (KEY, 2, 256)])
def test_split_refuses_what_no_caller_should_pass(args):
    with pytest.raises(ValueError):
        split(*args)


def test_a_share_as_text_and_back():
    share = split(KEY, 2, 3)[1]
    text = share_to_text(share)
    assert share.value.hex() in text and share_from_text(text) == share == share_from_text(text.encode())


@pytest.mark.parametrize("text", ["", "{}", "[1]", '{"index":1,"threshold":2,"value":"zz","fingerprint":""}',
                                  '{"index":"1","threshold":2,"value":"","fingerprint":""}'])
def test_what_is_not_a_share_as_text_is_a_share_error(text):
    with pytest.raises(ShareError):
        share_from_text(text)
