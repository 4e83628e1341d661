-- Core schema: tenants, users, roles and permissions, module toggles, auth state, the event outbox and the
-- registry of partitioned tables. Frozen once landed: change it with a new migration, never by editing.
-- Row-level security, policies and grants for every table with tenant_id are applied after each migrate by
-- rustok._after_migrate() (sql/functions/core/90_security.sql), so no table can be forgotten.

create table tenants (
    id          uuid primary key default rustok.gen_id(),
    name        varchar(255) not null check (btrim(name) <> ''),
    slug        varchar(64) not null unique check (slug ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'),
    settings    jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
    is_active   boolean not null default true,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

-- Reference data shared by all tenants (a distributed deployment keeps these as reference tables).
create table roles (
    slug        varchar(32) primary key,
    name        varchar(64) not null,
    rank        int not null unique
);

create table permissions (
    slug        varchar(64) primary key,
    description text not null
);

create table role_permissions (
    role        varchar(32) not null references roles (slug) on delete cascade,
    permission  varchar(64) not null references permissions (slug) on delete cascade,
    primary key (role, permission)
);

insert into roles (slug, name, rank) values
    ('super_admin', 'Super administrator', 40),
    ('admin', 'Administrator', 30),
    ('manager', 'Manager', 20),
    ('customer', 'Customer', 10);

insert into permissions (slug, description) values
    ('tenants.manage', 'Create, change and switch off tenants'),
    ('modules.manage', 'Enable and disable modules for the tenant'),
    ('users.read', 'List the tenant''s users'),
    ('users.manage', 'Change users and their roles'),
    ('events.read', 'Read the tenant''s event stream'),
    ('settings.manage', 'Change the tenant''s name and settings');

insert into role_permissions (role, permission)
select r, p from (values
    ('super_admin', 'tenants.manage'), ('super_admin', 'modules.manage'), ('super_admin', 'users.read'),
    ('super_admin', 'users.manage'), ('super_admin', 'events.read'),
    ('super_admin', 'settings.manage'), ('admin', 'settings.manage'),
    ('admin', 'modules.manage'), ('admin', 'users.read'), ('admin', 'users.manage'), ('admin', 'events.read'),
    ('manager', 'users.read'), ('manager', 'events.read')
) as grants (r, p);

create table users (
    tenant_id     uuid not null references tenants (id) on delete cascade,
    id            uuid not null default rustok.gen_id(),
    email         varchar(255) not null check (email = lower(email) and email ~ '^[^@\s]+@[^@\s]+$'),
    password_hash varchar(255) not null,
    role          varchar(32) not null default 'customer' references roles (slug),
    status        varchar(32) not null default 'active' check (status in ('active', 'disabled')),
    display_name  varchar(255),
    metadata      jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, email)
);

-- Installed modules: written by `rustok migrate` from the Python registry (configuration), read by SQL.
create table modules (
    slug          varchar(64) primary key check (slug ~ '^[a-z][a-z0-9_]*$'),
    name          varchar(255) not null,
    description   text not null default '',
    version       varchar(32) not null,
    dependencies  varchar(64)[] not null default '{}',
    installed_at  timestamptz not null default now()
);

create table tenant_modules (
    tenant_id     uuid not null references tenants (id) on delete cascade,
    id            uuid not null default rustok.gen_id(),
    module_slug   varchar(64) not null references modules (slug) on delete cascade,
    enabled       boolean not null default true,
    settings      jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, module_slug)
);

-- Auth state (used by the API): refresh tokens kept hashed, grouped in rotation families.
create table auth_refresh_tokens (
    tenant_id     uuid not null,
    id            uuid not null default rustok.gen_id(),
    user_id       uuid not null,
    family_id     uuid not null,
    token_hash    bytea not null,
    expires_at    timestamptz not null,
    used_at       timestamptz,
    revoked_at    timestamptz,
    created_at    timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, token_hash),
    foreign key (tenant_id, user_id) references users (tenant_id, id) on delete cascade
);
create index auth_refresh_tokens_family on auth_refresh_tokens (tenant_id, family_id);

-- Login throttling per account, kept in the database so it holds across API processes.
create table auth_login_attempts (
    tenant_id       uuid not null references tenants (id) on delete cascade,
    email           varchar(255) not null,
    failures        int not null default 0 check (failures >= 0),
    last_failed_at  timestamptz,
    blocked_until   timestamptz,
    primary key (tenant_id, email)
);

-- Platform settings (global key/value), e.g. the event retention.
create table platform_settings (
    key         varchar(64) primary key,
    value       jsonb not null,
    updated_at  timestamptz not null default now()
);
insert into platform_settings (key, value) values ('events.retention', '"6 months"');

-- Partitioned tables whose partitions rustok.maintain_partitions() creates ahead and drops after retention.
create table partitioned_tables (
    table_name        varchar(128) primary key,
    period            varchar(16) not null check (period in ('month', 'quarter')),
    premake           int not null default 3 check (premake between 1 and 24),
    retention_setting varchar(64) references platform_settings (key)
);

-- The event outbox: one row per domain event, written in the caller's transaction.
create sequence event_outbox_position_seq as bigint;
create table event_outbox (
    tenant_id    uuid not null references tenants (id) on delete cascade,
    position     bigint not null default nextval('event_outbox_position_seq'),
    txid         xid8 not null default pg_current_xact_id(),
    id           uuid not null default rustok.gen_id(),
    actor_id     uuid,
    type         varchar(64) not null check (type ~ '^[A-Z][A-Za-z0-9]*$'),
    data         jsonb not null default '{}' check (jsonb_typeof(data) = 'object'),
    occurred_at  timestamptz not null default now(),
    primary key (tenant_id, occurred_at, position)
) partition by range (occurred_at);
alter sequence event_outbox_position_seq owned by event_outbox.position;
create index event_outbox_delivery on event_outbox (txid, position);
create table event_outbox_default partition of event_outbox default;
-- SECURITY DEFINER functions run as the owner, which forced RLS confines to one tenant like anyone else;
-- the relay's read_events must see every tenant's events, hence this read-only policy beside the tenant one.
create policy owner_reads_all on event_outbox for select to rustok_owner using (true);
insert into partitioned_tables (table_name, period, premake, retention_setting)
values ('event_outbox', 'month', 3, 'events.retention');

-- Durable consumers of the outbox: each keeps its own position (transaction id, then sequence position).
create table event_consumers (
    name           varchar(128) primary key,
    last_txid      xid8 not null default '0',
    last_position  bigint not null default 0,
    updated_at     timestamptz not null default now()
);
