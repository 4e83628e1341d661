"""Landed migrations stay frozen. sql/migrations/LANDED.sha256 holds the sha256 of every migration file as
it landed (sha256sum's format, in landing order); the suite fails when a recorded file is edited or removed,
and when a migration file is not recorded yet: the failure prints the line to append once it is final.
Migration files are named <module>/<module>_NNNN_<what>.sql, one number per module."""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from rustok.config import SQL_DIR

MIGRATIONS = SQL_DIR / "migrations"
RECORD = "LANDED.sha256"
_LINE = re.compile(r"(?P<digest>[0-9a-f]{64})  (?P<path>[a-z0-9_]+/[a-z0-9_]+\.sql)")
_NAME = re.compile(r"(?P<module>[a-z0-9_]+)/(?P=module)_(?P<number>[0-9]{4})_[a-z0-9_]+(\.rollback)?\.sql")


@dataclass(frozen=True)
class Frozen:
    changed: list[str]  # recorded, and the file's content is no longer what landed
    removed: list[str]  # recorded, and the file is gone
    unrecorded: list[str]  # a migration file with no line yet


def recorded(migrations: Path) -> dict[str, str]:
    """path (from sql/migrations) -> sha256 as recorded; a line that is not a comment must be one entry."""
    entries: dict[str, str] = {}
    for number, line in enumerate((migrations / RECORD).read_text().splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        entry = _LINE.fullmatch(line)
        assert entry, f"{RECORD} line {number} is not `<sha256>  <module>/<file>.sql`: {line!r}"
        assert entry["path"] not in entries, f"{RECORD} records {entry['path']} twice"
        entries[entry["path"]] = entry["digest"]
    return entries


def on_disk(migrations: Path) -> dict[str, str]:
    return {
        path.relative_to(migrations).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(migrations.glob("*/*.sql"))
    }


def check(migrations: Path) -> Frozen:
    landed, present = recorded(migrations), on_disk(migrations)
    return Frozen(
        changed=[p for p, digest in landed.items() if p in present and present[p] != digest],
        removed=[p for p in landed if p not in present],
        unrecorded=[p for p in present if p not in landed],
    )


def test_no_landed_migration_was_edited_or_removed() -> None:
    frozen = check(MIGRATIONS)
    assert not frozen.changed and not frozen.removed, (
        f"landed migrations are frozen; edited: {frozen.changed}, removed: {frozen.removed}. Restore them "
        "(`git checkout main -- sql/migrations/...`) and change the schema with a new migration instead"
    )


def test_every_migration_is_recorded() -> None:
    unrecorded = check(MIGRATIONS).unrecorded
    lines = "\n".join(f"(cd sql/migrations && sha256sum {path} >> {RECORD})" for path in unrecorded)
    assert not unrecorded, f"new migrations: record each once it is final, which freezes it:\n{lines}"


def test_migration_files_are_named_by_module_and_number() -> None:
    seen: dict[tuple[str, str], str] = {}
    for path in on_disk(MIGRATIONS):
        name = _NAME.fullmatch(path)
        assert name, f"{path}: a migration is <module>/<module>_NNNN_<what>.sql"
        if path.endswith(".rollback.sql"):
            continue
        key = (name["module"], name["number"])
        assert key not in seen, f"{path} and {seen[key]} share a number"
        seen[key] = path


def test_the_check_sees_an_edit_a_removal_and_a_new_file(tmp_path: Path) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy)
    assert check(copy) == Frozen([], [], [])
    edited = copy / "core" / "core_0001_platform.sql"
    edited.write_text(edited.read_text() + "\n-- one more line\n")
    (copy / "index" / "index_0013_search_document.sql").unlink()
    (copy / "blog" / "blog_0003_new.sql").write_text("create table t ();\n")
    assert check(copy) == Frozen(
        changed=["core/core_0001_platform.sql"],
        removed=["index/index_0013_search_document.sql"],
        unrecorded=["blog/blog_0003_new.sql"],
    )
