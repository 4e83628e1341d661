"""Moving one tenant between databases: `export_tenant` writes every row of the tenant's tables (found by
`catalog.tenant_tables`) into one self-describing file; `import_tenant` loads such a file into another
database in one transaction. docs/portability.md gives the decisions; in short:

- The file is a gzip'd tar: `manifest.json` first (format version, tenant, the exporting database's applied
  migrations, and per table its columns, primary key, row count and sha256), then one member per table with
  the rows in COPY text format, ordered by primary key, tables in foreign-key order.
- Export reads in one REPEATABLE READ, read-only transaction: one snapshot across all tables.
- Import refuses a file whose migrations or columns differ from the target's, and a tenant whose id or slug
  exists (CONFLICT). It loads with `session_replication_role = replica` (superuser): no user trigger fires,
  so counters, revisions, search vectors, index rows and events are not computed twice — they arrive as they
  were — and no NOTIFY is sent. Foreign keys are not enforced in that mode either, so every foreign key of
  every loaded table is checked for the tenant's rows before commit, and every table's tenant row count must
  equal what the file holds (a file cannot write into another tenant).
- Counters of the exporting database are not carried: xid8 columns (event_outbox.txid) become 0 — commit 0
  in event_commits, before every live commit, so no durable consumer or relay of the target delivers the
  tenant's history again — and identity columns or columns that default to a sequence (event_outbox.position,
  index_queue.seq) take the target's next values, in the source's order, so they never collide.
- Then `rustok._after_tenant_import__*(tenant uuid)` functions, if a module defines any, run with triggers on.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

from rustok import errors
from rustok.db import connect
from rustok.ids import to_ulid
from rustok.portability.catalog import Table, tenant_tables
from rustok.progress import Report, silent

FORMAT = "rustok-tenant-export"
VERSION = 1
MANIFEST = "manifest.json"
_CHUNK = 1 << 20


@dataclass
class TransferReport:
    tenant_id: uuid.UUID
    slug: str
    tables: list[tuple[str, int]] = field(default_factory=list)  # (table, rows) in file order
    size: int = 0  # bytes of the file
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(rows for _, rows in self.tables)


# -- export --------------------------------------------------------------------------------------------


def export_tenant(admin_url: str, slug: str, path: Path, progress: Report = silent) -> TransferReport:
    """Writes tenant `slug` of the database at `admin_url` (owner or superuser) to `path` (replaced
    atomically), reporting tables done. Raises NOT_FOUND for an unknown slug."""
    started = time.monotonic()
    if path.is_dir() or not path.parent.is_dir():
        raise _invalid(path, "not a file in an existing directory")
    with connect(admin_url, autocommit=True) as conn:  # transaction() below: BEGIN with these settings
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction(), tempfile.TemporaryDirectory(prefix="rustok-export-") as tmp:
            tenant = conn.execute("select id, slug, name from public.tenants where slug = %s", (slug,)).fetchone()
            if tenant is None:
                raise errors.NotFound(f"no tenant with slug {slug!r} (see `rustok tenant list`)", {"tenant": slug})
            tenant_id: uuid.UUID = tenant["id"]
            conn.execute("select rustok.set_context(%s)", (tenant_id,))  # what an owner's forced RLS needs
            tables = tenant_tables(conn)
            report = TransferReport(tenant_id, slug)
            progress(0, len(tables))
            entries = []
            for number, table in enumerate(tables, 1):
                member = f"data/{number:03d}_{table.name}.copy"
                rows, digest, size = _export_table(conn, table, tenant_id, Path(tmp) / member.replace("/", "_"))
                entries.append(
                    {
                        "name": table.name,
                        "member": member,
                        "columns": [list(c) for c in table.columns],
                        "key": list(table.key),
                        "rows": rows,
                        "bytes": size,
                        "sha256": digest,
                    }
                )
                report.tables.append((table.name, rows))
                progress(number, len(tables), _table_note(table.name, rows))
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "exported_at": datetime.now(UTC).isoformat(),
                "server_version": conn.info.server_version,
                "tenant": {"id": str(tenant_id), "slug": tenant["slug"], "name": tenant["name"]},
                "migrations": applied_migrations(conn),
                "tables": entries,
            }
            report.size = _write_archive(path, manifest, Path(tmp))
    report.seconds = time.monotonic() - started
    return report


def _export_table(
    conn: psycopg.Connection[Any], table: Table, tenant_id: uuid.UUID, target: Path
) -> tuple[int, str, int]:
    query = sql.SQL(
        "copy (select {columns} from public.{table} where {tenant} = {id} order by {key}) to stdout"
    ).format(
        columns=sql.SQL(", ").join(map(sql.Identifier, table.column_names)),
        table=sql.Identifier(table.name),
        tenant=sql.Identifier(table.tenant_column),
        id=sql.Literal(tenant_id),
        key=sql.SQL(", ").join(map(sql.Identifier, table.key)),
    )
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out, conn.cursor() as cur:
        with cur.copy(query) as copy:
            for chunk in copy:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        rows = cur.rowcount
    return rows, digest.hexdigest(), size


def _write_archive(path: Path, manifest: dict[str, Any], spool: Path) -> int:
    partial = path.with_name(path.name + ".partial")
    try:
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            encoded = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(encoded), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(encoded))
            for entry in manifest["tables"]:
                tar.add(spool / entry["member"].replace("/", "_"), arcname=entry["member"], recursive=False)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path.stat().st_size


# -- import --------------------------------------------------------------------------------------------


def import_tenant(admin_url: str, path: Path, progress: Report = silent) -> TransferReport:
    """Loads a file written by `export_tenant` into the database at `admin_url` (a superuser), all or
    nothing, reporting its steps (load each table, check each table's foreign keys, commit). Raises
    VALIDATION_FAILED for a file that is not an export, is damaged or does not fit this database's schema,
    CONFLICT when the tenant's id or slug exists here, FORBIDDEN without a superuser."""
    started = time.monotonic()
    try:
        tar = tarfile.open(path, "r|gz")  # noqa: SIM115 (closed by the with below)
    except (OSError, tarfile.TarError) as exc:
        raise _invalid(path, f"cannot read it as a tenant export ({exc})") from exc
    with tar, connect(admin_url, autocommit=True) as conn:
        manifest = _read_manifest(tar, path)
        tenant_id = uuid.UUID(manifest["tenant"]["id"])
        slug = manifest["tenant"]["slug"]
        report = TransferReport(tenant_id, slug)
        _require_superuser(conn)
        with conn.transaction():
            tables = _check_schema(conn, manifest, path)
            _check_conflict(conn, tenant_id, slug)
            entries = manifest["tables"]
            steps = len(entries) + len(tables) + 1
            progress(0, steps)
            conn.execute("set local session_replication_role = replica")  # no user trigger, no FK trigger
            for number, entry in enumerate(entries, 1):
                stream = _next_member(tar, entry["member"], path)
                table = tables[entry["name"]]
                rows, digest = _import_table(conn, table, stream)
                if rows != entry["rows"] or digest != entry["sha256"]:
                    raise _invalid(path, f"table {table.name} is damaged (rows or checksum differ from the manifest)")
                _check_owned(conn, table, tenant_id, rows, path)
                report.tables.append((table.name, rows))
                progress(number, steps, _table_note(table.name, rows))
            if tar.next() is not None:
                raise _invalid(path, "it holds more than its manifest lists")
            for number, table in enumerate(tables.values(), len(entries) + 1):
                _check_foreign_keys(conn, table, tenant_id)
                progress(number, steps, f"foreign keys of {table.name} checked")
            conn.execute("set local session_replication_role = origin")
            for hook in _after_import_hooks(conn, tenant_id):
                progress(steps - 1, steps, f"after import: rustok.{hook}")
        progress(steps, steps, "committed")
    report.size = path.stat().st_size
    report.seconds = time.monotonic() - started
    return report


def _read_manifest(tar: tarfile.TarFile, path: Path) -> dict[str, Any]:
    stream = _next_member(tar, MANIFEST, path)
    try:
        manifest = json.load(stream)
        if manifest.get("format") != FORMAT:
            raise ValueError("not a tenant export")
        if manifest.get("version") != VERSION:
            raise _invalid(path, f"format version {manifest.get('version')} (this rustok reads {VERSION})")
        uuid.UUID(manifest["tenant"]["id"])
        for entry in manifest["tables"]:
            missing = {"name", "member", "columns", "rows", "sha256"} - entry.keys()
            if missing:
                raise KeyError(", ".join(sorted(missing)))
        if not isinstance(manifest["migrations"], list):
            raise TypeError("migrations is not a list")
    except errors.RusToKError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _invalid(path, f"its manifest is not a tenant export's ({exc})") from exc
    return manifest  # type: ignore[no-any-return]


def _next_member(tar: tarfile.TarFile, name: str, path: Path) -> IO[bytes]:
    try:
        member = tar.next()
        stream = tar.extractfile(member) if member is not None and member.name == name else None
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise _invalid(path, f"it is damaged ({exc})") from exc
    if stream is None:
        raise _invalid(path, f"expected {name}, found {member.name if member else 'the end'}")
    return stream


def _require_superuser(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
    if not (row and row["rolsuper"]):
        raise errors.Forbidden(
            "tenant import needs a superuser connection (it loads with session_replication_role = replica)"
        )


def _check_schema(conn: psycopg.Connection[Any], manifest: dict[str, Any], path: Path) -> dict[str, Table]:
    """The target's tenant tables by name, when they are exactly the file's; else VALIDATION_FAILED."""
    ours, theirs = set(applied_migrations(conn)), set(manifest["migrations"])
    if ours != theirs:
        raise _invalid(
            path,
            "it was exported from a database with other migrations "
            f"(only in the file: {', '.join(sorted(theirs - ours)) or '-'}; "
            f"only here: {', '.join(sorted(ours - theirs)) or '-'}); migrate both to the same version",
        )
    tables = {t.name: t for t in tenant_tables(conn)}
    listed = [entry["name"] for entry in manifest["tables"]]
    if set(listed) != tables.keys() or len(listed) != len(tables):
        raise _invalid(
            path,
            f"its tenant tables differ from this database's (only in the file: "
            f"{', '.join(sorted(set(listed) - tables.keys())) or '-'}; "
            f"only here: {', '.join(sorted(tables.keys() - set(listed))) or '-'})",
        )
    for entry in manifest["tables"]:
        file_columns = [tuple(c) for c in entry["columns"]]
        here = list(tables[entry["name"]].columns)
        if sorted(file_columns) != sorted(here):
            differ = sorted(set(file_columns) ^ set(here))
            raise _invalid(
                path,
                f"table {entry['name']} has other columns here (differing: {', '.join(f'{n} {t}' for n, t in differ)})",
            )
    return tables


def _check_conflict(conn: psycopg.Connection[Any], tenant_id: uuid.UUID, slug: str) -> None:
    row = conn.execute(
        "select id, slug from public.tenants where id = %s or slug = %s order by id = %s desc limit 1",
        (tenant_id, slug, tenant_id),
    ).fetchone()
    if row is not None:
        same = "id" if row["id"] == tenant_id else "slug"
        raise errors.Conflict(
            f"tenant {slug} ({to_ulid(tenant_id)}) cannot be imported: a tenant with its {same} exists here",
            {"field": same, "tenant": slug},
        )


def _import_table(conn: psycopg.Connection[Any], table: Table, stream: IO[bytes]) -> tuple[int, str]:
    columns = sql.SQL(", ").join(map(sql.Identifier, table.column_names))
    target = sql.Identifier("_rustok_import") if table.renumbered else sql.SQL("public.") + sql.Identifier(table.name)
    if table.renumbered:
        conn.execute(
            sql.SQL("create temp table _rustok_import (like public.{}) on commit drop").format(
                sql.Identifier(table.name)
            )
        )
    digest = hashlib.sha256()
    with conn.cursor() as cur:
        with cur.copy(sql.SQL("copy {} ({}) from stdin").format(target, columns)) as copy:
            while chunk := stream.read(_CHUNK):
                copy.write(chunk)
                digest.update(chunk)
        rows = cur.rowcount
    if table.renumbered:
        _renumber_into(conn, table)
    return rows, digest.hexdigest()


def _renumber_into(conn: psycopg.Connection[Any], table: Table) -> None:
    """Staged rows into the table: xid8 columns set to 0, sequence columns left to their default (the
    target's sequence), drawn in the source's order of those columns."""
    kept = [c for c in table.column_names if c not in table.sequenced]
    values = [sql.SQL("'0'::xid8") if c in table.transaction_ids else sql.SQL("s.") + sql.Identifier(c) for c in kept]
    order = [*table.transaction_ids, *table.sequenced, *table.key]
    conn.execute(
        sql.SQL("insert into public.{table} ({columns}) select {values} from _rustok_import s order by {order}").format(
            table=sql.Identifier(table.name),
            columns=sql.SQL(", ").join(map(sql.Identifier, kept)),
            values=sql.SQL(", ").join(values),
            order=sql.SQL(", ").join(sql.SQL("s.") + sql.Identifier(c) for c in order),
        )
    )
    conn.execute("drop table _rustok_import")


def _check_owned(conn: psycopg.Connection[Any], table: Table, tenant_id: uuid.UUID, rows: int, path: Path) -> None:
    """The tenant had no rows here before, so every loaded row is the tenant's exactly when the tenant's
    count equals the loaded count: a file cannot write into another tenant."""
    row = conn.execute(
        sql.SQL("select count(*) as n from public.{} where {} = %s").format(
            sql.Identifier(table.name), sql.Identifier(table.tenant_column)
        ),
        (tenant_id,),
    ).fetchone()
    if row is None or row["n"] != rows:
        raise _invalid(path, f"table {table.name} holds rows of another tenant")


def _check_foreign_keys(conn: psycopg.Connection[Any], table: Table, tenant_id: uuid.UUID) -> None:
    """What session_replication_role = replica did not enforce: each foreign key of the tenant's rows."""
    for fk in table.foreign_keys:
        child = [sql.SQL("c.") + sql.Identifier(c) for c in fk.columns]
        parent = [sql.SQL("p.") + sql.Identifier(c) for c in fk.target_columns]
        query = sql.SQL(
            "select count(*) as n from public.{table} c where c.{tenant} = %s and {present}"
            " and not exists (select 1 from public.{target} p where {match})"
        ).format(
            table=sql.Identifier(table.name),
            tenant=sql.Identifier(table.tenant_column),
            present=sql.SQL(" and ").join(sql.SQL("{} is not null").format(c) for c in child),
            target=sql.Identifier(fk.target),
            match=sql.SQL(" and ").join(sql.SQL("{} = {}").format(p, c) for p, c in zip(parent, child, strict=True)),
        )
        row = conn.execute(query, (tenant_id,)).fetchone()
        if row and row["n"]:
            raise errors.ValidationFailed(
                f"the import breaks foreign key {fk.name}: {row['n']} row(s) of {table.name} refer to missing "
                f"{fk.target} rows",
                {"table": table.name, "constraint": fk.name},
            )


def _after_import_hooks(conn: psycopg.Connection[Any], tenant_id: uuid.UUID) -> Iterator[str]:
    """`rustok._after_tenant_import__<what>(tenant uuid)`: a module's way to rebuild derived state that does
    not live in tenant tables. Run with triggers on and the tenant's context set; yields each one's name
    before running it."""
    hooks = conn.execute(
        "select p.proname from pg_proc p where p.pronamespace = 'rustok'::regnamespace"
        " and p.proname like '\\_after\\_tenant\\_import\\_\\_%' and p.pronargs = 1"
        " and p.proargtypes[0] = 'uuid'::regtype order by p.proname"
    ).fetchall()
    if not hooks:
        return
    conn.execute("select rustok.set_context(%s)", (tenant_id,))
    for hook in hooks:
        yield hook["proname"]
        conn.execute(sql.SQL("select {}(%s)").format(sql.Identifier("rustok", hook["proname"])), (tenant_id,))


# -- shared --------------------------------------------------------------------------------------------


def applied_migrations(conn: psycopg.Connection[Any]) -> list[str]:
    """The schema version: ids of the applied yoyo migrations, sorted."""
    rows = conn.execute("select migration_id from public._yoyo_migration order by migration_id").fetchall()
    return [r["migration_id"] for r in rows]


def _invalid(path: Path, reason: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(f"{path}: {reason}", {"file": str(path)})


def _table_note(name: str, rows: int) -> str:
    return f"{name} ({rows:,} row{'' if rows == 1 else 's'})"


def size_text(n: int) -> str:
    """Bytes for a person: 512 B, 1.5 kB, 12.0 MB."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("kB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"
