"""One rule shows money in the storefront (rustok/money.py, Python) and the admin (ui.js formatMoney, run under
Node): the same table of cases goes through both, and both must give the expected text — digits from the API's
ISO 4217 minor units, never the locale's; an unknown currency never guessed; exact beyond 2**53."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from rustok.admin import STATIC_DIR
from rustok.money import format_money

MINOR_UNITS = {"EUR": 2, "JPY": 0, "KWD": 3, "COP": 2}
CASES: list[tuple[int | None, str | None, str]] = [
    (4900, "EUR", "49.00 EUR"),
    (123450, "EUR", "1,234.50 EUR"),
    (5, "EUR", "0.05 EUR"),
    (0, "EUR", "0.00 EUR"),
    (-1999, "EUR", "-19.99 EUR"),
    (1200, "JPY", "1,200 JPY"),
    (1234567, "JPY", "1,234,567 JPY"),
    (5, "KWD", "0.005 KWD"),
    (-5, "KWD", "-0.005 KWD"),
    (1234567, "KWD", "1,234.567 KWD"),
    (150000, "COP", "1,500.00 COP"),  # CLDR says 0 digits for COP; ISO 4217 and the API say 2
    (4990, "eur", "49.90 EUR"),
    (9007199254740993, "EUR", "90,071,992,547,409.93 EUR"),  # 2**53 + 1: no floating point
    (4900, "XYZ", "4900 XYZ (minor units)"),  # unknown to the table: shown as it is, never guessed
    (None, "EUR", "—"),
    (4900, None, "—"),
    (4900, "", "—"),
]

SCRIPT = """
import {setCurrencies, formatMoney} from './ui.js';
const [units, cases] = JSON.parse(process.argv[1]);
setCurrencies(Object.entries(units).map(([code, minorUnits]) => ({code, minorUnits})));
console.log(JSON.stringify(cases.map(([amount, code]) => formatMoney(amount, code))));
"""


def test_the_storefront_formats_every_case() -> None:
    assert [format_money(amount, code, MINOR_UNITS) for amount, code, _ in CASES] == [c[2] for c in CASES]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_admin_formats_every_case_the_same() -> None:
    node = shutil.which("node")
    assert node is not None
    # amounts beyond 2**53 travel as strings (a JSON number would lose them before formatMoney sees them)
    cases = [[str(a) if a is not None and abs(a) > 2**53 else a, code] for a, code, _ in CASES]
    done = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, json.dumps([MINOR_UNITS, cases])],
        cwd=STATIC_DIR / "js",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(done.stdout) == [c[2] for c in CASES]
