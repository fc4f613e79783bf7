"""The formats this server runs, and the tagged union of the configurations its API creates.

Adding a format is adding it here: the runtime looks a format up by the ``format`` of a journal
envelope or by the type of a configuration, and the HTTP API decodes ``EventConfig``.
"""

from __future__ import annotations

from .format import Format
from .reverse import FORMAT as REVERSE_AUCTION
from .tender import FORMAT as SEALED_TENDER

FORMATS: dict[str, Format] = {fmt.name: fmt for fmt in (REVERSE_AUCTION, SEALED_TENDER)}

# The formats the HTTP API creates and runs today. The sealed tender joins it with its routes
# (its commands are not the reverse auction's, which the API's command routes build): until then
# the runtime runs it (journal, replay, snapshots, timers) but no HTTP request can create one.
API_FORMATS: tuple[Format, ...] = (REVERSE_AUCTION,)

# Tagged by ``format``. While it has one member the tag may be left out (msgspec decodes a lone
# tagged Struct without it), which keeps configurations written before formats valid; the second
# member makes the tag required in new configurations.
EventConfig = REVERSE_AUCTION.config_type
