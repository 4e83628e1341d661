"""What a tenant is made of, read from the catalog: every table in schema public with a `tenant_id` column
(parents of partitioned tables, never partitions) plus `tenants` itself, their columns, primary keys and
foreign keys, in an order that satisfies the foreign keys. Nothing here names a module's table, so a new
module's tables are carried without code changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row

TENANTS = "tenants"


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    target: str  # a table in public
    target_columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str  # in schema public
    columns: tuple[tuple[str, str], ...]  # (name, type) of every stored column, in attnum order
    key: tuple[str, ...]  # the primary key: the export's row order
    sequenced: tuple[str, ...] = ()  # identity columns and those defaulting to nextval(): database-wide counters
    transaction_ids: tuple[str, ...] = ()  # xid8 columns: transaction ids of the exporting cluster
    foreign_keys: tuple[ForeignKey, ...] = field(default=())

    @property
    def tenant_column(self) -> str:
        return "id" if self.name == TENANTS else "tenant_id"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def renumbered(self) -> bool:
        """Rows that carry the exporting cluster's counters; the import gives them the target's."""
        return bool(self.sequenced or self.transaction_ids)

    def depends_on(self) -> set[str]:
        return {fk.target for fk in self.foreign_keys if fk.target != self.name}


_TABLES: LiteralString = """
select c.oid, c.relname
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
  and (c.relname = 'tenants' or exists (
          select 1 from pg_attribute a
          where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
order by c.relname
"""

_COLUMNS: LiteralString = """
select a.attrelid as rel, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
       a.atttypid = 'xid8'::regtype as is_xid8,
       a.attidentity <> '' or coalesce(pg_get_expr(d.adbin, d.adrelid) like 'nextval(%%', false) as is_sequenced
from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
where a.attrelid = any(%s) and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
order by a.attrelid, a.attnum
"""

_PRIMARY_KEYS: LiteralString = """
select k.conrelid as rel, array_agg(a.attname order by u.ord) as columns
from pg_constraint k
cross join unnest(k.conkey) with ordinality u(attnum, ord)
join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum
where k.contype = 'p' and k.conrelid = any(%s)
group by k.conrelid
"""

_FOREIGN_KEYS: LiteralString = """
select k.conrelid as rel, k.conname as name, t.relname as target,
       (select array_agg(a.attname order by u.ord) from unnest(k.conkey) with ordinality u(attnum, ord)
        join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum) as columns,
       (select array_agg(a.attname order by u.ord) from unnest(k.confkey) with ordinality u(attnum, ord)
        join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.attnum) as target_columns
from pg_constraint k join pg_class t on t.oid = k.confrelid
where k.contype = 'f' and k.conparentid = 0 and k.conrelid = any(%s)
order by k.conname
"""


def tenant_tables(conn: psycopg.Connection[Any]) -> list[Table]:
    """Every tenant table, parents before children (see `dependency_order`)."""
    found = [(row["oid"], row["relname"]) for row in _rows(conn, _TABLES, ())]
    oids = [oid for oid, _ in found]
    columns: dict[int, list[dict[str, Any]]] = {}
    for row in _rows(conn, _COLUMNS, (oids,)):
        columns.setdefault(row["rel"], []).append(row)
    keys = {row["rel"]: tuple(row["columns"]) for row in _rows(conn, _PRIMARY_KEYS, (oids,))}
    fks: dict[int, list[ForeignKey]] = {}
    for row in _rows(conn, _FOREIGN_KEYS, (oids,)):
        fks.setdefault(row["rel"], []).append(
            ForeignKey(row["name"], tuple(row["columns"]), row["target"], tuple(row["target_columns"]))
        )
    tables = []
    for oid, name in found:
        cols = columns.get(oid, [])
        tables.append(
            Table(
                name=name,
                columns=tuple((c["name"], c["type"]) for c in cols),
                key=keys.get(oid) or tuple(c["name"] for c in cols),
                sequenced=tuple(c["name"] for c in cols if c["is_sequenced"]),
                transaction_ids=tuple(c["name"] for c in cols if c["is_xid8"]),
                foreign_keys=tuple(fks.get(oid, [])),
            )
        )
    return dependency_order(tables)


def dependency_order(tables: Iterable[Table]) -> list[Table]:
    """A topological order by foreign keys among these tables (Kahn's algorithm, ties by name, so the order
    is stable). References to tables outside the set (global reference data: roles, modules, currencies)
    and self-references (categories.parent_id, nodes.parent_id) put no constraint on the table order; a
    cycle between distinct tables, should one ever appear, is appended by name — the import checks every
    foreign key at its end anyway (see transfer.py)."""
    by_name = {t.name: t for t in tables}
    waiting = {name: t.depends_on() & by_name.keys() for name, t in by_name.items()}
    ordered: list[Table] = []
    while waiting:
        ready = sorted(name for name, deps in waiting.items() if not deps)
        if not ready:
            ready = [min(waiting)]  # a cycle: break it at the first table by name
        for name in ready:
            ordered.append(by_name[name])
            del waiting[name]
        for deps in waiting.values():
            deps.difference_update(ready)
    return ordered


def _rows(conn: psycopg.Connection[Any], query: LiteralString, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()
