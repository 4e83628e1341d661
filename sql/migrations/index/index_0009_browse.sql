-- depends: index_0007_search_categories
-- Browsing the catalogue without a search term (sql/functions/index/35_browse.sql). Under the forced RLS of
-- index_products the category and tag filters (`@>`, not LEAKPROOF) cannot use an index, and the facets of the
-- unfiltered tenant were counted over every row on every page (gen-001: 38,555 products, 44-98 ms). So, as for
-- the text search (index_0002_search), two tables in the private schema `rustok`, read only by the SECURITY
-- DEFINER search with an explicit tenant filter (their owner-only policy `browse_definer` folds to true):
--
-- * index_products_browse: one narrow row per product and currency it has a price in (the storefront always
--   searches in a currency; a search without one takes the general path): that price, the newest sort key
--   exactly as search computes it, stock flag, category handles and names, tags. Btree indexes give each
--   sort's first page from an ordered scan; a GIN (tenant_id, currency, tags, category_slugs) finds a tag's or
--   category's rows.
-- * index_products_facets: per tenant, currency and scope (every product, or those in stock), the
--   number of products per facet value (total, category handle + name, tag, price bucket): the unfiltered
--   catalogue's totalCount and facets without reading its rows.
--
-- Both are kept by statement triggers on index_products (sql/triggers/index/index_browse.sql) in the upkeep's
-- transaction; rustok.index_verify reports any drift. Existing rows are filled below (one tenant at a time:
-- index_products is under forced RLS), with the rule of rustok._index_browse_rows as it stands here.
create table rustok.index_products_browse (
    tenant_id       uuid not null references tenants (id) on delete cascade,
    currency        text not null,
    product_id      uuid not null,
    price           bigint,
    newest_key      float8 not null,
    has_stock       boolean not null,
    category_slugs  text[] not null,
    category_names  text[] not null,
    tags            text[] not null,
    primary key (tenant_id, currency, product_id)
);
create index index_products_browse_newest on rustok.index_products_browse (tenant_id, currency, newest_key, product_id);
create index index_products_browse_price_asc on rustok.index_products_browse
    (tenant_id, currency, (coalesce(price::float8, 'infinity'::float8)), product_id);
create index index_products_browse_price_desc on rustok.index_products_browse
    (tenant_id, currency, (coalesce(-price::float8, 'infinity'::float8)), product_id);
create index index_products_browse_terms on rustok.index_products_browse
    using gin (tenant_id, currency, tags, category_slugs) with (fastupdate = on, gin_pending_list_limit = 256);

create table rustok.index_products_facets (
    tenant_id      uuid not null references tenants (id) on delete cascade,
    currency       text not null,
    in_stock_only  boolean not null,
    facet          text not null check (facet in ('total', 'category', 'tag', 'price')),
    value          text not null,
    label          text not null,
    count          bigint not null,
    primary key (tenant_id, currency, in_stock_only, facet, value, label)
);

revoke all on rustok.index_products_browse, rustok.index_products_facets from public;
alter table rustok.index_products_browse enable row level security, force row level security;
alter table rustok.index_products_facets enable row level security, force row level security;
create policy tenant_isolation on rustok.index_products_browse
    using (tenant_id = (select rustok.current_tenant_id())) with check (tenant_id = (select rustok.current_tenant_id()));
create policy tenant_isolation on rustok.index_products_facets
    using (tenant_id = (select rustok.current_tenant_id())) with check (tenant_id = (select rustok.current_tenant_id()));
create policy browse_definer on rustok.index_products_browse to rustok_owner using (true) with check (true);
create policy browse_definer on rustok.index_products_facets to rustok_owner using (true) with check (true);

do $$
declare
    t uuid;
begin
    for t in select id from public.tenants loop
        perform set_config('rustok.tenant_id', t::text, true);
        insert into rustok.index_products_browse
        select i.tenant_id, e.key, i.product_id, (e.value ->> 'min')::bigint, -extract(epoch from i.created_at)::float8,
               i.has_stock,
               array(select x.v ->> 'handle' from jsonb_array_elements(i.categories) with ordinality x (v, n) order by n),
               array(select x.v ->> 'name' from jsonb_array_elements(i.categories) with ordinality x (v, n) order by n),
               i.tags
        from public.index_products i
        cross join lateral jsonb_each(i.prices) e
        where i.tenant_id = t;
        insert into rustok.index_products_facets
        select t, b.currency, s.scoped, k.facet, k.value, k.label, count(*)
        from rustok.index_products_browse b
        cross join (values (false), (true)) s (scoped)
        cross join lateral (
            select 'total'::text, ''::text, ''::text
            union all
            select 'category', c.slug, c.name from unnest(b.category_slugs, b.category_names) c (slug, name)
            union all
            select 'tag', g, '' from unnest(b.tags) g
            union all
            select 'price', (case when b.price < 1000 then 0 when b.price < 5000 then 1000 when b.price < 10000 then 5000
                                  when b.price < 50000 then 10000 else 50000 end)::text, ''
            where b.price >= 0
        ) k (facet, value, label)
        where b.tenant_id = t and (not s.scoped or b.has_stock)
        group by 1, 2, 3, 4, 5, 6;
    end loop;
    perform set_config('rustok.tenant_id', '', true);
end
$$;
-- the planner needs their statistics at once (the catalogue's filters choose between the GIN and btree indexes)
analyze rustok.index_products_browse, rustok.index_products_facets;
