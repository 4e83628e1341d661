-- depends: content_0001_tables commerce_0004_orders
-- The index module (the manifest's §6.5, rustok-index): the CQRS read model. index_products and
-- index_content hold one denormalized row per product / page or post a storefront may show, kept current by
-- triggers (sql/triggers/index) at commit, coalesced per transaction; index_pending is the transaction-local
-- list of ids to recompute, index_queue the durable one (realtime sync off: `rustok indexer` drains it).
-- Row-level security, policies and grants come from rustok._after_migrate(). Frozen once landed.

insert into permissions (slug, description) values
    ('index.manage', 'Request rebuilds of the search index');
insert into role_permissions (role, permission)
select r, 'index.manage' from (values ('super_admin'), ('admin')) as grants (r);

-- Published products (status 'published'). Prices are what a guest pays for one unit now
-- (rustok._commerce_price, the rule of rustok.variant_price), per currency in `prices`
-- ({"EUR": {"min": 1000, "max": 2500}}); min_price/max_price are those of `currencies[1]` (alphabetical).
create table index_products (
    tenant_id         uuid not null references tenants (id) on delete cascade,
    product_id        uuid not null,
    title             varchar(255) not null,
    subtitle          varchar(255),
    handle            varchar(255) not null,
    description       text,
    status            varchar(32) not null,
    min_price         bigint,
    max_price         bigint,
    currencies        char(3)[] not null default '{}',
    prices            jsonb not null default '{}',
    total_stock       int not null default 0,
    has_stock         boolean not null default false,
    categories        jsonb not null default '[]',
    category_ids      uuid[] not null default '{}',
    category_slugs    text[] not null default '{}',
    tags              text[] not null default '{}',
    meta_title        varchar(255),
    meta_description  varchar(500),
    search_vector     tsvector not null,
    created_at        timestamptz not null,
    published_at      timestamptz,
    indexed_at        timestamptz not null default now(),
    primary key (tenant_id, product_id)
);
create index index_products_search on index_products using gin (search_vector);
create index index_products_categories on index_products using gin (category_ids);
create index index_products_tags on index_products using gin (tags);
create index index_products_created on index_products (tenant_id, created_at desc, product_id);
create index index_products_price on index_products (tenant_id, min_price, product_id);

-- Published pages and posts (status 'published'), scheduled ones included: readers filter
-- published_at <= now() (the row does not change when the time comes). Comments are not indexed.
create table index_content (
    tenant_id         uuid not null references tenants (id) on delete cascade,
    node_id           uuid not null,
    kind              varchar(32) not null,
    title             varchar(255),
    slug              varchar(255),
    excerpt           text,
    body_preview      text,
    status            varchar(32) not null,
    author_id         uuid,
    author_name       varchar(255),
    category_id       uuid,
    category_name     varchar(255),
    category_slug     varchar(255),
    tags              text[] not null default '{}',
    parent_id         uuid,
    reply_count       int not null default 0,
    meta_title        varchar(255),
    meta_description  varchar(500),
    search_vector     tsvector not null,
    created_at        timestamptz not null,
    published_at      timestamptz not null,
    indexed_at        timestamptz not null default now(),
    primary key (tenant_id, node_id)
);
create index index_content_search on index_content using gin (search_vector);
create index index_content_tags on index_content using gin (tags);
create index index_content_published on index_content (tenant_id, kind, published_at desc, node_id);
create index index_content_category on index_content (tenant_id, category_id) where category_id is not null;
create index index_content_author on index_content (tenant_id, author_id) where author_id is not null;

-- What this transaction changed: (kind, id) pairs recorded by row triggers, recomputed once each at commit by
-- a deferred constraint trigger and deleted then, so no row outlives its transaction (unlogged: nothing to
-- keep after a crash). txid keeps concurrent transactions from waiting on each other's keys.
create unlogged table index_pending (
    tenant_id  uuid not null,
    txid       xid8 not null default pg_current_xact_id(),
    kind       varchar(16) not null check (kind in ('product', 'content')),
    id         uuid not null,
    primary key (tenant_id, txid, kind, id)
);

-- The durable queue (IndexConfig realtimeSync = false): one row per id per committing transaction; workers
-- take rows with FOR UPDATE SKIP LOCKED and recompute each id once per batch.
create table index_queue (
    tenant_id  uuid not null references tenants (id) on delete cascade,
    seq        bigint generated always as identity,
    kind       varchar(16) not null check (kind in ('product', 'content')),
    id         uuid not null,
    queued_at  timestamptz not null default now(),
    primary key (tenant_id, seq)
);
