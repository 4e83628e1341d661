-- depends: commerce_0001_catalog
-- Inventory: stock locations and stock per variant per location. available = stocked - reserved; checkouts
-- reserve (commerce_0003) and orders take stock under row locks taken in (variant, location) order.

create table commerce_stock_locations (
    tenant_id     uuid not null references tenants (id) on delete cascade,
    id            uuid not null default rustok.gen_id(),
    name          varchar(255) not null check (btrim(name) <> ''),
    handle        varchar(255) not null check (handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, handle)
);

-- stocked_quantity goes below reserved_quantity (or zero) only for variants that allow backorders.
create table commerce_inventory_levels (
    tenant_id          uuid not null,
    variant_id         uuid not null,
    location_id        uuid not null,
    stocked_quantity   int not null default 0,
    reserved_quantity  int not null default 0 check (reserved_quantity >= 0),
    updated_at         timestamptz not null default now(),
    primary key (tenant_id, variant_id, location_id),
    foreign key (tenant_id, variant_id) references commerce_variants (tenant_id, id) on delete cascade,
    foreign key (tenant_id, location_id) references commerce_stock_locations (tenant_id, id) on delete cascade
);
create index commerce_inventory_levels_location on commerce_inventory_levels (tenant_id, location_id);
