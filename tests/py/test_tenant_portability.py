"""Tenant portability: `rustok tenant export SLUG FILE` / `rustok tenant import FILE` move a tenant with data in
every module (content, blog, commerce, webhooks, auth, events, index) from one database to another: every
tenant table compared row by row (ids kept), the other tenant left behind, progress on stderr, the outbox's
history kept without being delivered again, and the refusals — the same tenant twice (CONFLICT), another
schema, a damaged file — each one line, with nothing half-imported."""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from rustok import errors
from rustok.cli import main
from rustok.db import Database
from rustok.portability import import_tenant, tenant_tables
from tests.conftest import clone_database, drop_database

# Two tenants with data in every module; run as the operator (superuser), acting as each tenant's admin.
FILL = r"""
DO $fill$
DECLARE
    t uuid; admin uuid; customer uuid; post uuid; page uuid; cat uuid; sub uuid; comment uuid; variant uuid;
    region jsonb; shipping jsonb; loc uuid; cart uuid; grp uuid; pl uuid; pcat uuid; coll uuid; ev record; d record;
    s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['acme', 'globex'] LOOP
    t := rustok.parse_id(rustok.create_tenant(s, initcap(s), 'admin@' || s || '.test', 'hash') ->> 'id');
    SELECT id INTO admin FROM users WHERE tenant_id = t;
    PERFORM rustok.set_context(t, admin, 'admin');
    customer := rustok._insert_user('customer@' || s || '.test', 'hash', 'customer');
    -- content: a category tree, a page tree, a post with a revision and tags
    cat := rustok.parse_id(rustok.create_category('{"name": "News"}') ->> 'id');
    sub := rustok.parse_id(rustok.create_category(
        jsonb_build_object('name', 'Local', 'parentId', rustok.ulid(cat))) ->> 'id');
    page := rustok.parse_id(rustok.create_node('{"kind": "page", "title": "About", "body": "About us"}') ->> 'id');
    PERFORM rustok.create_node(jsonb_build_object('kind', 'page', 'title', 'Team', 'parentId', rustok.ulid(page)));
    post := rustok.parse_id(rustok.create_node(jsonb_build_object('kind', 'post', 'title', 'Crème brûlée, Привет',
        'body', E'Tab\there, newline\nand a backslash \\ done', 'status', 'published',
        'categoryId', rustok.ulid(sub), 'tags', jsonb_build_array('food', 'news'),
        'metadata', '{"k": [1, 2.5, null]}'::jsonb)) ->> 'id');
    PERFORM rustok.update_node(post, '{"body": "Second version"}');
    -- blog: a comment and a reply
    comment := rustok.parse_id(rustok.add_comment(post, NULL, 'First!') ->> 'id');
    PERFORM rustok.add_comment(post, comment, 'Reply');
    -- commerce: catalog, prices, stock, checkout setup, an order, a cart in checkout
    pcat := rustok.parse_id(rustok.create_product_category('{"name": "Shoes"}') ->> 'id');
    coll := rustok.parse_id(rustok.create_product_collection('{"title": "Summer"}') ->> 'id');
    PERFORM rustok.create_product(jsonb_build_object('title', 'Boots', 'status', 'published',
        'categoryIds', jsonb_build_array(rustok.ulid(pcat)), 'collectionIds', jsonb_build_array(rustok.ulid(coll)),
        'tags', jsonb_build_array('leather'), 'options', '[{"title": "Size", "values": ["S", "M"]}]'::jsonb,
        'variants', '[{"sku": "BOOT-S", "options": [{"option": "Size", "value": "S"}], "inventoryQuantity": 5,
                       "prices": [{"amount": 8000, "currencyCode": "EUR"}]},
                      {"sku": "BOOT-M", "options": [{"option": "Size", "value": "M"}], "inventoryQuantity": 2,
                       "prices": [{"amount": 8500, "currencyCode": "EUR"}]}]'::jsonb));
    SELECT v.id INTO variant FROM commerce_variants v WHERE v.tenant_id = t AND v.sku = 'BOOT-S';
    grp := rustok.parse_id(rustok.create_customer_group('VIP') ->> 'id');
    PERFORM rustok.add_customer_to_group(grp, customer);
    pl := rustok.parse_id(rustok.create_price_list(
        jsonb_build_object('title', 'VIP prices', 'customerGroupId', rustok.ulid(grp))) ->> 'id');
    PERFORM rustok.set_price(jsonb_build_object('variantId', rustok.ulid(variant), 'priceListId', rustok.ulid(pl),
                                                'amount', 7000, 'currencyCode', 'EUR'));
    loc := rustok.parse_id(rustok.create_stock_location('{"name": "North"}') ->> 'id');
    PERFORM rustok.adjust_inventory(jsonb_build_object('variantId', rustok.ulid(variant),
                                                       'locationId', rustok.ulid(loc), 'delta', 3));
    region := rustok.create_region('{"name": "EU", "currencyCode": "EUR", "countries": ["DE", "FR"],
                                     "taxRate": {"name": "VAT", "rate": 1900}}');
    shipping := rustok.create_shipping_option(
        jsonb_build_object('regionId', region ->> 'id', 'name', 'Standard', 'amount', 500));
    PERFORM rustok.create_discount('{"code": "TENOFF", "kind": "percentage", "value": 10}');
    PERFORM rustok.create_webhook('https://93.184.216.34/hook', '{OrderPlaced}');
    cart := rustok.parse_id(rustok.create_cart(jsonb_build_object('currencyCode', 'EUR',
        'regionId', region ->> 'id', 'shippingOptionId', shipping ->> 'id', 'email', 'guest@example.com', 'lines',
        jsonb_build_array(jsonb_build_object('variantId', rustok.ulid(variant), 'quantity', 2)))) ->> 'id');
    PERFORM rustok.apply_discount(cart, 'TENOFF');
    PERFORM rustok.place_order(cart, NULL, '{"firstName": "Ann", "countryCode": "DE"}');
    cart := rustok.parse_id(rustok.create_cart(jsonb_build_object('currencyCode', 'EUR', 'lines',
        jsonb_build_array(jsonb_build_object('variantId', rustok.ulid(variant), 'quantity', 1)))) ->> 'id');
    PERFORM rustok.start_checkout(cart);
    -- webhooks: a delivery with a failed attempt; a durable handler's failure; auth state
    FOR ev IN SELECT e.occurred_at, e.position FROM event_outbox e WHERE e.tenant_id = t AND e.type = 'OrderPlaced'
    LOOP
        PERFORM rustok.enqueue_webhook_deliveries(ev.occurred_at, ev.position);
    END LOOP;
    FOR d IN SELECT * FROM rustok.claim_webhook_deliveries() LOOP
        PERFORM rustok.record_webhook_attempt(d.delivery_id, d.attempt, now(), 12, 500, 'server error', 'retry', 30);
    END LOOP;
    PERFORM rustok.record_handler_failure('test-handler',
        (SELECT e.id FROM event_outbox e WHERE e.tenant_id = t ORDER BY e.position LIMIT 1),
        'TenantCreated', 1, 'boom', false);
    PERFORM rustok.begin_login('admin@' || s || '.test');
    PERFORM rustok.complete_login('admin@' || s || '.test', 'hash', sha256(convert_to(s, 'utf8')), interval '1 day');
    PERFORM rustok.begin_login('nobody@' || s || '.test');
    -- a scheduled rebuild (index_reindex_runs)
    UPDATE tenant_modules SET settings = settings || '{"reindexSchedule": "* * * * *"}'
    WHERE tenant_id = t AND module_slug = 'index';
    PERFORM rustok.index_reindex_scheduled();
  END LOOP;
  PERFORM rustok.set_context(NULL);
END
$fill$
"""


