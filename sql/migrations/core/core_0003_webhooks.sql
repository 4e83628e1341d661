-- depends: core_0001_platform
-- Durable event handlers and webhooks: failures a handler gave up on (or is still retrying), the tenant's
-- webhook endpoints, one delivery per (event, webhook) — the idempotency key — and every attempt of each.
-- Row-level security, tenant policies and grants come from rustok._after_migrate(), like every tenant table.

insert into permissions (slug, description) values
    ('webhooks.manage', 'Register, change and remove the tenant''s webhooks and read their deliveries');
insert into role_permissions (role, permission) values
    ('super_admin', 'webhooks.manage'), ('admin', 'webhooks.manage');

-- One row per (handler, event) that failed at least once: kept for inspection. status 'retrying' while the
-- handler still tries, 'failed' once it gave up and moved on, 'recovered' when a later attempt succeeded.
create table event_handler_failures (
    tenant_id        uuid not null references tenants (id) on delete cascade,
    consumer         varchar(128) not null,
    event_id         uuid not null,
    event_type       varchar(64) not null,
    attempts         int not null check (attempts > 0),
    last_error       text not null,
    status           varchar(16) not null check (status in ('retrying', 'failed', 'recovered')),
    first_failed_at  timestamptz not null default now(),
    last_failed_at   timestamptz not null default now(),
    primary key (tenant_id, consumer, event_id)
);
create index event_handler_failures_open on event_handler_failures (tenant_id, consumer, last_failed_at)
    where status <> 'recovered';

create table webhooks (
    tenant_id    uuid not null references tenants (id) on delete cascade,
    id           uuid not null default rustok.gen_id(),
    url          varchar(2048) not null,
    event_types  varchar(64)[] not null default '{}',  -- empty: every event type
    description  varchar(500) not null default '',
    secret       varchar(128) not null,                -- HMAC key; shown once, at creation or rotation
    is_active    boolean not null default true,
    created_by   uuid,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    primary key (tenant_id, id)
);

-- A delivery is one event for one webhook; (tenant_id, event_id, webhook_id) is its idempotency key, so a
-- handler replaying the stream never sends an event twice to the same webhook. 'pending' deliveries are due
-- at next_attempt_at (a claim pushes it forward by a lease, so a crashed worker's claim expires).
create table webhook_deliveries (
    tenant_id        uuid not null references tenants (id) on delete cascade,
    id               uuid not null default rustok.gen_id(),
    webhook_id       uuid not null,
    event_id         uuid not null,
    event_type       varchar(64) not null,
    payload          jsonb not null check (jsonb_typeof(payload) = 'object'),
    status           varchar(16) not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
    attempts         int not null default 0 check (attempts >= 0),
    next_attempt_at  timestamptz not null default now(),
    last_status_code int,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, event_id, webhook_id),
    foreign key (tenant_id, webhook_id) references webhooks (tenant_id, id) on delete cascade
);
create index webhook_deliveries_by_webhook on webhook_deliveries (tenant_id, webhook_id, id);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at, tenant_id) where status = 'pending';

create table webhook_delivery_attempts (
    tenant_id    uuid not null,
    delivery_id  uuid not null,
    attempt      int not null check (attempt > 0),
    started_at   timestamptz not null,
    duration_ms  int not null check (duration_ms >= 0),
    status_code  int,
    error        text,
    outcome      varchar(16) not null check (outcome in ('succeeded', 'retry', 'failed')),
    primary key (tenant_id, delivery_id, attempt),
    foreign key (tenant_id, delivery_id) references webhook_deliveries (tenant_id, id) on delete cascade
);

-- The worker's dispatcher asks which tenants have deliveries due (rustok.webhook_tenants_due, SECURITY
-- DEFINER): the owner reads across tenants for that, as for the outbox. Claiming and sending happen under
-- each tenant's own context.
create policy owner_reads_all on webhook_deliveries for select to rustok_owner using (true);
create policy owner_reads_all on webhooks for select to rustok_owner using (true);
