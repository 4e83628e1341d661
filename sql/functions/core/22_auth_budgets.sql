-- Sign-in and registration budgets: token buckets per client address and per tenant (table auth_budgets),
-- spent before the API hashes a password, so that a flood from one address, or at one tenant, is refused in
-- one statement and the hashing slots stay free for everyone else (docs/auth.md, "Budgets"). Across processes,
-- like the per-account throttle of begin_login. The client address comes from the API (its rule for which
-- address, docs/deploy.md); psql callers pass none and spend the tenant's budget only.

create or replace function rustok._auth_budget(setting text, out burst double precision,
                                               out per_second double precision)
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* One budget of platform_settings ('auth.login_per_client', …: {"burst": n, "perMinute": r}); null when
       the row is missing (no budget). SECURITY DEFINER: clients cannot read platform_settings. Raises
       invalid_text_representation for a value that is not numbers. */
    select greatest((s.value ->> 'burst')::double precision, 1),
           greatest((s.value ->> 'perMinute')::double precision, 0.001) / 60
    from public.platform_settings s where s.key = setting
$$;

create or replace function rustok._auth_budget_take(bucket text, burst double precision, per_second double precision)
returns double precision
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
/* Takes one token from a bucket (created full), under its row lock: returns 0 when taken, else the seconds
   until the next token (nothing taken). SECURITY DEFINER: no client role holds a privilege on auth_budgets.
   Raises nothing of its own. */
declare
    left_over double precision;
begin
    insert into public.auth_budgets as b (bucket, tokens, refilled_at) values (bucket, burst, now())
    on conflict on constraint auth_budgets_pkey do nothing;
    select least(burst, b.tokens + extract(epoch from now() - b.refilled_at) * per_second) into left_over
    from public.auth_budgets b where b.bucket = _auth_budget_take.bucket
    for update;
    if left_over < 1 then
        return (1 - left_over) / per_second;
    end if;
    update public.auth_budgets b set tokens = left_over - 1, refilled_at = now()
    where b.bucket = _auth_budget_take.bucket;
    return 0;
end
$$;

create or replace function rustok.spend_auth_budget(action text, client text default null) returns void
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
/* Spends one attempt of `action` ('login' or 'register') from the budgets of the current tenant and of the
   client address `client` (the API's text for it: an IPv4 address, or an IPv6 /64; null: the tenant's budget
   only), before any password is hashed. Budgets are platform_settings 'auth.<action>_per_client' and
   'auth.<action>_per_tenant'. The tenant's bucket is taken first, always in that order (no deadlock); a
   refusal takes nothing from either. Raises RATE_LIMITED with details {reason: "client" | "tenant",
   retryAfter: seconds}, VALIDATION_FAILED for another action (reason not_allowed) or a client text longer
   than 64 characters (too_long), TENANT_REQUIRED without a tenant. SECURITY DEFINER for the buckets table;
   the tenant is the caller's. */
declare
    tenant uuid := rustok.require_tenant();
    spent text := rustok._input_choice(to_jsonb(action), 'action', array['login', 'register'], required => true);
    address text := rustok._input_text(to_jsonb(client), 'client', 64);
    budget record;
    wait double precision;
begin
    for budget in
        select b.reason, b.bucket, s.burst, s.per_second
        from (values ('tenant', format('%s:tenant:%s', spent, tenant), 1),
                     ('client', format('%s:client:%s', spent, address), 2)) b (reason, bucket, n)
        cross join lateral rustok._auth_budget(format('auth.%s_per_%s', spent, b.reason)) s
        where s.burst is not null and (b.reason = 'tenant' or address is not null)
        order by b.n
    loop
        wait := rustok._auth_budget_take(budget.bucket, budget.burst, budget.per_second);
        if wait > 0 then
            perform rustok.raise('RATE_LIMITED', 'too many attempts; wait and retry', jsonb_build_object(
                'reason', budget.reason, 'retryAfter', greatest(1, ceil(wait))::int));
        end if;
    end loop;
end
$$;

create or replace function rustok._purge_auth_budgets() returns int
language sql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
    /* Housekeeping (rustok.purge_auth_state): deletes buckets not spent for a day; a bucket starts full when
       it is needed again. Returns how many it deleted. */
    with gone as (delete from public.auth_budgets b where b.refilled_at < now() - interval '1 day' returning 1)
    select count(*)::int from gone
$$;
