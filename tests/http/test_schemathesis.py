"""Schemathesis against ``/openapi.json``: every operation, with all of its checks (server errors,
status codes, content types, response schemas and headers, positive and negative data, ignored
authentication, unsupported methods...), as a buyer and as a supplier, finds nothing.

The app runs in process on the in-memory journal. Each operation's ``auction_id`` and ``lot_id``
are those of a real auction (opened, the supplier invited) rather than drawn, or nearly every
request would stop at 404 ``unknown_auction``. Derandomized and bounded: the same requests each
run, in well under a minute.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.python.asgi import get_client

from bidserver.app import build_app
from bidserver.auth import mint_token
from bidserver.config import Settings
from bidserver.store.journal import MemoryJournal

from .test_api import CONFIG, KEY
from .test_tenders import TENDER

SUPPLIER = "s1"
BUYER = "org-b"
_auctions = itertools.count()


# The data directory holds the server's signing key (receipts), made at the app's start.
app = build_app(
    Settings(jwt_key=KEY, data_dir=Path(tempfile.mkdtemp(prefix="bidserver-schemathesis-")), redis_url="memory://", allowed_hosts=("testserver",),
             rate_limit_per_s=1000, rate_limit_burst=1000),
    journal=MemoryJournal(),
)
TOKENS = {
    "buyer": mint_token(KEY, role="buyer", party=BUYER),
    "supplier": mint_token(KEY, role="supplier", party=SUPPLIER),
}
# Schemathesis's own checks, as they come, but one: a request that matches the schema may still
# be refused with 422 by a rule JSON Schema cannot state (a reserve at most the ceiling, unique
# lot ids, a reason required when the award is not the lowest bid, an extension of 0 ms): that
# is what the document says 422 is for. Everything JSON Schema can state, decoding enforces.
EXPECTED_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]


# A cursor is opaque, the previous page's `next_cursor`: one made up is refused (400), whatever
# its characters.
_MADE_UP_CURSOR = [{
    "include-operation-id": listing,
    "checks": {"positive_data_acceptance": {"expected-statuses": [*EXPECTED_STATUSES, "400"]}},
} for listing in ("list_auctions", "list_suppliers")]
# The "decimal" format msgspec gives Decimal fields (a lot's quantity): decimal text.
schemathesis.openapi.format(
    "decimal", st.decimals(allow_nan=False, allow_infinity=False).map(str)
)


def _schema(role: str):
    config = schemathesis.Config.from_dict({
        "auth": {"openapi": {"bearer": {"bearer": TOKENS[role]}}},
        "checks": {"positive_data_acceptance": {"expected-statuses": EXPECTED_STATUSES}},
        "operations": _MADE_UP_CURSOR,
    })
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@pytest.fixture
def auction() -> str:
    """A fresh open auction per test, the supplier invited."""
    headers = {"authorization": f"Bearer {TOKENS['buyer']}"}
    with get_client(app) as client:
        config = {**CONFIG, "title": f"Schemathesis {next(_auctions)}"}
        r = client.post("/api/auctions", json={"config": config}, headers=headers)
        assert r.status_code == 201, r.text
        auction_id = r.json()["view"]["auction_id"]
        base = f"/api/auctions/{auction_id}"
        r = client.post(f"{base}/invitations", json={"supplier": SUPPLIER}, headers=headers)
        assert r.status_code == 200, r.text
        assert client.post(f"{base}/start", headers=headers).status_code == 200
    return auction_id


@pytest.fixture
def tender() -> str:
    """A fresh published tender per test, the supplier invited: the tender routes' event."""
    headers = {"authorization": f"Bearer {TOKENS['buyer']}"}
    with get_client(app) as client:
        r = client.post("/api/tenders", json={"config": TENDER}, headers=headers)
        assert r.status_code == 201, r.text
        base = f"/api/tenders/{r.json()['view']['tender_id']}"
        r = client.post(f"{base}/invitations", json={"supplier": SUPPLIER}, headers=headers)
        assert r.status_code == 200, r.text
        assert client.post(f"{base}/publish", headers=headers).status_code == 200
    return base.rsplit("/", 1)[1]


@schemathesis.pytest.parametrize(buyer=_schema("buyer"), supplier=_schema("supplier"))
@settings(
    max_examples=5, derandomize=True, deadline=None,
    suppress_health_check=list(HealthCheck), database=None,
)
def test_the_api_does_what_its_document_says(case, auction, tender):
    if "auction_id" in (case.path_parameters or {}):
        case.path_parameters["auction_id"] = tender if case.path.startswith("/api/tenders") else auction
    # A Host the server does not serve is answered 421 before any operation (tests/test_hosts.py):
    # a made-up one is not an input of the operation under test.
    if case.headers:
        case.headers = {k: v for k, v in case.headers.items() if k.lower() != "host"}
    if "lot_id" in (case.path_parameters or {}):
        case.path_parameters["lot_id"] = "L1"
    case.call_and_validate()
