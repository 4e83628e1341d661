-- depends: commerce_0003_checkout
-- Orders and their lines, partitioned by RANGE(created_at) per quarter (partitions made ahead by
-- rustok.maintain_partitions(), a default partition for the rest), and the per-tenant order number counter.
--
-- An order's created_at is the time in its id (a ULID): rustok._commerce_id_time(id), a CHECK below. A lookup
-- by id therefore names the one partition that can hold it. Lines carry their order's created_at.
--
-- There is no foreign key from lines to orders: the maintenance function moves rows out of the default
-- partition by deleting and re-inserting them, and PostgreSQL checks a foreign key to a partitioned table
-- against the partition the row left (tried on 18: the move fails, even with the key deferred). Lines are
-- written only by rustok.place_order(), in the same statement as their order, and go with the tenant.

-- One row per tenant, updated in the order's transaction: display ids never repeat and have no gaps from
-- rolled-back orders (a sequence would have both problems and is global).
create table commerce_order_counters (
    tenant_id        uuid primary key references tenants (id) on delete cascade,
    last_display_id  bigint not null default 0 check (last_display_id >= 0)
);

create table commerce_orders (
    tenant_id          uuid not null references tenants (id) on delete cascade,
    id                 uuid not null,
    created_at         timestamptz not null,
    display_id         bigint not null check (display_id > 0),
    customer_id        uuid,
    cart_id            uuid,
    status             varchar(32) not null default 'pending'
                       check (status in ('pending', 'paid', 'fulfilled', 'completed', 'canceled', 'refunded')),
    email              varchar(255) not null,
    currency_code      char(3) not null references commerce_currencies (code),
    subtotal           bigint not null check (subtotal >= 0),
    discount_total     bigint not null default 0 check (discount_total >= 0 and discount_total <= subtotal),
    tax_total          bigint not null default 0 check (tax_total >= 0),
    shipping_total     bigint not null default 0 check (shipping_total >= 0),
    total              bigint not null,
    discount_code      varchar(64),
    region_id          uuid,
    shipping_option    jsonb,
    shipping_address   jsonb check (jsonb_typeof(shipping_address) = 'object'),
    billing_address    jsonb check (jsonb_typeof(billing_address) = 'object'),
    metadata           jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
    updated_at         timestamptz not null default now(),
    primary key (tenant_id, id, created_at),
    check (created_at = rustok._commerce_id_time(id)),
    check (total = subtotal - discount_total + tax_total + shipping_total),
    foreign key (tenant_id, customer_id) references users (tenant_id, id) on delete set null (customer_id)
) partition by range (created_at);
create index commerce_orders_display_id on commerce_orders (tenant_id, display_id);
create index commerce_orders_customer on commerce_orders (tenant_id, customer_id, id);
create table commerce_orders_default partition of commerce_orders default;

-- Snapshots: titles, SKU and unit price as they were when the order was placed; allocations record the
-- stock locations the quantity was taken from ([{"locationId": …, "quantity": n}]) so a cancel can return it.
create table commerce_order_lines (
    tenant_id      uuid not null references tenants (id) on delete cascade,
    order_id       uuid not null,
    created_at     timestamptz not null,
    id             uuid not null default rustok.gen_id(),
    position       int not null default 0,
    variant_id     uuid,
    product_id     uuid,
    title          varchar(255) not null,
    variant_title  varchar(255) not null,
    sku            varchar(64),
    quantity       int not null check (quantity > 0),
    unit_price     bigint not null check (unit_price >= 0),
    subtotal       bigint not null,
    allocations    jsonb not null default '[]' check (jsonb_typeof(allocations) = 'array'),
    primary key (tenant_id, order_id, created_at, id),
    check (subtotal = unit_price * quantity)
) partition by range (created_at);
create table commerce_order_lines_default partition of commerce_order_lines default;

insert into partitioned_tables (table_name, period, premake) values
    ('commerce_orders', 'quarter', 4),
    ('commerce_order_lines', 'quarter', 4);
