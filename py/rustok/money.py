"""How an amount of money is shown, the one rule the storefront (Python) and the admin (JavaScript,
admin/static/js/ui.js `formatMoney`) both follow; tests/py/test_money_format.py runs both over one table.

An amount is an integer of the currency's minor units (docs/commerce.md); the digits after the decimal point
come from the API's ISO 4217 table (`minorUnits`), never from locale data: "1,234.50 EUR", "1,200 JPY",
"-0.005 KWD". A currency the table does not know is never guessed: "4900 XYZ (minor units)". No amount, or
no currency: "—". Exact: integers and string arithmetic, no floating point."""

from __future__ import annotations

from collections.abc import Mapping

MISSING = "—"


def format_money(amount: int | None, currency: str | None, minor_units: Mapping[str, int]) -> str:
    """`amount` minor units of `currency` as "1,234.50 EUR", by `minor_units` (code → digits)."""
    if amount is None or not currency:
        return MISSING
    code = currency.upper()
    digits = minor_units.get(code)
    if digits is None:
        return f"{amount} {code} (minor units)"
    minor = int(amount)
    whole, fraction = divmod(abs(minor), 10**digits)
    sign = "-" if minor < 0 else ""
    decimals = f".{fraction:0{digits}d}" if digits else ""
    return f"{sign}{whole:,}{decimals} {code}"
