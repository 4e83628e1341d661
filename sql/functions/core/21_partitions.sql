-- Partition upkeep for every table registered in `partitioned_tables` (the outbox by month, orders by quarter):
-- partitions are created ahead, rows that landed in the default partition are moved into their new home,
-- and partitions older than the table's retention setting are dropped. Run on every migrate and by
-- `rustok maintain` (schedule it: hourly is plenty).

create or replace function rustok._partition_name(parent text, period text, lower_bound timestamptz) returns text
language sql immutable parallel safe as $$
    /* e.g. event_outbox_y2026m11, commerce_orders_y2026q4 */
    select parent || '_' || to_char(lower_bound at time zone 'UTC',
                                     case period when 'month' then '"y"YYYY"m"MM' else '"y"YYYY"q"Q' end)
$$;

create or replace function rustok._partition_key_column(parent regclass) returns name
language sql stable as $$
    /* The single column a RANGE-partitioned table is partitioned on. */
    select a.attname from pg_partitioned_table p
    join pg_attribute a on a.attrelid = p.partrelid and a.attnum = p.partattrs[0]
    where p.partrelid = parent
$$;

create or replace function rustok._create_partition(parent text, child text, lower_bound timestamptz,
                                                    upper_bound timestamptz) returns void
language plpgsql volatile as $$
/* Creates one range partition; rows already in the default partition for that range are moved into it. A
   partition of a tenant table gets its row-level security (rustok._secure_table); of another table, none. */
declare
    key name := rustok._partition_key_column(parent::regclass);
    default_part regclass := to_regclass(format('public.%I', parent || '_default'));
begin
    execute format('create table public.%I (like public.%I including defaults including constraints)',
                   child, parent);
    execute format('alter table public.%I owner to %I', child,
                   (select c.relowner::regrole::text from pg_class c where c.oid = parent::regclass));
    if default_part is not null then
        -- forced RLS would hide the waiting rows (no tenant is set here); the lock keeps others out meanwhile
        execute format('alter table %s no force row level security', default_part);
        execute format('with moved as (delete from %s where %I >= $1 and %I < $2 returning *) '
                       'insert into public.%I select * from moved', default_part, key, key, child)
            using lower_bound, upper_bound;
        execute format('alter table %s force row level security', default_part);
    end if;
    execute format('alter table public.%I attach partition public.%I for values from (%L) to (%L)',
                   parent, child, lower_bound, upper_bound);
    if format('public.%I', parent)::regclass in (select * from rustok._tenant_tables()) then
        perform rustok._secure_table(format('public.%I', child)::regclass);
    end if;
end
$$;

create or replace function rustok.maintain_partitions(at timestamptz default now())
returns table (action text, partition_name text)
language plpgsql volatile as $$
/* Creates the current and `premake` future partitions of every registered table and drops those whose
   range ended before now minus the table's retention. Returns what it did. */
declare
    t record;
    step interval;
    period_start timestamptz;
    lower_bound timestamptz;
    child text;
    retention interval;
    part record;
begin
    for t in select * from public.partitioned_tables order by table_name loop
        step := case t.period when 'month' then interval '1 month' else interval '3 months' end;
        period_start := date_trunc(t.period, at, 'UTC');
        for i in 0..t.premake loop
            lower_bound := period_start + step * i;
            child := rustok._partition_name(t.table_name, t.period, lower_bound);
            if to_regclass(format('public.%I', child)) is null then
                perform rustok._create_partition(t.table_name, child, lower_bound, lower_bound + step);
                action := 'created'; partition_name := child;
                return next;
            end if;
        end loop;

        select (s.value #>> '{}')::interval into retention
        from public.platform_settings s where s.key = t.retention_setting;
        continue when retention is null;
        for part in
            select c.relname,
                   substring(pg_get_expr(c.relpartbound, c.oid) from 'TO \(''([^'']+)''\)')::timestamptz as upper_bound
            from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = format('public.%I', t.table_name)::regclass
              and pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
        loop
            if part.upper_bound <= at - retention then
                execute format('drop table public.%I', part.relname);
                action := 'dropped'; partition_name := part.relname;
                return next;
            end if;
        end loop;
    end loop;
end
$$;
