-- depends: commerce_0002_inventory
-- Checkout: regions (currency, countries, tax rate), shipping options, discount codes, carts with their lines,
-- and the stock a started checkout reserves until it expires, is cancelled or becomes an order.

create table commerce_regions (
    tenant_id     uuid not null references tenants (id) on delete cascade,
    id            uuid not null default rustok.gen_id(),
    name          varchar(255) not null check (btrim(name) <> ''),
    currency_code char(3) not null references commerce_currencies (code),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, name)
);

-- A country (ISO 3166-1 alpha-2) belongs to at most one region of a tenant.
create table commerce_region_countries (
    tenant_id     uuid not null,
    country_code  char(2) not null check (country_code ~ '^[A-Z]{2}$'),
    region_id     uuid not null,
    primary key (tenant_id, country_code),
    foreign key (tenant_id, region_id) references commerce_regions (tenant_id, id) on delete cascade
);
create index commerce_region_countries_region on commerce_region_countries (tenant_id, region_id);

-- The region's tax rate in basis points (2000 = 20.00%), charged on the discounted subtotal.
create table commerce_tax_rates (
    tenant_id     uuid not null,
    id            uuid not null default rustok.gen_id(),
    region_id     uuid not null,
    name          varchar(255) not null check (btrim(name) <> ''),
    code          varchar(64),
    rate          int not null check (rate between 0 and 100000),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, region_id),
    foreign key (tenant_id, region_id) references commerce_regions (tenant_id, id) on delete cascade
);

-- A shipping option of a region, priced in the region's currency.
create table commerce_shipping_options (
    tenant_id     uuid not null,
    id            uuid not null default rustok.gen_id(),
    region_id     uuid not null,
    name          varchar(255) not null check (btrim(name) <> ''),
    amount        bigint not null check (amount >= 0),
    is_active     boolean not null default true,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, region_id, name),
    unique (tenant_id, region_id, id),
    foreign key (tenant_id, region_id) references commerce_regions (tenant_id, id) on delete cascade
);

-- Discount codes (upper case): a percentage (1..100) of the discountable subtotal, or a fixed amount in one
-- currency; valid within [starts_at, ends_at), at most usage_limit orders (counted when an order is placed).
create table commerce_discounts (
    tenant_id     uuid not null references tenants (id) on delete cascade,
    id            uuid not null default rustok.gen_id(),
    code          varchar(64) not null check (code ~ '^[A-Z0-9][A-Z0-9_-]*$'),
    kind          varchar(16) not null check (kind in ('percentage', 'fixed')),
    value         bigint not null check (value > 0),
    currency_code char(3) references commerce_currencies (code),
    starts_at     timestamptz,
    ends_at       timestamptz,
    usage_limit   int check (usage_limit > 0),
    usage_count   int not null default 0 check (usage_count >= 0),
    is_active     boolean not null default true,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, code),
    check ((kind = 'percentage' and value <= 100 and currency_code is null)
        or (kind = 'fixed' and currency_code is not null)),
    check (usage_limit is null or usage_count <= usage_limit),
    check (starts_at is null or ends_at is null or ends_at > starts_at)
);

-- Carts: a guest's (customer_id null: whoever holds the id) or a customer's (only they, and order managers).
create table commerce_carts (
    tenant_id          uuid not null references tenants (id) on delete cascade,
    id                 uuid not null default rustok.gen_id(),
    customer_id        uuid,
    email              varchar(255) check (email = lower(email) and email ~ '^[^@\s]+@[^@\s]+$'),
    currency_code      char(3) not null references commerce_currencies (code),
    region_id          uuid,
    shipping_option_id uuid,
    discount_id        uuid,
    status             varchar(16) not null default 'active' check (status in ('active', 'completed')),
    order_id           uuid,
    completed_at       timestamptz,
    metadata           jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    primary key (tenant_id, id),
    check ((status = 'completed') = (order_id is not null)),
    check (shipping_option_id is null or region_id is not null),
    foreign key (tenant_id, customer_id) references users (tenant_id, id) on delete set null (customer_id),
    foreign key (tenant_id, region_id) references commerce_regions (tenant_id, id) on delete set null (region_id),
    foreign key (tenant_id, region_id, shipping_option_id)
        references commerce_shipping_options (tenant_id, region_id, id) on delete set null (shipping_option_id),
    foreign key (tenant_id, discount_id) references commerce_discounts (tenant_id, id)
        on delete set null (discount_id)
);
create index commerce_carts_customer on commerce_carts (tenant_id, customer_id);
create index commerce_carts_region on commerce_carts (tenant_id, region_id, shipping_option_id);
create index commerce_carts_discount on commerce_carts (tenant_id, discount_id);

create table commerce_cart_lines (
    tenant_id     uuid not null,
    id            uuid not null default rustok.gen_id(),
    cart_id       uuid not null,
    variant_id    uuid not null,
    quantity      int not null check (quantity between 1 and 100000),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, cart_id, variant_id),
    foreign key (tenant_id, cart_id) references commerce_carts (tenant_id, id) on delete cascade,
    foreign key (tenant_id, variant_id) references commerce_variants (tenant_id, id) on delete cascade
);
create index commerce_cart_lines_variant on commerce_cart_lines (tenant_id, variant_id);

-- Stock a started checkout holds: counted in commerce_inventory_levels.reserved_quantity until it expires
-- (released by the next checkout of the variant or rustok.release_expired_reservations()), is cancelled,
-- or is taken by the order.
create table commerce_reservations (
    tenant_id     uuid not null,
    id            uuid not null default rustok.gen_id(),
    cart_id       uuid not null,
    variant_id    uuid not null,
    location_id   uuid not null,
    quantity      int not null check (quantity > 0),
    expires_at    timestamptz not null,
    created_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, cart_id) references commerce_carts (tenant_id, id) on delete cascade,
    foreign key (tenant_id, variant_id, location_id)
        references commerce_inventory_levels (tenant_id, variant_id, location_id) on delete cascade
);
create index commerce_reservations_cart on commerce_reservations (tenant_id, cart_id);
create index commerce_reservations_variant on commerce_reservations (tenant_id, variant_id, location_id, expires_at);
