"""The UI's words: both languages have every key, every key the code asks for exists, and every
reason the server can send (the engine's refusals, the edge's failures) has words in both. No
browser needed: these read the catalogues and the code."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import pytest

from bidserver.engine.admission.events import Event as RegistryEvent
from bidserver.engine.admission.standing import StandingReason, Status
from bidserver.engine.admission.values import DocumentKind, RestrictionKind
from bidserver.engine.rejections import Reason
from bidserver.engine.reverse.state import LotPhase, Phase
from bidserver.engine.reverse.values import (
    AwardMode, BidRule, LotCloseMode, SoftCloseTrigger, TieRule, Visibility,
)
from bidserver.failures import Failure

WEB = Path(__file__).resolve().parents[2] / "web" / "static"
LANGUAGES = ("en", "zh")
PLURAL = re.compile(r"_(?:zero|one|two|few|many|other)$")


def flat(tree: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


@pytest.fixture(scope="module")
def catalogues() -> dict[str, dict[str, str]]:
    return {lang: flat(json.loads((WEB / "locales" / f"{lang}.json").read_text())) for lang in LANGUAGES}


def keys(catalogue: dict[str, str]) -> set[str]:
    """Keys as the code asks for them: plural forms (`_one`, `_other`) are one key."""
    return {PLURAL.sub("", key) for key in catalogue}


def test_both_languages_have_the_same_keys_and_no_empty_words(catalogues):
    assert keys(catalogues["en"]) == keys(catalogues["zh"])
    for lang, catalogue in catalogues.items():
        assert all(isinstance(v, str) and v.strip() for v in catalogue.values()), lang
        for key, words in catalogue.items():  # the same placeholders in both languages
            other = catalogues["zh" if lang == "en" else "en"]
            twin = other.get(key) or other.get(PLURAL.sub("_other", key)) or other.get(PLURAL.sub("", key))
            assert twin is not None, key
            assert set(re.findall(r"{{(\w+)}}", words)) <= set(re.findall(r"{{(\w+)}}", twin)) | {"count"}, key


def test_every_key_the_code_asks_for_is_in_the_catalogues(catalogues):
    code = "\n".join(p.read_text() for p in (WEB / "js").rglob("*.js"))
    asked = set(re.findall(r"""\bt\(\s*"([a-z_][a-z0-9_.]*)\"""", code))
    assert asked, "no t(...) calls found: did the i18n function change its name?"
    missing = asked - keys(catalogues["en"])
    assert not missing, f"asked for but not in the catalogues: {sorted(missing)}"


@pytest.mark.parametrize(("prefix", "values"), [
    ("reasons", [*Reason, *Failure]),
    ("phases", list(Phase)),
    ("lot_phases", list(LotPhase)),
    ("rules.bid_rule", list(BidRule)),
    ("rules.tie_rule", list(TieRule)),
    ("rules.visibility", list(Visibility)),
    ("rules.lot_close", list(LotCloseMode)),
    ("rules.soft_trigger", list(SoftCloseTrigger)),
    ("rules.award_mode", list(AwardMode)),
    ("registry.status", list(Status)),
    ("registry.standing", list(StandingReason)),
    ("registry.doc_kinds", list(DocumentKind)),
    *((f"registry.{words}", list(RestrictionKind))
      for words in ("kind", "kind_hint", "impose", "restricted_done", "you_are", "is")),
    ("registry.events", [e.__struct_config__.tag for e in typing.get_args(RegistryEvent)]),
])
def test_every_value_the_server_sends_has_words(catalogues, prefix, values):
    """Keys built from the server's values (`t(`reasons.${reason}`)`) come from its enums: a new
    reason or phase without words fails here, not in front of a supplier."""
    for lang, catalogue in catalogues.items():
        missing = [str(v) for v in values if f"{prefix}.{v}" not in keys(catalogue)]
        assert not missing, f"{lang}: no words for {prefix}.{missing}"