# Tenant tables the fixture leaves empty: the index's per-transaction scratch table and its queue (used only
# with realtime sync off). Every other tenant table must hold rows of the exported tenant.
TRANSIENT = {"index_pending", "index_queue"}


@pytest.fixture(scope="module")
def databases(template_db: Database) -> Iterator[dict[str, Database]]:
    """source: acme and globex; target: initech (so the outbox sequence has moved on); spare: for refusals."""
    dbs = {name: clone_database(template_db, f"portability_{name}") for name in ("source", "target", "spare")}
    try:
        with psycopg.connect(dbs["source"].admin_url, autocommit=True) as conn:
            conn.execute(FILL)
        with psycopg.connect(dbs["target"].admin_url, autocommit=True) as conn:
            conn.execute("select rustok.create_tenant('initech', 'Initech', 'admin@initech.test', 'hash')")
        yield dbs
    finally:
        for db in dbs.values():
            drop_database(template_db, db.dbname)


def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database, *argv: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", db.admin_url)
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def tenant_id(db: Database, slug: str) -> uuid.UUID:
    with psycopg.connect(db.admin_url) as conn:
        row = conn.execute("select id from tenants where slug = %s", (slug,)).fetchone()
        assert row is not None, slug
        return uuid.UUID(str(row[0]))


