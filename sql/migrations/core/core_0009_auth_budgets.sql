-- depends: core_0008_session_limits
-- Sign-in and registration budgets (sql/functions/core/22_auth_budgets.sql): a token bucket per client address
-- and per tenant, spent before any password is hashed, so a flood is refused in one statement and leaves the
-- hashing slots to everyone else. Across processes, like the per-account login throttle.
--
-- One row per bucket ('login:client:203.0.113.7', 'register:tenant:<uuid>', ...): the tokens left when it was
-- last spent and when. Not tenant data (a client's bucket spans tenants), so no tenant_id and no policy; no
-- client role may read or write it: only the SECURITY DEFINER functions of 22_auth_budgets.sql do. Unlogged:
-- it is bookkeeping that a crash may lose (every bucket then starts full), and it writes no WAL per attempt.
create unlogged table auth_budgets (
    bucket       text primary key,
    tokens       double precision not null,
    refilled_at  timestamptz not null
);

-- Each budget: up to `burst` attempts at once, refilled at `perMinute`. Delete a row to lift that budget.
insert into platform_settings (key, value) values
    ('auth.login_per_client', '{"burst": 20, "perMinute": 20}'),
    ('auth.login_per_tenant', '{"burst": 600, "perMinute": 600}'),
    ('auth.register_per_client', '{"burst": 5, "perMinute": 2}'),
    ('auth.register_per_tenant', '{"burst": 100, "perMinute": 60}');
