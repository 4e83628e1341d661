-- IndexConfig reindexSchedule: a cron expression (five fields, UTC) checked by `rustok maintain` (hourly) in
-- every tenant with the index module enabled; when an occurrence has passed since the last scheduled rebuild
-- it emits ReindexRequested for products and content, which the durable handler `index-reindex`
-- (`rustok worker`) carries out in batches, online.

create or replace function rustok._cron_field(field text, lo int, hi int, name text) returns int[]
language plpgsql stable as $$
/* The values one cron field allows, sorted: comma-separated parts, each `*`, `n`, `a-b`, optionally followed
   by a step `/s` (`8-18/2`; `5/10` = 5 to hi by 10; `*` with `/15` = every 15th). Raises VALIDATION_FAILED
   (field reindexSchedule, part `name`) for anything else or a value outside lo..hi. */
declare
    part text;
    m text[];
    a int;
    b int;
    step int;
    result int[] := '{}';
begin
    foreach part in array string_to_array(field, ',') loop
        m := regexp_match(part, '^(\*|(\d+)(-(\d+))?)(/(\d+))?$');
        if m is null then
            perform rustok._input_invalid('reindexSchedule', 'format', 'a cron field is malformed',
                                          jsonb_build_object('part', name, 'value', part));
        end if;
        a := case when m[1] = '*' then lo else m[2]::int end;
        b := case when m[1] = '*' or (m[4] is null and m[6] is not null) then hi else coalesce(m[4]::int, a) end;
        step := coalesce(m[6]::int, 1);
        if a < lo or b > hi or a > b or step < 1 then
            perform rustok._input_invalid('reindexSchedule', 'out_of_range', 'a cron value is out of range',
                                          jsonb_build_object('part', name, 'value', part, 'min', lo, 'max', hi));
        end if;
        result := result || array(select generate_series(a, b, step));
    end loop;
    return array(select distinct x from unnest(result) x order by x);
end
$$;

create or replace function rustok._cron_due(schedule text, since timestamptz, until timestamptz) returns boolean
language plpgsql stable as $$
/* Whether the cron expression `schedule` (minute hour day-of-month month day-of-week, UTC; day of week 0-7,
   0 and 7 Sunday; when both day fields are restricted a day matching either counts, as in cron) has an
   occurrence in (since, until]. Looks back at most 8 days. Raises VALIDATION_FAILED for a malformed one. */
declare
    f text[] := regexp_split_to_array(btrim(coalesce(schedule, '')), '\s+');
    minutes int[];
    hours int[];
    days int[];
    months int[];
    weekdays int[];
begin
    if cardinality(f) <> 5 then
        perform rustok._input_invalid('reindexSchedule', 'format', 'five cron fields are needed');
    end if;
    minutes := rustok._cron_field(f[1], 0, 59, 'minute');
    hours := rustok._cron_field(f[2], 0, 23, 'hour');
    days := rustok._cron_field(f[3], 1, 31, 'day of month');
    months := rustok._cron_field(f[4], 1, 12, 'month');
    weekdays := array(select distinct x % 7 from unnest(rustok._cron_field(f[5], 0, 7, 'day of week')) x);
    return exists (
        select 1
        from generate_series(date_trunc('minute', greatest(since, until - interval '8 days') at time zone 'UTC')
                                 + interval '1 minute',
                             until at time zone 'UTC', interval '1 minute') t (at)
        where extract(minute from t.at)::int = any (minutes) and extract(hour from t.at)::int = any (hours)
          and extract(month from t.at)::int = any (months)
          and case when f[3] <> '*' and f[5] <> '*'
                   then extract(day from t.at)::int = any (days) or extract(dow from t.at)::int = any (weekdays)
                   else extract(day from t.at)::int = any (days) and extract(dow from t.at)::int = any (weekdays) end);
end
$$;

create or replace function rustok.index_reindex_scheduled() returns int
language plpgsql volatile as $$
/* Maintenance (`rustok maintain`, per tenant with the index module): when the current tenant's IndexConfig
   reindexSchedule has an occurrence since the last scheduled rebuild (the first time: within the last hour),
   records the run and requests a rebuild of products and content (ReindexRequested, carried out by the
   `index-reindex` handler of `rustok worker`). Returns 1 when it started one, 0 otherwise; a malformed
   schedule is reported as a WARNING and skipped (maintenance goes on for the other tenants). Outside the
   module switch: `rustok maintain` runs it only where the index module is enabled. */
declare
    tenant uuid := rustok.require_tenant();
    schedule text := nullif(btrim(rustok.index_config(tenant) ->> 'reindexSchedule'), '');
    last timestamptz;
begin
    if schedule is null then
        return 0;
    end if;
    select max(r.started_at) into last from public.index_reindex_runs r where r.tenant_id = tenant;
    begin
        if not rustok._cron_due(schedule, coalesce(last, now() - interval '1 hour'), now()) then
            return 0;
        end if;
    exception when sqlstate 'RK002' then
        raise warning 'index: tenant %: reindexSchedule % is not a cron expression (minute hour day month weekday)',
            tenant, quote_literal(schedule);
        return 0;
    end;
    insert into public.index_reindex_runs (tenant_id, started_at, schedule) values (tenant, now(), schedule);
    perform rustok.request_reindex('products');
    perform rustok.request_reindex('content');
    return 1;
end
$$;
