"""The docs say what the code does. Facts that docs/architecture.md lists by name (the SECURITY DEFINER
functions, the owner policies, the tables in schema rustok, the global tables) are compared with the
catalog; the naming rules of docs/conventions.md are checked over the catalog and the tree; and every
repository path that a doc, a docstring or a comment names exists (the imaginary module `tickets` of
docs/adding-a-module.md aside)."""

from __future__ import annotations

import re
from itertools import product
from pathlib import Path

import psycopg
import pytest

from rustok.config import REPO_ROOT, SQL_DIR
from rustok.db import Database

ARCHITECTURE = REPO_ROOT / "docs" / "architecture.md"
CONVENTIONS = REPO_ROOT / "docs" / "conventions.md"
_IMAGINARY_MODULE = "tickets"  # docs/adding-a-module.md's example
_PATH = re.compile(r"(?<![\w/.-])(?:sql|py|tests|docs|scripts|bench|deploy|\.ci)/[\w./{},*<>-]*[\w}*>]")
_PLACEHOLDER = re.compile(r"[*<>]|\{[^,}]*\}")  # `tests/py/test_cli*.py`, `<module>`, f"sql/{name}"
_GENERATED = "node_modules"  # made by `npm install` (bench/postgraphile, tests/codegen): not ours, not scanned
_SCANNED_SUFFIXES = {".py", ".sql", ".md", ".txt", ".toml", ".yaml", ".graphql", ".sha256"}


def paragraph(path: Path, marker: str) -> str:
    """The list item of `path` that contains `marker` (from its `- ` to the next item, heading or blank)."""
    text = path.read_text()
    start = text.index(marker)
    start = text.rindex("\n- ", 0, start) + 1
    end = re.compile(r"\n(- |#|\n)").search(text, start + 2)
    return text[start : end.start() if end else len(text)]


def names(text: str, pattern: str) -> set[str]:
    return {n for n in re.findall(r"`([\w.]+)`", text) if re.fullmatch(pattern, n)}


def catalog(db: Database, query: str) -> set[str]:
    with psycopg.connect(db.admin_url) as conn:
        return {row[0] for row in conn.execute(query)}  # type: ignore[arg-type]


# (the list's marker in docs/architecture.md, what a name in it looks like, the catalog's list)
LISTED_BY_NAME = {
    "**SECURITY DEFINER functions**": (
        r"rustok\.\w+",
        "select n.nspname || '.' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
        "where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')",
    ),
    "**Tables in schema rustok**": (
        r"rustok\.\w+",
        "select 'rustok.' || relname from pg_class where relnamespace = 'rustok'::regnamespace "
        "and relkind in ('r', 'p') and not relispartition",
    ),
    "**Global tables**": (
        r"\w+",
        "select c.relname from pg_class c where c.relnamespace = 'public'::regnamespace "
        "and c.relkind in ('r', 'p') and not c.relispartition and c.relname !~ '^_?yoyo' "
        "and c.oid not in (select rustok._tenant_tables())",
    ),
}


@pytest.mark.parametrize("marker", LISTED_BY_NAME)
def test_what_architecture_lists_by_name_is_what_the_catalog_has(db: Database, marker: str) -> None:
    pattern, query = LISTED_BY_NAME[marker]
    documented = names(paragraph(ARCHITECTURE, marker), pattern)
    found = catalog(db, query)
    assert len(found) >= 4 and documented == found, f"not documented: {found - documented}; gone: {documented - found}"


def test_the_owner_policies_are_the_documented_ones(db: Database) -> None:
    text = paragraph(ARCHITECTURE, "**Owner policies**")
    documented = {
        f"{table} {policy}"
        for tables, policy in re.findall(r"((?:`\w+\.\w+`(?:, )?)+) \(`(\w+)`", text)
        for table in re.findall(r"`(\w+\.\w+)`", tables)
    }
    found = catalog(
        db,
        "select p.schemaname || '.' || p.tablename || ' ' || p.policyname from pg_policies p "
        "join pg_class c on c.relname = p.tablename and c.relnamespace = p.schemaname::regnamespace "
        "where p.roles = '{rustok_owner}' and not c.relispartition",
    )
    assert len(found) >= 8 and documented == found, f"not documented: {found - documented}; gone: {documented - found}"


