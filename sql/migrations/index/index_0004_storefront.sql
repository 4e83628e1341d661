-- depends: index_0003_analytics
-- What the server-rendered storefront shows and reads from the index only (docs/storefront.md):
-- a product's options and variants (ids to add to a cart, option values, guest unit price per currency, stock
-- state), a page's or post's whole body and its format (rendered and sanitised by rustok.markdown), and the
-- lookups by handle / slug a product or post page makes. Rows are filled by the compute functions; run
-- `rustok reindex` once on a database that already has index rows. Frozen once landed.

alter table index_products
    add column options   jsonb not null default '[]' check (jsonb_typeof(options) = 'array'),
    add column variants  jsonb not null default '[]' check (jsonb_typeof(variants) = 'array');

alter table index_content
    add column body         text,
    add column body_format  varchar(16);

create index index_products_handle on index_products (tenant_id, handle);
create index index_content_slug on index_content (tenant_id, kind, slug);
