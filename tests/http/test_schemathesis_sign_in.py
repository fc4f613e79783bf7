"""Schemathesis against the sign-in operations of ``/openapi.json`` (``/api/session``,
``/api/dev/...``), on a server with development sign-in on: its own module, so that a run can
take it without collecting every operation's tests (``.ci/lowest`` keeps this one: schemathesis's
bound, on the same app as ``test_schemathesis.py``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from bidserver.app import build_app
from bidserver.config import Settings
from bidserver.store.journal import MemoryJournal

from .test_schemathesis import EXPECTED_STATUSES

# A server on its generated key, in a data dir removed at exit: development sign-in is on, and
# its operations are in the document. (schemathesis.pytest.from_fixture would take tmp_path's,
# but fails on this pytest.)
_DEV_DATA = tempfile.TemporaryDirectory(prefix="bidserver-schemathesis-")
signing_in = schemathesis.openapi.from_asgi(
    "/openapi.json",
    build_app(
        Settings(data_dir=Path(_DEV_DATA.name), redis_url="memory://",
                 allowed_hosts=("testserver",), rate_limit_per_s=1000, rate_limit_burst=1000),
        journal=MemoryJournal(),
    ),
    config=schemathesis.Config.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": EXPECTED_STATUSES}}}
    ),
).include(path_regex="^/api/(session|dev/)")


@signing_in.parametrize()
@settings(
    max_examples=20, derandomize=True, deadline=None,
    suppress_health_check=list(HealthCheck), database=None,
)
def test_signing_in_does_what_its_document_says(case):
    case.call_and_validate()
