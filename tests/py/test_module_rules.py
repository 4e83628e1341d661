"""Rules of every module's SQL, today's and the next one's, checked against the migrated catalog.

- The module switch: every public function (no leading `_`, not a trigger function) of an installed module —
  the `modules` table lists them; a function's module is the folder of the file that defines it,
  sql/functions/<module>/ — begins with `perform rustok.require_module('<module>')`, so a module disabled for a
  tenant is refused in psql as in GraphQL. A function deliberately outside it (an operator's or the worker's,
  which must run whatever the tenant enabled) says so in its docstring: "Outside the module switch: <why>".
- Every function in schema rustok comes from a function or trigger file (so the rule above sees them all).
- No two function files of one module share a number: the migrate applies them in name order, and a shared
  number leaves the order to the rest of the name.

tests/sql/test_function_catalog.sql holds the rules that need no file (docstrings, one refusal shape, one
pageInfo rule)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rustok.config import SQL_DIR
from rustok.db import Database

DEFINITION = re.compile(r"create\s+or\s+replace\s+function\s+rustok\.([a-z_0-9]+)\s*\(", re.IGNORECASE)
EXEMPT = "Outside the module switch:"


def _code(source: str) -> str:
    """A function's source without its comments."""
    return re.sub(r"--[^\n]*", " ", re.sub(r"/\*.*?\*/", " ", source, flags=re.DOTALL))


def begins_with_module_switch(source: str, module: str) -> bool:
    """Whether a PL/pgSQL body's first statement (after its declarations) is the module's require_module."""
    first = re.compile(
        rf"^\s*(declare\b.*?)?\bbegin\s+perform\s+rustok\.require_module\s*\(\s*'{re.escape(module)}'\s*\)\s*;",
        re.IGNORECASE | re.DOTALL,
    )
    return first.match(_code(source)) is not None


def obeys_module_switch(source: str, module: str) -> bool:
    """Begins with the switch, or its docstring says why it stands outside (the words may wrap)."""
    docstring = re.match(r"\s*/\*(.*?)\*/", source, re.DOTALL)
    return begins_with_module_switch(source, module) or (
        docstring is not None and EXEMPT in " ".join(docstring.group(1).split())
    )


def defined_in(folder: Path) -> set[str]:
    """Names of the functions the .sql files of a folder define."""
    return {name for f in folder.glob("*.sql") for name in DEFINITION.findall(f.read_text())}


def shared_numbers(folder: Path) -> dict[str, list[str]]:
    """The numbers that more than one file of the folder carries (NN_topic.sql), with those files."""
    numbers = Counter(f.name.split("_", 1)[0] for f in folder.glob("*.sql"))
    return {n: sorted(f.name for f in folder.glob(f"{n}_*.sql")) for n, count in numbers.items() if count > 1}


@pytest.fixture(scope="module")
def catalog(db: Database) -> Iterator[tuple[list[str], dict[str, list[str]]]]:
    """The installed modules (the `modules` table) and every rustok function's sources by name."""
    with psycopg.connect(db.admin_url) as conn:
        modules = [r[0] for r in conn.execute("select slug::text from public.modules order by slug")]
        sources: dict[str, list[str]] = {}
        for name, source in conn.execute(
            "select p.proname::text, p.prosrc from pg_proc p where p.pronamespace = 'rustok'::regnamespace"
        ):
            sources.setdefault(name, []).append(source)
    yield modules, sources


def test_the_detectors_catch_what_they_are_for() -> None:
    good = "\n/* Creates a ticket. */\ndeclare\n    t uuid;\nbegin\n    perform rustok.require_module('tickets');\n"
    assert begins_with_module_switch(good, "tickets")
    assert not begins_with_module_switch(good, "blog"), "another module's switch is not this one's"
    late = (
        "\n/* x */\nbegin\n    perform rustok.require_permission('tickets.manage');\n"
        "    perform rustok.require_module('tickets');"
    )
    assert not begins_with_module_switch(late, "tickets"), "the switch must come first"
    commented = "\n/* perform rustok.require_module('tickets'); */\nbegin\n    return 1;"
    assert not begins_with_module_switch(commented, "tickets"), "a docstring naming the call is not the call"
    assert not begins_with_module_switch("\n    /* x */\n    select 1", "tickets"), "SQL functions need the marker"
    assert obeys_module_switch(f"\n    /* Worker upkeep. {EXEMPT} runs for every tenant. */\n    select 1", "tickets")


def test_every_public_function_of_a_module_begins_with_its_module_switch(
    catalog: tuple[list[str], dict[str, list[str]]],
) -> None:
    modules, sources = catalog
    assert {"content", "blog", "commerce", "index"} <= set(modules), modules
    checked, broken = 0, []
    for module in modules:
        for name in sorted(defined_in(SQL_DIR / "functions" / module)):
            if name.startswith(("_", "tg_")):
                continue
            for source in sources[name]:
                checked += 1
                if not obeys_module_switch(source, module):
                    broken.append(f"rustok.{name} ({module})")
    assert broken == [], f"begin with perform rustok.require_module('<module>'), or say '{EXEMPT} <why>'"
    assert checked > 60, checked  # the rule was applied to the modules' functions, not to nothing


def test_every_catalog_function_comes_from_a_file(catalog: tuple[list[str], dict[str, list[str]]]) -> None:
    _, sources = catalog
    files = {
        name
        for kind in ("functions", "triggers")
        for folder in (SQL_DIR / kind).iterdir()
        for name in defined_in(folder)
    }
    assert sorted(set(sources) - files) == []


def test_no_two_function_files_of_a_module_share_a_number(tmp_path: Path) -> None:
    clash = tmp_path / "tickets"
    clash.mkdir()
    for name in ("10_tickets.sql", "10_queues.sql", "20_replies.sql"):
        (clash / name).write_text("")
    assert shared_numbers(clash) == {"10": ["10_queues.sql", "10_tickets.sql"]}, "the detector sees a clash"
    folders = sorted((SQL_DIR / "functions").iterdir())
    assert {f.name for f in folders} >= {"core", "content", "blog", "commerce", "index"}
    assert {f.name: shared_numbers(f) for f in folders if shared_numbers(f)} == {}
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.sql", f.name) for d in folders for f in d.glob("*.sql"))
