"""The supplier registry's domain (issue 12): pure, like every format, though it is not one (a
supplier's record is not an event; the runtime's admission service drives it).

- ``values``: the record and its parts, with the sizes msgspec checks on decode
- ``identifiers``: company identifiers by country (python-stdnum); ``categories``: CPV 2008
- ``commands``, ``events``: what is asked, what happened (the event codec)
- ``decide`` (record, command) -> events or a Rejection; ``evolve`` (record, event) -> record
- ``standing``: eligibility at a time (its one home), statuses, index fields, warnings, ratings
"""
