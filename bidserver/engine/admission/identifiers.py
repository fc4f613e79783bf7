"""A supplier's company identifier, checked by its country's rules (python-stdnum) and kept in one
compact form, so that the same company typed two ways ("de 136 695 976", "136695976") is one
identifier: the store keeps identifiers unique, and buyers search by them.

- China: the unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, the
  last a check character.
- EU member states: the VAT identification number, kept with its country prefix (Greece's is
  "EL", as VIES writes it); typed with or without it.
- United Kingdom: the VAT registration number, kept with the "GB" prefix.
- Elsewhere: 4 to 32 letters, digits and hyphens once spaces, dots and slashes are taken out, in
  upper case: no check this module could know.
"""

from __future__ import annotations

import re

from stdnum.cn import uscc
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.gb import vat as gb_vat
from stdnum.util import clean

from ..rejections import Reason, Rejection

# ISO 3166-1 alpha-2: the 249 codes assigned officially (the ISO 3166 Maintenance Agency's list).
COUNTRIES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())

# The EU's 27 member states, by ISO code, with the prefix of their VAT numbers where it differs.
EU_MEMBER_STATES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())
_VAT_PREFIX = {"GR": "EL"}

_OTHER = re.compile(r"^[A-Z0-9-]{4,32}$")
_NAMES = {"CN": "unified social credit code (统一社会信用代码)", "GB": "UK VAT number"}
IDENTIFIER_FIELD = "registration.identifier"
COUNTRY_FIELD = "registration.country"


def validate_identifier(country: str, identifier: str) -> str | Rejection:
    """The identifier's compact form, or why it is refused (its country is not an ISO 3166-1
    code, or it is not a valid identifier there: wrong length, characters or check character)."""
    if country not in COUNTRIES:
        return Rejection(reason=Reason.INVALID_REGISTRATION, field=COUNTRY_FIELD,
                         detail=f"{country!r} is not an ISO 3166-1 alpha-2 country code")
    try:
        if country == "CN":
            return uscc.validate(identifier)
        if country in EU_MEMBER_STATES:
            return _eu_vat(country, identifier)
        if country == "GB":
            return "GB" + gb_vat.validate(identifier)
    except ValidationError as error:
        return _refused(f"not a valid {_NAMES.get(country, 'VAT number')}: {error}")
    compact = clean(identifier, " ./").upper().strip()
    if not _OTHER.match(compact):
        return _refused("4 to 32 letters, digits and hyphens")
    return compact


def _eu_vat(country: str, identifier: str) -> str:
    """Prefixed when typed without it, then checked by the member state's rules; the prefix kept
    is the state's VAT prefix (``EL`` for Greece, even when typed ``GR``)."""
    prefix = _VAT_PREFIX.get(country, country)
    number = clean(identifier, " -./").upper().strip()
    if not number.startswith((prefix, country)):
        number = prefix + number
    return prefix + eu_vat.validate(number)[2:]


def _refused(detail: str) -> Rejection:
    return Rejection(reason=Reason.INVALID_IDENTIFIER, detail=detail, field=IDENTIFIER_FIELD)