def test_triggers_and_trigger_functions_are_named_as_the_conventions_say(db: Database) -> None:
    triggers = catalog(
        db,
        "select t.tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid "
        "where not t.tgisinternal and c.relnamespace in ('public'::regnamespace, 'rustok'::regnamespace)",
    )
    assert len(triggers) > 20 and [t for t in triggers if not re.fullmatch(r"_\d{3}_[a-z0-9_]+", t)] == []
    with psycopg.connect(db.admin_url) as conn:
        functions = conn.execute(
            "select proname, prorettype = 'trigger'::regtype from pg_proc where pronamespace = 'rustok'::regnamespace"
        ).fetchall()
    named_tg = {name: re.fullmatch(r"tg(_\w*[a-z0-9])?__[a-z0-9_]+", name) is not None for name, _ in functions}
    assert [name for name, is_trigger in functions if named_tg[name] != is_trigger] == []
    assert sum(named_tg.values()) > 15


def test_sql_files_are_named_as_the_conventions_say() -> None:
    functions = [p.relative_to(SQL_DIR).as_posix() for p in sorted(SQL_DIR.glob("functions/*/*.sql"))]
    triggers = [p.relative_to(SQL_DIR).as_posix() for p in sorted(SQL_DIR.glob("triggers/*/*.sql"))]
    assert len(functions) > 30 and len(triggers) > 10
    assert [f for f in functions if not re.fullmatch(r"functions/\w+/\d{2}_[a-z0-9_]+\.sql", f)] == []
    assert [f for f in triggers if not re.fullmatch(r"triggers/\w+/[a-z][a-z0-9_]*\.sql", f)] == []


def test_the_conventions_page_is_linked() -> None:
    for doc in (REPO_ROOT / "README.md", ARCHITECTURE):
        assert "docs/conventions.md" in doc.read_text(), doc


def scanned_files() -> list[Path]:
    found = [REPO_ROOT / "README.md", *(REPO_ROOT / "scripts").iterdir(), REPO_ROOT / ".ci" / "run"]
    for folder in ("docs", "py", "sql", "tests", "bench", "deploy"):
        found += [
            p
            for p in (REPO_ROOT / folder).rglob("*")
            if p.suffix in _SCANNED_SUFFIXES
            and "static" not in p.parts
            and _GENERATED not in p.parts
            and not any(part.endswith(".egg-info") for part in p.parts)  # pip's, rewritten at install
        ]
    return [p for p in found if p.is_file()]


def expanded(path: str) -> list[str]:
    """`py/rustok/modules/{content,blog}` -> both paths."""
    parts = re.split(r"\{([^}]*)\}", path)
    choices = [[part] if i % 2 == 0 else part.split(",") for i, part in enumerate(parts)]
    return ["".join(chosen) for chosen in product(*choices)]


def exists(path: str) -> bool:
    """The path, or the module of `tests/py/graphql_support.Api` (a Python name after a module path)."""
    candidates = [path]
    if "." in path.rsplit("/", 1)[-1]:
        candidates += [path.rsplit(".", 1)[0] + ".py", path.rsplit(".", 1)[0]]
    return any((REPO_ROOT / c).exists() for c in candidates)


def test_every_repository_path_named_exists() -> None:
    missing = {
        f"{source.relative_to(REPO_ROOT)}: {path}"
        for source in scanned_files()
        for found in _PATH.findall(source.read_text(errors="replace"))
        for path in expanded(found)
        if not _PLACEHOLDER.search(found)
        and _IMAGINARY_MODULE not in path
        and _GENERATED not in path
        and not exists(path)
    }
    assert sorted(missing) == []
