"""Money as text and as exact decimals: the one place amounts leave integer minor units.

Every amount inside bidserver is an ``int`` of the currency's minor units. Whatever shows one to a
person or another system (OCDS releases, the results CSV, the browser) converts it here, so an
amount never reads differently in two exports, and no context precision or float can round it.
"""

from __future__ import annotations

from decimal import Decimal


def money(amount_minor: int, minor_units: int) -> Decimal:
    """Exact: ``money(97050, 2) == Decimal("970.50")``, keeping the currency's digits. Built from
    the digits (no arithmetic), so no context precision can round even a very large amount."""
    sign, digits, _ = Decimal(int(amount_minor)).as_tuple()
    return Decimal((sign, digits, -minor_units))


def money_text(amount_minor: int, minor_units: int) -> str:
    """``"970.50"``: plain decimal notation, never an exponent (``money`` can print ``1E+3``)."""
    return format(money(amount_minor, minor_units), "f")
