"""Prices typed in the admin become amounts with the API's minor units (ISO 4217, query `currencies`), never
the browser's locale data: a COP price is not stored 100x too small, and more decimals than the currency has
are refused rather than rounded. The JS runs under Node (skipped where Node is missing)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from rustok.admin import STATIC_DIR
from rustok.db import Database
from tests.py.graphql_support import Api, Tenant, make_tenant


@pytest.fixture(scope="module")
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "money")


@pytest.fixture(scope="module")
def api(db: Database) -> Iterator[Api]:
    with Api(db) as api:
        yield api


def test_currencies_query_gives_iso_minor_units(api: Api, tenant: Tenant) -> None:
    body = api.gql("{ currencies { code name minorUnits } }", tenant=tenant, role="manager")
    digits = {c["code"]: c["minorUnits"] for c in body["data"]["currencies"]}
    assert (digits["COP"], digits["AFN"], digits["ALL"], digits["JPY"], digits["KWD"]) == (2, 2, 2, 0, 3)
    assert list(digits) == sorted(digits)


SCRIPT = """
import {setCurrencies, toMinorUnits, fromMinorUnits} from './ui.js';
setCurrencies(JSON.parse(process.argv[1]));
const typed = [['1500', 'COP'], ['1500.5', 'COP'], ['1.505', 'COP'], ['12', 'JPY'], ['12.5', 'JPY'],
               ['1.234', 'KWD'], ['0.29', 'EUR'], ['19,90', 'EUR'], ['1', 'XXX'], ['-1', 'EUR'], ['1e3', 'EUR']];
console.log(JSON.stringify({
  amounts: typed.map(([text, code]) => toMinorUnits(text, code)),
  shown: [fromMinorUnits(150000, 'COP'), fromMinorUnits(5, 'KWD'), fromMinorUnits(1200, 'JPY')],
}));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_typed_prices_use_the_apis_minor_units_and_refuse_extra_decimals(api: Api, tenant: Tenant) -> None:
    currencies = api.gql("{ currencies { code minorUnits } }", tenant=tenant, role="manager")["data"]["currencies"]
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, json.dumps(currencies)],
        cwd=STATIC_DIR / "js",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["amounts"] == [150000, 150050, None, 12, None, 1234, 29, 1990, None, None, None]
    assert result["shown"] == ["1500.00", "0.005", "1200"]
