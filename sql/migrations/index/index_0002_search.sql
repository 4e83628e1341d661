-- depends: index_0001_tables
-- Search (sql/functions/index/30_search.sql). Under the forced row-level security of index_products and
-- index_content, `@@` (not LEAKPROOF) is applied after the tenant policy and can never be an index condition,
-- even for the owner and with an explicit tenant filter (measured: Seq Scan / pkey scan + Filter). So the text
-- to match is mirrored into two tables of the private schema `rustok` (no grants to the application role),
-- kept equal to the index rows by row triggers (sql/triggers/index/index_search.sql). They have forced RLS
-- and the usual tenant policy, plus a policy `search_definer` for rustok_owner only (the role of the SECURITY
-- DEFINER search functions, which always filter by rustok.current_tenant_id() explicitly): for that role the
-- policy folds to true, so `@@` becomes an index condition. GIN (tenant_id, search_vector) via
-- btree_gin (fastupdate off: no pending list to scan on every search); title_folded (lower, unaccented) for
-- trigram typo tolerance (pg_trgm).
-- Existing deployments: `rustok reindex` fills them (every rewritten index row passes the trigger).
create extension if not exists pg_trgm;
create extension if not exists btree_gin;

create table rustok.index_products_text (
    tenant_id      uuid not null references tenants (id) on delete cascade,
    product_id     uuid not null,
    search_vector  tsvector not null,
    title_folded   text not null,
    primary key (tenant_id, product_id)
);
create index index_products_text_search on rustok.index_products_text using gin (tenant_id, search_vector)
    with (fastupdate = off);
create index index_products_text_title on rustok.index_products_text using gin (tenant_id, title_folded gin_trgm_ops)
    with (fastupdate = off);

create table rustok.index_content_text (
    tenant_id      uuid not null references tenants (id) on delete cascade,
    node_id        uuid not null,
    search_vector  tsvector not null,
    title_folded   text not null,
    primary key (tenant_id, node_id)
);
create index index_content_text_search on rustok.index_content_text using gin (tenant_id, search_vector)
    with (fastupdate = off);
create index index_content_text_title on rustok.index_content_text using gin (tenant_id, title_folded gin_trgm_ops)
    with (fastupdate = off);

revoke all on rustok.index_products_text, rustok.index_content_text from public;
alter table rustok.index_products_text enable row level security, force row level security;
alter table rustok.index_content_text enable row level security, force row level security;
create policy tenant_isolation on rustok.index_products_text
    using (tenant_id = (select rustok.current_tenant_id())) with check (tenant_id = (select rustok.current_tenant_id()));
create policy tenant_isolation on rustok.index_content_text
    using (tenant_id = (select rustok.current_tenant_id())) with check (tenant_id = (select rustok.current_tenant_id()));
create policy search_definer on rustok.index_products_text to rustok_owner using (true) with check (true);
create policy search_definer on rustok.index_content_text to rustok_owner using (true) with check (true);
