-- Citus-ready keys, read from the catalog (docs/scaling.md). Distributing by tenant_id needs every primary key,
-- unique constraint, unique index and exclusion constraint of a tenant table to include tenant_id, and every
-- foreign key between distributed tables to pair the referencing tenant_id with the referenced table's
-- distribution column. Definitions, all from the catalog so a future module's tables are covered:
--   tenant table     a table (or partition, or partitioned parent) with a tenant_id column: distributed by it;
--   tenants          keyed by id alone (a tenant's own id); a reference table because slug is globally unique;
--   reference table  a table without a tenant_id column that a tenant table references (roles, modules, …):
--                    replicated to every node, so a foreign key into it needs no tenant_id.
-- A foreign key from a table without tenant_id into a tenant table cannot be kept by Citus (a reference or
-- local table may not reference a distributed one) and is reported too.
BEGIN;
SELECT plan(14);

CREATE TEMP VIEW tenant_tables AS
SELECT c.oid AS rel, c.oid::regclass::text AS name, a.attnum AS tenant_col
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('information_schema', 'tap') AND n.nspname NOT LIKE 'pg\_%';

-- The column each table is keyed by tenant on: tenant_id, or tenants.id.
CREATE TEMP VIEW tenant_keyed AS
SELECT rel, name, tenant_col FROM tenant_tables
UNION ALL
SELECT a.attrelid, 'tenants', a.attnum FROM pg_attribute a
WHERE a.attrelid = 'public.tenants'::regclass AND a.attname = 'id';

-- Every unique index (primary keys and unique constraints are backed by one; partial and expression ones
-- count too) and every exclusion constraint of a tenant table that leaves tenant_id out.
CREATE TEMP VIEW keys_without_tenant AS
SELECT coalesce(array_agg(what ORDER BY what), '{}') AS names FROM (
    SELECT t.name || ': ' || i.indexrelid::regclass::text AS what
    FROM tenant_tables t JOIN pg_index i ON i.indrelid = t.rel
    WHERE i.indisunique AND NOT t.tenant_col = ANY (i.indkey::int2[])
    UNION ALL
    SELECT t.name || ': ' || k.conname
    FROM tenant_tables t JOIN pg_constraint k ON k.conrelid = t.rel
    WHERE k.contype = 'x' AND NOT t.tenant_col = ANY (k.conkey)
) bad;

-- Foreign keys out of a tenant table whose target is tenant-keyed too, without the tenant column of the one
-- paired (same position) with the tenant column of the other.
CREATE TEMP VIEW foreign_keys_without_tenant AS
SELECT coalesce(array_agg(t.name || ': ' || k.conname ORDER BY t.name, k.conname), '{}') AS names
FROM tenant_tables t
JOIN pg_constraint k ON k.conrelid = t.rel AND k.contype = 'f'
JOIN tenant_keyed target ON target.rel = k.confrelid
WHERE NOT EXISTS (SELECT 1 FROM generate_subscripts(k.conkey, 1) i
                  WHERE k.conkey[i] = t.tenant_col AND k.confkey[i] = target.tenant_col);

-- Foreign keys into a tenant table (or tenants) from a table that is not a tenant table.
CREATE TEMP VIEW foreign_keys_into_tenants AS
SELECT coalesce(array_agg(k.conrelid::regclass || ': ' || k.conname ORDER BY 1), '{}') AS names
FROM pg_constraint k
WHERE k.contype = 'f'
  AND EXISTS (SELECT 1 FROM tenant_keyed target WHERE target.rel = k.confrelid)
  AND NOT EXISTS (SELECT 1 FROM tenant_tables t WHERE t.rel = k.conrelid);

-- Reference tables: targets of tenant tables' foreign keys that have no tenant_id (tenants aside).
CREATE TEMP VIEW reference_tables AS
SELECT DISTINCT k.confrelid::regclass::text AS name
FROM tenant_tables t JOIN pg_constraint k ON k.conrelid = t.rel AND k.contype = 'f'
WHERE NOT EXISTS (SELECT 1 FROM tenant_keyed target WHERE target.rel = k.confrelid);

-- Sequences feeding a tenant table's column: a distributed table's sequence must be bigint (Citus inserts
-- from any node take values from a per-node range of a bigint sequence).
CREATE TEMP VIEW narrow_sequences AS
SELECT coalesce(array_agg(d.refobjid::regclass || '.' || a.attname || ' <- ' || d.objid::regclass ORDER BY 1), '{}')
       AS names
FROM pg_depend d
JOIN tenant_tables t ON t.rel = d.refobjid
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
JOIN pg_sequence s ON s.seqrelid = d.objid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  AND s.seqtypid <> 'bigint'::regtype;

-- the rule, for today's schema
SELECT ok((SELECT count(*) FROM tenant_tables WHERE name IN ('users', 'nodes', 'nodes_p0', 'event_outbox')) = 4,
          'the catalog query finds tenant tables, partitioned parents and partitions');
SELECT is((SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM tenant_tables t
           WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.rel AND k.contype = 'p')),
          '{}', 'every tenant table has a primary key');
