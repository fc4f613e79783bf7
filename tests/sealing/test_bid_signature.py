"""A supplier's bid signature: over the tender, the supplier, the bid id and the commitment, with
a domain of its own, so it passes for no other statement and no other use of the key."""

from __future__ import annotations

import msgspec

from bidserver.sealing import FIRST, ed25519
from bidserver.sealing.bid_signature import BidStatement, sign_bid, signed_message, verify_bid_signature

STATEMENT = BidStatement(bid_id="a1", commitment="sha256:" + "ab" * 32, supplier="sup-a",
                         tender_id="tnd-1")


def test_a_signature_verifies_for_its_statement_and_key_only():
    private, public = FIRST.signing_keypair()
    _, other = FIRST.signing_keypair()
    signature = sign_bid(FIRST, private, STATEMENT)
    assert verify_bid_signature(FIRST, public, STATEMENT, signature)
    assert not verify_bid_signature(FIRST, other, STATEMENT, signature)
    for change in ({"bid_id": "a2"}, {"commitment": "sha256:" + "cd" * 32},
                   {"supplier": "sup-b"}, {"tender_id": "tnd-2"}):
        assert not verify_bid_signature(FIRST, public, msgspec.structs.replace(STATEMENT, **change),
                                        signature), change
    assert not verify_bid_signature(FIRST, public[:31], STATEMENT, signature)  # never raises
    assert not verify_bid_signature(FIRST, public, STATEMENT, signature[:10])


def test_the_signed_message_is_domain_separated_canonical_json():
    assert signed_message(STATEMENT) == (
        b'bidserver/bid-signature/v1\n{"bid_id":"a1","commitment":"sha256:' + b"ab" * 32
        + b'","supplier":"sup-a","tender_id":"tnd-1"}')
    private, public = FIRST.signing_keypair()
    bare = ed25519.sign(private, msgspec.json.encode(STATEMENT, order="sorted"))
    assert not verify_bid_signature(FIRST, public, STATEMENT, bare)
    assert len(public) == FIRST.signing_public_size
