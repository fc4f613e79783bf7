"""Company identifiers: real valid numbers pass and are kept compact, a wrong check character is
refused, and the same company typed two ways is one identifier."""

from __future__ import annotations

import pytest
from stdnum.cn import uscc

from bidserver.engine.admission.identifiers import (
    COUNTRIES, EU_MEMBER_STATES, validate_identifier,
)
from bidserver.engine.rejections import Reason, Rejection

from .builders import USCC


def refused(country: str, identifier: str) -> Rejection:
    result = validate_identifier(country, identifier)
    assert isinstance(result, Rejection), result
    assert result.detail
    return result


def test_a_unified_social_credit_code_is_checked_by_its_check_character():
    assert validate_identifier("CN", USCC) == USCC
    assert validate_identifier("CN", f" {USCC[:4]} {USCC[4:10]} {USCC[10:].lower()} ") == USCC
    other = "91310115" + "MA1K4" + "D5X2"  # a Shanghai code, its check character computed
    valid = other + uscc.calc_check_digit(other)
    assert validate_identifier("CN", valid) == valid
    wrong = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    rejection = refused("CN", wrong)
    assert (rejection.reason, rejection.field) == (Reason.INVALID_IDENTIFIER, "registration.identifier")
    assert "统一社会信用代码" in rejection.detail
    assert refused("CN", USCC[:-1]).reason is Reason.INVALID_IDENTIFIER  # 17 characters


@pytest.mark.parametrize(("country", "typed", "kept"), [
    ("DE", "136695976", "DE136695976"),
    ("DE", "de 136 695 976", "DE136695976"),
    ("DE", "DE136695976", "DE136695976"),
    ("FR", "40303265045", "FR40303265045"),
    ("AT", "U13585627", "ATU13585627"),
    ("NL", "004495445B01", "NL004495445B01"),
    ("GR", "094259216", "EL094259216"),  # Greece's VAT prefix is EL
    ("GR", "GR094259216", "EL094259216"),
    ("GR", "EL 094259216", "EL094259216"),
])
def test_an_eu_vat_number_is_kept_with_its_prefix_typed_or_not(country, typed, kept):
    assert validate_identifier(country, typed) == kept


@pytest.mark.parametrize(("country", "typed"), [
    ("DE", "136695977"),  # the check digit is wrong
    ("DE", "FR40303265045"),  # another member state's number
    ("FR", "40303265046"),
    ("GR", "094259217"),
])
def test_an_eu_vat_number_with_a_wrong_check_digit_is_refused(country, typed):
    assert refused(country, typed).reason is Reason.INVALID_IDENTIFIER


def test_a_uk_vat_number_is_kept_with_gb():
    assert validate_identifier("GB", "GB 980 7806 84") == "GB980780684"
    assert validate_identifier("GB", "980780684") == "GB980780684"
    assert refused("GB", "980780685").reason is Reason.INVALID_IDENTIFIER


def test_elsewhere_an_identifier_is_letters_digits_and_hyphens():
    assert validate_identifier("US", "12-3456789") == "12-3456789"
    assert validate_identifier("JP", "7010 0010 0829 8") == "7010001008298"
    assert validate_identifier("CH", "che.123.456.789") == "CHE123456789"
    for bad in ("ab1", "A" * 33, "ACME_LTD", "12#45"):
        assert refused("US", bad).reason is Reason.INVALID_IDENTIFIER


def test_the_country_must_be_an_iso_3166_code():
    assert len(COUNTRIES) == 249 and len(EU_MEMBER_STATES) == 27
    assert EU_MEMBER_STATES <= COUNTRIES and "GB" not in EU_MEMBER_STATES
    for bad in ("ZZ", "EU", "EL", "UK", "cn"):
        rejection = refused(bad, "12345678")
        assert (rejection.reason, rejection.field) == (Reason.INVALID_REGISTRATION,
                                                       "registration.country")
