"""A bid's documents in the engine: the opening record carries the documents each opened bid
names, a malformed list fails the bid with its reason, and the pure rules of who may upload a
sealed document and whose stored copy who may read."""

from __future__ import annotations

import pytest

from bidserver.engine.rejections import Reason
from bidserver.engine.tender.bid_files import readable_from, upload_refusal
from bidserver.engine.tender.events import Document
from bidserver.engine.tender.opening import MAX_DOCUMENTS
from bidserver.engine.values import Actor, Role
from bidserver.sealing.bid import BidDocument

from .builders import (
    BUYER, DEADLINE, OBSERVER, OTHER_BUYER, T0, DAY, Run, bid, published, supplier,
)

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def _opened(documents: dict[str, tuple[BidDocument, ...]]) -> Run:
    run = published()
    for i, party in enumerate(("sup-a", "sup-b", "sup-c")):
        run.do(bid(party, f"{party}-1", {"L1": 4_000_000 + i}, T0 + DAY + i,
                   documents=documents.get(party, ())))
    return run.close().start_opening().open()


def test_the_opening_record_names_each_bids_documents():
    run = _opened({"sup-a": (BidDocument(name="proposal.pdf", digest=D1),
                             BidDocument(name="iso.pdf", digest=D2)),
                   "sup-b": (BidDocument(name="offer.pdf", digest=D1),)})
    record = {line.supplier: line for line in run.state.record}
    assert record["sup-a"].documents == (Document("proposal.pdf", D1), Document("iso.pdf", D2))
    assert record["sup-b"].documents == (Document("offer.pdf", D1),)
    assert record["sup-c"].documents == () and record["sup-c"].failed is None


@pytest.mark.parametrize("documents, fault", [
    ((BidDocument(name="a", digest="sha256:xyz"),), "digest"),
    ((BidDocument(name="a", digest=D1.upper()),), "digest"),
    ((BidDocument(name=" ", digest=D1),), "name"),
    ((BidDocument(name="a", digest=D1), BidDocument(name="b", digest=D1)), "twice"),
    (tuple(BidDocument(name=f"d{i}", digest="sha256:" + f"{i:064x}")
           for i in range(MAX_DOCUMENTS + 1)), "more than"),
])
def test_a_malformed_list_of_documents_fails_the_bid(documents, fault):
    run = _opened({"sup-a": documents})
    line = next(line for line in run.state.record if line.supplier == "sup-a")
    assert line.failed is not None and fault in line.failed and line.documents == ()


def test_who_may_upload():
    run = published()
    assert upload_refusal(run.state, supplier("sup-a"), T0 + 1) is None
    assert upload_refusal(run.state, BUYER, T0 + 1).reason is Reason.FORBIDDEN
    assert upload_refusal(run.state, supplier("sup-x"), T0 + 1).reason is Reason.NOT_INVITED
    assert upload_refusal(run.state, supplier("sup-a"), DEADLINE).reason is Reason.DEADLINE_PASSED
    draft = Run()
    assert upload_refusal(draft.state, supplier("sup-a"), T0).reason is Reason.WRONG_PHASE


def test_whose_copy_who_may_read():
    documents = {"sup-a": (BidDocument(name="p.pdf", digest=D1),),
                 "sup-b": (BidDocument(name="q.pdf", digest=D1),)}
    before = published()
    assert readable_from(before.state, supplier("sup-a"), D1) == ("sup-a",)
    assert readable_from(before.state, BUYER, D1) == ()
    run = _opened(documents)
    assert readable_from(run.state, BUYER, D1) == ("sup-a", "sup-b")
    assert readable_from(run.state, OBSERVER, D1) == ("sup-a", "sup-b")
    assert readable_from(run.state, BUYER, D2) == ()
    assert readable_from(run.state, OTHER_BUYER, D1) == ()
    assert readable_from(run.state, supplier("sup-c"), D1) == ("sup-c",)  # its own copy only
    assert readable_from(run.state, Actor(Role.SYSTEM, "system"), D1) == ()


def test_only_the_buyers_organisation_sees_which_documents_each_bid_holds():
    from bidserver.engine.tender.views import audience_view, view_for, you

    run = _opened({"sup-a": (BidDocument(name="p.pdf", digest=D1),)})
    for actor in (BUYER, OBSERVER):
        lines = {line.supplier: line for line in view_for(run.state, actor).opening.record}
        assert lines["sup-a"].documents == (Document("p.pdf", D1),)
    for seen in (*(view_for(run.state, supplier(p)) for p in ("sup-a", "sup-b")),
                 audience_view(run.state, Role.SUPPLIER)):
        assert all(line.documents == () for line in seen.opening.record)
    assert you(run.state, supplier("sup-a")).quote.documents == (Document("p.pdf", D1),)