SELECT is((SELECT names FROM keys_without_tenant), '{}',
          'every primary key, unique constraint, unique index and exclusion constraint of a tenant table includes tenant_id');
SELECT is((SELECT names FROM foreign_keys_without_tenant), '{}',
          'every foreign key between tenant tables pairs tenant_id with tenant_id (or with tenants.id)');
SELECT is((SELECT names FROM foreign_keys_into_tenants), '{}',
          'no table without tenant_id references a tenant table or tenants');
SELECT is((SELECT array_agg(a.attname::text ORDER BY k.i) FROM pg_constraint c,
                  unnest(c.conkey) WITH ORDINALITY k(attnum, i)
                  JOIN pg_attribute a ON a.attrelid = 'public.tenants'::regclass AND a.attnum = k.attnum
           WHERE c.conrelid = 'public.tenants'::regclass AND c.contype = 'p'),
          '{id}', 'the primary key of tenants is id');
SELECT ok((SELECT bool_and(name IN (SELECT name FROM reference_tables))
           FROM unnest('{roles,commerce_currencies,modules}'::text[]) name),
          'roles, commerce_currencies and modules are reference tables (no tenant_id, referenced by tenant tables)');
SELECT is((SELECT names FROM narrow_sequences), '{}', 'every sequence behind a tenant table column is bigint');

-- the checks catch what they are meant to: a module's tables made wrong on purpose
SET LOCAL ROLE rustok_owner;
CREATE TABLE public.bad_items (
    tenant_id uuid NOT NULL REFERENCES public.tenants (id),
    id        uuid NOT NULL,
    code      text NOT NULL,
    slug      text,
    role      text REFERENCES public.roles (slug),
    PRIMARY KEY (id),
    UNIQUE (tenant_id, code),
    CONSTRAINT bad_items_pair UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX bad_items_slug ON public.bad_items (lower(slug)) WHERE slug IS NOT NULL;
CREATE TABLE public.bad_lines (
    tenant_id uuid NOT NULL,
    id        uuid NOT NULL,
    item_id   uuid NOT NULL,
    owner_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, id) ,
    CONSTRAINT bad_lines_item FOREIGN KEY (item_id) REFERENCES public.bad_items (id),
    CONSTRAINT bad_lines_swapped FOREIGN KEY (tenant_id, item_id) REFERENCES public.bad_items (id, tenant_id),
    CONSTRAINT bad_lines_good FOREIGN KEY (tenant_id, item_id) REFERENCES public.bad_items (tenant_id, id),
    CONSTRAINT bad_lines_tenant FOREIGN KEY (owner_id) REFERENCES public.tenants (id)
) PARTITION BY HASH (tenant_id);
CREATE TABLE public.bad_lines_p0 PARTITION OF public.bad_lines FOR VALUES WITH (MODULUS 1, REMAINDER 0);
CREATE UNIQUE INDEX bad_lines_p0_item ON public.bad_lines_p0 (item_id);
CREATE TABLE public.bad_globals (code text PRIMARY KEY, item_id uuid REFERENCES public.bad_items (id));
CREATE TABLE public.bad_counters (tenant_id uuid NOT NULL, n serial, PRIMARY KEY (tenant_id, n));
RESET ROLE;

SELECT is((SELECT names FROM keys_without_tenant),
          '{"bad_items: bad_items_pkey","bad_items: bad_items_slug","bad_lines_p0: bad_lines_p0_item"}',
          'a primary key, an expression/partial unique index and a partition''s own unique index without tenant_id are reported');
SELECT is((SELECT names FROM foreign_keys_without_tenant),
          '{"bad_lines: bad_lines_item","bad_lines: bad_lines_swapped","bad_lines: bad_lines_tenant",'
          '"bad_lines_p0: bad_lines_item","bad_lines_p0: bad_lines_swapped","bad_lines_p0: bad_lines_tenant"}',
          'foreign keys leaving tenant_id out, pairing it with another column, or naming tenants by another column are reported, partitions included');
SELECT is((SELECT names FROM foreign_keys_into_tenants), '{"bad_globals: bad_globals_item_id_fkey"}',
          'a table without tenant_id referencing a tenant table is reported');
SELECT ok('roles' IN (SELECT name FROM reference_tables) AND 'bad_globals' NOT IN (SELECT name FROM reference_tables),
          'a foreign key into a table without tenant_id (a reference table) is allowed');
SELECT is((SELECT names FROM narrow_sequences), '{"bad_counters.n <- bad_counters_n_seq"}',
          'a serial (integer) column in a tenant table is reported');

SET LOCAL ROLE rustok_owner;
DROP TABLE public.bad_globals, public.bad_lines, public.bad_items, public.bad_counters;
RESET ROLE;
SELECT is((SELECT names FROM keys_without_tenant), '{}', 'and nothing is left reported once they are gone');

SELECT * FROM finish();
ROLLBACK;
