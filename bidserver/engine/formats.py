"""The formats this server runs, and the tagged union of the configurations its API creates.

Adding a format is adding it here: the runtime looks a format up by the ``format`` of a journal
envelope or by the type of a configuration; the HTTP API creates each format on its own route.
"""

from __future__ import annotations

from .format import Format
from .reverse import FORMAT as REVERSE_AUCTION
from .tender import FORMAT as SEALED_TENDER

FORMATS: dict[str, Format] = {fmt.name: fmt for fmt in (REVERSE_AUCTION, SEALED_TENDER)}

# The formats the HTTP API creates and runs: the reverse auction at ``POST /api/auctions``, the
# sealed tender at ``POST /api/tenders`` (``http.tenders``, with its own command routes).
API_FORMATS: tuple[Format, ...] = (REVERSE_AUCTION, SEALED_TENDER)

# The configuration ``POST /api/auctions`` creates: the reverse auction's alone, never a union of
# the formats' (a tagged union makes msgspec require the ``format`` tag, which configurations
# written before formats leave out). Every format's configuration is decoded alone on its own
# route, so each tag stays optional.
EventConfig = REVERSE_AUCTION.config_type
