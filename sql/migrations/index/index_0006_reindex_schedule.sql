-- depends: index_0005_bulk_upkeep
-- IndexConfig reindexSchedule: when `rustok maintain` last started a scheduled rebuild of a tenant's index
-- (rustok.index_reindex_scheduled), so an occurrence of the schedule starts one rebuild, not one per run.
create table index_reindex_runs (
    tenant_id   uuid not null references tenants (id) on delete cascade,
    started_at  timestamptz not null default now(),
    schedule    text not null,
    primary key (tenant_id, started_at)
);
