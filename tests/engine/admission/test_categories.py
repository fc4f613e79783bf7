"""The CPV 2008 list: every code is known with its check digit, nothing else is."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bidserver.engine.admission import categories

from .builders import CONSTRUCTION, STEEL

LIST = Path(categories.__file__).with_name("cpv_en.json")


def test_the_list_is_the_9458_codes_of_cpv_2008():
    codes = json.loads(LIST.read_text())
    assert len(codes) == 9458
    assert all(re.fullmatch(r"\d{8}-\d", code) for code in codes)
    assert all(categories.is_code(code) and categories.name(code) == name
               for code, name in codes.items())


def test_a_code_with_another_check_digit_is_not_a_code():
    assert categories.is_code(CONSTRUCTION) and categories.name(STEEL) == "Steel"
    for wrong in ("45000000-8", "45000000", "4500000-7", " 45000000-7", "99999999-8", ""):
        assert not categories.is_code(wrong)
        assert categories.name(wrong) is None


def test_search_by_code_prefix_or_by_name():
    assert categories.search("4500") == ((CONSTRUCTION, "Construction work"),)
    by_prefix = categories.search("446")
    assert by_prefix and all(code.startswith("446") for code, _ in by_prefix)
    assert [code for code, _ in by_prefix] == sorted(code for code, _ in by_prefix)
    by_name = categories.search("STEEL", limit=5)
    assert len(by_name) == 5 and all("steel" in name.casefold() for _, name in by_name)
    assert (STEEL, "Steel") in categories.search("steel")
    assert categories.search("   ") == () and categories.search("no such thing at all") == ()
    assert len(categories.search("a", limit=10_000)) == categories.SEARCH_LIMIT