def snapshot(db: Database, tenant: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tenant in every tenant table (select *), ordered by primary key; in tables with
    database-wide counters (renumbered on import), ordered by those counters and without them."""
    with psycopg.connect(db.admin_url, row_factory=dict_row) as conn:
        tables = {t.name: t for t in tenant_tables(conn)}
        secured = {
            r["name"]
            for r in conn.execute(
                "select c.relname as name from pg_class c where c.oid in (select rustok._tenant_tables())"
                " and not c.relispartition"
            )
        }
        assert secured == tables.keys(), "export discovery and the security rule see the same tenant tables"
        result = {}
        for name, table in tables.items():
            keys = [
                r["attname"]
                for r in conn.execute(
                    "select a.attname from pg_index i cross join unnest(i.indkey) with ordinality k(attnum, n)"
                    " join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum"
                    " where i.indrelid = %s::regclass and i.indisprimary order by k.n",
                    (f"public.{name}",),
                )
            ]
            counters = [*table.transaction_ids, *table.sequenced]
            query = sql.SQL("select * from public.{} where {} = %s order by {}").format(
                sql.Identifier(name),
                sql.Identifier("id" if name == "tenants" else "tenant_id"),
                sql.SQL(", ").join(map(sql.Identifier, [*counters, *keys])),
            )
            rows = conn.execute(query, (tenant,)).fetchall()
            result[name] = [{k: v for k, v in row.items() if k not in counters} for row in rows]
        return result


def index_verify(db: Database, tenant: uuid.UUID) -> list[tuple[Any, ...]] | None:
    """What the index module's verify reports for the tenant (index rows that differ from a recomputation),
    when the module is installed."""
    with psycopg.connect(db.admin_url) as conn:
        if conn.execute("select to_regprocedure('rustok.index_verify(uuid)')").fetchone() == (None,):
            return None
        return conn.execute("select * from rustok.index_verify(%s) order by 1, 2", (tenant,)).fetchall()


@pytest.fixture(scope="module")
def export_file(databases: dict[str, Database], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("portability") / "acme.rustok.tar.gz"


def test_round_trip_keeps_every_row(
    databases: dict[str, Database],
    export_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, target = databases["source"], databases["target"]
    acme = tenant_id(source, "acme")
    before = snapshot(source, acme)
    empty = [name for name, rows in before.items() if not rows and name not in TRANSIENT]
    assert not empty, f"the fixture leaves these tenant tables empty: {empty}"

    code, out, err = run(capsys, monkeypatch, source, "tenant", "export", "acme", str(export_file))
    assert code == 0, err
    lines = err.splitlines()  # progress (tests/py/test_cli_progress.py has its format)
    assert lines[0] == f"export acme: started, {len(before)} tables"
    assert lines[-1].startswith(f"export acme: done, {len(before)} tables in ")
    assert out.startswith("exported tenant acme (") and str(export_file) in out and out.count("\n") == 1
    code, _, err = run(capsys, monkeypatch, source, "tenant", "export", "nobody", str(export_file) + ".x")
    assert code == 1 and "no tenant with slug 'nobody'" in err and "[NOT_FOUND]" in err
    code, _, err = run(capsys, monkeypatch, source, "tenant", "export", "acme", str(export_file.parent / "no/x"))
    assert code == 1 and "not a file in an existing directory [VALIDATION_FAILED]" in err

    with psycopg.connect(target.admin_url) as conn:
        head = conn.execute("select commit_seq, position from rustok.event_head()").fetchone()
        initech_positions = {r[0] for r in conn.execute("select position from event_outbox")}
    with psycopg.connect(target.admin_url, autocommit=True) as listener:
        listener.execute("listen rustok_events")
        code, out, err = run(capsys, monkeypatch, target, "tenant", "import", str(export_file))
        assert code == 0, err
        assert list(listener.notifies(timeout=0.2)) == [], "an import sends no NOTIFY"
    steps = 2 * len(before) + 1  # load each table, check each one's foreign keys, commit
    lines = err.splitlines()
    assert lines[0] == f"import {export_file.name}: started, {steps} steps"
    assert lines[-1].startswith(f"import {export_file.name}: done, {steps} steps in ")
    assert any("foreign keys of" in line for line in lines), lines
    assert out.startswith("imported tenant acme (") and out.count("\n") == 1

    after = snapshot(target, acme)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], f"{name} differs after the round trip"
    assert index_verify(target, acme) == index_verify(source, acme), "the index module sees the same state"

    with psycopg.connect(target.admin_url) as conn:
        imported = conn.execute(
            "select txid::text, position from event_outbox where tenant_id = %s order by position", (acme,)
        ).fetchall()
        assert {txid for txid, _ in imported} == {"0"}, "imported events carry no transaction id of the source"
        positions = [p for _, p in imported]
        assert len(positions) == len(before["event_outbox"]) and not set(positions) & initech_positions
        duplicates = conn.execute("select position from event_outbox group by position having count(*) > 1")
        assert duplicates.fetchall() == [], "positions never collide"
        redelivered = conn.execute(
            "select count(*) from rustok.read_events(%s, %s, 10000) where tenant_id = %s", (*head, acme)
        ).fetchone()
        assert redelivered == (0,), "a consumer that had read the target's outbox is not handed the history again"
        history = conn.execute("select count(*) from rustok.read_events(0, 0, 10000) where tenant_id = %s", (acme,))
        assert history.fetchone() == (len(positions),), "a new consumer, starting from the beginning, sees them"
        # and the imported tenant works: a write with triggers on, the order counter continuing
        conn.execute("select rustok.set_context(%s)", (acme,))
        shipping = conn.execute(
            "select rustok.ulid(region_id), rustok.ulid(id) from commerce_shipping_options where tenant_id = %s",
            (acme,),
        ).fetchone()
        order = conn.execute(
            "select rustok.place_order(rustok.parse_id(rustok.create_cart(jsonb_build_object('currencyCode', 'EUR',"
            " 'regionId', %s::text, 'shippingOptionId', %s::text,"
            " 'lines', jsonb_build_array(jsonb_build_object('variantId', (select rustok.ulid(id)"
            " from commerce_variants where sku = 'BOOT-M'), 'quantity', 1)))) ->> 'id'), 'x@example.com',"
            " '{\"countryCode\": \"DE\"}') ->> 'displayId'",
            shipping,
        ).fetchone()
        assert order == ("2",)
        conn.rollback()


def test_other_tenants_stay_behind(databases: dict[str, Database], export_file: Path) -> None:
    source, target = databases["source"], databases["target"]
    globex = tenant_id(source, "globex")
    with tarfile.open(export_file, "r:gz") as tar:
        content = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())  # type: ignore[union-attr]
    assert str(tenant_id(source, "acme")).encode() in content
    assert str(globex).encode() not in content, "nothing of globex is in the file"
    with psycopg.connect(target.admin_url) as conn:
        slugs = [r[0] for r in conn.execute("select slug from tenants order by slug")]
        assert slugs == ["acme", "initech"]
    assert all(not rows for rows in snapshot(target, globex).values())
    assert snapshot(target, tenant_id(target, "initech"))["users"], "the target's own tenant is untouched"


def test_importing_twice_is_a_conflict(
    databases: dict[str, Database],
    export_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = databases["target"]
    acme = tenant_id(target, "acme")
    before = snapshot(target, acme)
    code, out, err = run(capsys, monkeypatch, target, "tenant", "import", str(export_file))
    assert code == 1 and out == ""
    assert err.startswith("rustok: error: tenant acme (") and "[CONFLICT]" in err and '"field": "id"' in err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(target, acme) == before

    spare = databases["spare"]  # another tenant already has the slug
    with psycopg.connect(spare.admin_url, autocommit=True) as conn:
        conn.execute("select rustok.create_tenant('acme', 'Another Acme')")
    code, _, err = run(capsys, monkeypatch, spare, "tenant", "import", str(export_file))
    assert code == 1 and "[CONFLICT]" in err and '"field": "slug"' in err
    with psycopg.connect(spare.admin_url, autocommit=True) as conn:
        conn.execute("delete from tenants where slug = 'acme'")


def test_a_file_for_another_schema_is_refused(
    databases: dict[str, Database],
    export_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spare = databases["spare"]
    with psycopg.connect(spare.admin_url, autocommit=True) as conn:
        conn.execute("insert into _yoyo_migration values ('x', 'zz_0001_future', now())")
        code, out, err = run(capsys, monkeypatch, spare, "tenant", "import", str(export_file))
        assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
        assert "other migrations (only in the file: -; only here: zz_0001_future)" in err
        assert "[VALIDATION_FAILED]" in err
        conn.execute("delete from _yoyo_migration where migration_hash = 'x'")

        conn.execute("alter table public.webhooks add column extra int")
        code, _, err = run(capsys, monkeypatch, spare, "tenant", "import", str(export_file))
        assert code == 1 and "table webhooks has other columns here (differing: extra integer)" in err
        conn.execute("alter table public.webhooks drop column extra")

        code, _, err = run(capsys, monkeypatch, spare, "tenant", "import", str(export_file.parent / "missing.tar.gz"))
        assert code == 1 and "cannot read it as a tenant export" in err
        assert conn.execute("select count(*) from tenants").fetchone() == (0,)


def test_a_damaged_file_leaves_nothing_behind(
    databases: dict[str, Database],
    export_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last table loses a row after export: the import fails at the end, all or nothing."""
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(export_file, "r:gz") as source, tarfile.open(damaged, "w:gz") as out:
        members = source.getmembers()
        for member in members:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member is members[-1]:
                data = b"".join(data.splitlines(keepends=True)[:-1])
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    spare = databases["spare"]
    code, _, err = run(capsys, monkeypatch, spare, "tenant", "import", str(damaged))
    assert code == 1 and "is damaged (rows or checksum differ from the manifest)" in err, err
    reported: list[int] = []
    with pytest.raises(errors.ValidationFailed):
        import_tenant(spare.admin_url, damaged, progress=lambda done, total, note="": reported.append(done))
    assert reported[-1] == len(members) - 2, "every table before the last one was loaded"
    with psycopg.connect(spare.admin_url) as conn:
        counts = [
            conn.execute(sql.SQL("select count(*) from public.{}").format(sql.Identifier(t.name))).fetchone()
            for t in tenant_tables(conn)
        ]
        assert set(counts) == {(0,)}, "nothing of the failed import remains"


def test_after_import_hooks_run_with_triggers_on(databases: dict[str, Database], export_file: Path) -> None:
    """A module can rebuild state kept outside tenant tables with rustok._after_tenant_import__<name>(uuid)."""
    spare = databases["spare"]
    with psycopg.connect(spare.admin_url, autocommit=True) as conn:
        conn.execute("create table public.import_hook_calls (tenant uuid, context uuid, replication_role text)")
        conn.execute(
            "create function rustok._after_tenant_import__test(tenant uuid) returns void language sql as $$"
            " insert into public.import_hook_calls"
            " values (tenant, rustok.current_tenant_id(), current_setting('session_replication_role')) $$"
        )
    notes: list[str] = []
    import_tenant(spare.admin_url, export_file, progress=lambda done, total, note="": notes.append(note))
    assert "after import: rustok._after_tenant_import__test" in notes
    acme = tenant_id(spare, "acme")
    with psycopg.connect(spare.admin_url) as conn:
        assert conn.execute("select * from public.import_hook_calls").fetchall() == [(acme, acme, "origin")]


def test_the_owner_exports_the_same_but_only_a_superuser_imports(
    databases: dict[str, Database],
    export_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As rustok_owner (forced row-level security, the tenant's context set) the export holds the same rows."""
    as_owner = {
        name: replace(db, admin_url=db.admin_url + "&options=-c%20role%3Drustok_owner")
        for name, db in databases.items()
    }
    owner_file = tmp_path / "owner.tar.gz"
    code, _, err = run(capsys, monkeypatch, as_owner["source"], "tenant", "export", "acme", str(owner_file))
    assert code == 0 and "rustok: error" not in err, err

    def members(path: Path) -> dict[str, bytes]:
        with tarfile.open(path, "r:gz") as tar:
            return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.name.startswith("data/")}  # type: ignore[union-attr]

    assert members(owner_file) == members(export_file)
    code, _, err = run(capsys, monkeypatch, as_owner["target"], "tenant", "import", str(owner_file))
    assert code == 1 and "needs a superuser connection" in err and "[FORBIDDEN]" in err
