"""The formats this server runs, and the tagged union of their configurations.

Adding a format is adding it here: the runtime looks a format up by the ``format`` of a journal
envelope or by the type of a configuration, and the HTTP API decodes ``EventConfig``.
"""

from __future__ import annotations

from .format import Format
from .reverse import FORMAT as REVERSE_AUCTION

FORMATS: dict[str, Format] = {fmt.name: fmt for fmt in (REVERSE_AUCTION,)}

# Tagged by ``format``. While it has one member the tag may be left out (msgspec decodes a lone
# tagged Struct without it), which keeps configurations written before formats valid; the second
# format makes the tag required in new configurations.
EventConfig = REVERSE_AUCTION.config_type
