"""Procurement categories: the Common Procurement Vocabulary (CPV 2008), the EU's classification
every notice names its subject by, and which Chinese buyers can map their catalogues to.

A code is eight digits, a hyphen and a check digit ("45000000-7"); the check digit is part of the
code as the list gives it, so a code is known only when it is in the list exactly (``is_code``),
and a mistyped check digit is an unknown code rather than a near match. The list (9,458 codes with
their English names, ``cpv_en.json``; its source in ``SOURCES.md``) is read from this package once,
the first time it is asked for: no other I/O.
"""

from __future__ import annotations

import functools
import importlib.resources
import itertools

import msgspec

SEARCH_LIMIT = 50


@functools.cache
def _codes() -> dict[str, str]:
    data = importlib.resources.files(__package__).joinpath("cpv_en.json").read_bytes()
    return msgspec.json.decode(data, type=dict[str, str])


@functools.cache
def _folded() -> tuple[tuple[str, str, str], ...]:
    """(code, name, casefolded name), in code order: what ``search`` scans."""
    return tuple((code, name, name.casefold()) for code, name in sorted(_codes().items()))


def is_code(code: str) -> bool:
    return code in _codes()


def name(code: str) -> str | None:
    """The English name of a CPV code; None if it is not one."""
    return _codes().get(code)


def search(query: str, limit: int = SEARCH_LIMIT) -> tuple[tuple[str, str], ...]:
    """(code, name) pairs for a picker, in code order, at most ``limit`` (and ``SEARCH_LIMIT``):
    the codes starting with ``query`` when it is digits (and a hyphen), otherwise those whose
    name contains it, case folded. A scan of the list, so its cost is bounded whatever the query."""
    query = query.strip()
    if not query:
        return ()
    if query.replace("-", "").isdigit():
        hits = ((code, text) for code, text, _ in _folded() if code.startswith(query))
    else:
        folded = query.casefold()
        hits = ((code, text) for code, text, low in _folded() if folded in low)
    return tuple(itertools.islice(hits, max(0, min(limit, SEARCH_LIMIT))))
