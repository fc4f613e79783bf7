"""Sealed bids: the content a supplier seals, its padding, and the checks without and with the key."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidserver.sealing import FIRST, SealError
from bidserver.sealing.bid import (
    BUCKET,
    MAX_CONTENT,
    LotPrice,
    SealedBidContent,
    bid_content,
    bid_info,
    check_sealed_bid,
    open_bid,
    padded,
    seal_bid,
)

PRIVATE, PUBLIC = FIRST.keypair()


def content(amount: int = 97050, tender: str = "T1", **extra) -> SealedBidContent:
    return bid_content(tender, "s1", "EUR", (LotPrice(lot_id="L1", amount=amount),), **extra)


def test_a_sealed_bid_opens_to_its_content():
    bid = content(bid_security_ref="BG-2026-0042")
    sealed = seal_bid(FIRST, PUBLIC, bid)
    check_sealed_bid(FIRST, sealed)
    assert open_bid(FIRST, PRIVATE, "T1", sealed) == bid


def test_every_bid_has_its_own_nonce():
    assert content().nonce != content().nonce and len(content().nonce) == 16


@pytest.mark.parametrize("bid", [
    content(1), content(10**15), content(97050, bid_security_ref="a guarantee reference " * 4),
    bid_content("T1", "s1", "EUR", tuple(LotPrice(lot_id=f"L{i}", amount=10**12) for i in range(12))),
    # an RFQ's quote: its delivery time, validity and a few certificates change nothing either
    content(1, delivery_days=0, validity_days=1),
    bid_content("T1", "s1", "EUR",
                tuple(LotPrice(lot_id=f"L{i}", amount=10**12) for i in range(12)),
                delivery_days=3660, validity_days=3660,
                certificates=("ISO 9001:2015", "ISO 14001:2015", "GB/T 19001-2016", "CCC", "CE")),
])
def test_the_size_tells_nothing_of_price_lots_or_bid_security(bid):
    assert len(seal_bid(FIRST, PUBLIC, bid)) == FIRST.overhead + BUCKET


def test_the_padding_is_json_whitespace_to_whole_buckets():
    bid = content()
    plaintext = padded(bid)
    assert len(plaintext) == BUCKET and plaintext.rstrip(b" ") == msgspec.json.encode(bid)
    many = bid_content("T1", "s1", "EUR", tuple(LotPrice(lot_id=f"L{i}", amount=i + 1) for i in range(40)))
    assert len(padded(many)) % BUCKET == 0 and len(padded(many)) > BUCKET


def test_a_bid_over_the_limit_is_refused_before_sealing():
    huge = bid_content("T1", "s1", "EUR", tuple(LotPrice(lot_id=f"L{i}", amount=i + 1) for i in range(3000)))
    with pytest.raises(ValueError, match="limit"):
        seal_bid(FIRST, PUBLIC, huge)


def test_a_plaintext_bid_is_refused_by_the_structure_check_and_does_not_open():
    plain = msgspec.json.encode(content())
    for sealed in (plain, padded(content()), padded(content()) + b" " * FIRST.overhead):
        with pytest.raises(SealError):
            check_sealed_bid(FIRST, sealed)
        with pytest.raises(SealError):
            open_bid(FIRST, PRIVATE, "T1", sealed)


def test_the_structure_check_says_text_for_plaintext_of_the_right_size():
    with pytest.raises(SealError, match="text"):
        check_sealed_bid(FIRST, padded(content()) + b" " * FIRST.overhead)


@pytest.mark.parametrize("size", [0, 1, FIRST.overhead, FIRST.overhead + BUCKET - 1,
                                  FIRST.overhead + MAX_CONTENT + BUCKET])
def test_the_structure_check_refuses_other_sizes(size):
    with pytest.raises(SealError, match="size"):
        check_sealed_bid(FIRST, b"\xff" * size)


def test_unpadded_sealed_bytes_are_refused():
    with pytest.raises(SealError):
        check_sealed_bid(FIRST, FIRST.seal(PUBLIC, msgspec.json.encode(content()), bid_info("T1")))


def test_a_bid_opens_only_in_its_own_tender():
    sealed = seal_bid(FIRST, PUBLIC, content(tender="T2"))
    with pytest.raises(SealError):
        open_bid(FIRST, PRIVATE, "T1", sealed)
    # sealed for T1's context, but the content names T2: not a bid of T1
    inside = FIRST.seal(PUBLIC, padded(content(tender="T2")), bid_info("T1"))
    with pytest.raises(SealError, match="T2"):
        open_bid(FIRST, PRIVATE, "T1", inside)


@pytest.mark.parametrize("plaintext", [b"970.50", b"{}", b'{"tender_id":"T1"}', b"\xff" * 1024])
def test_what_opens_but_is_no_bid_is_a_seal_error(plaintext):
    with pytest.raises(SealError, match="not a bid"):
        open_bid(FIRST, PRIVATE, "T1", FIRST.seal(PUBLIC, plaintext, bid_info("T1")))


@given(st.binary(max_size=FIRST.overhead + 2 * BUCKET))
def test_any_bytes_open_as_a_bid_or_raise_seal_error(sealed):
    try:
        open_bid(FIRST, PRIVATE, "T1", sealed)
    except SealError:
        pass
    try:
        check_sealed_bid(FIRST, sealed)
    except SealError:
        pass


def test_a_quote_opens_with_its_delivery_time_validity_and_certificates():
    quote = content(delivery_days=7, validity_days=60, certificates=("ISO 9001", "中国强制认证"))
    opened = open_bid(FIRST, PRIVATE, "T1", seal_bid(FIRST, PUBLIC, quote))
    assert (opened.delivery_days, opened.validity_days, opened.certificates) == (
        7, 60, ("ISO 9001", "中国强制认证"))

