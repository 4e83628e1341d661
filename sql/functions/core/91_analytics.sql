-- The analysts' role rustok_analytics (`rustok db url --analytics`): its sessions start read-only with a
-- statement and an idle-in-transaction timeout and a temp file limit, in every database of the server (role
-- settings from platform_settings 'analytics.*'), it holds at most analytics.connection_limit connections, and
-- the watchdog holds those limits for sessions that SET them away, wherever they are connected.

create or replace function rustok._analytics_limits(
    out statement_timeout interval, out idle_in_transaction_timeout interval, out temp_file_limit text,
    out connection_limit int)
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* The analytics role's limits: platform_settings 'analytics.statement_timeout',
       'analytics.idle_in_transaction_timeout' (intervals), 'analytics.temp_file_limit' (a size such as
       "10GB") and 'analytics.connection_limit' (connections at once); null where the row is missing (no
       limit). SECURITY DEFINER: clients cannot read platform_settings, and the watchdog runs as the
       application role. Raises invalid_datetime_format for a value that is not an interval. */
    select (select (s.value #>> '{}')::interval from public.platform_settings s
            where s.key = 'analytics.statement_timeout'),
           (select (s.value #>> '{}')::interval from public.platform_settings s
            where s.key = 'analytics.idle_in_transaction_timeout'),
           (select s.value #>> '{}' from public.platform_settings s where s.key = 'analytics.temp_file_limit'),
           (select (s.value #>> '{}')::int from public.platform_settings s where s.key = 'analytics.connection_limit')
$$;

create or replace function rustok._analytics_role_settings() returns table (name text, value text)
language sql stable as $$
    /* The settings rustok_analytics's sessions start with, in every database (rustok._secure_client_roles
       applies them role-wide): read-only transactions and the limits of rustok._analytics_limits(), timeouts
       in milliseconds; value null where there is no limit (the setting is reset). A session may SET all but
       temp_file_limit; rustok.enforce_analytics_limits() holds the rest. Raises nothing. */
    select v.name, v.value
    from rustok._analytics_limits() l
    cross join lateral (values
        ('default_transaction_read_only', 'on'),
        ('statement_timeout', (extract(epoch from l.statement_timeout) * 1000)::bigint::text),
        ('idle_in_transaction_session_timeout', (extract(epoch from l.idle_in_transaction_timeout) * 1000)::bigint::text),
        ('temp_file_limit', l.temp_file_limit)) v (name, value)
$$;

create or replace function rustok.enforce_analytics_limits() returns table (pid int, action text, reason text)
language plpgsql volatile as $$
/* The analytics watchdog (`rustok worker` runs it every second, `rustok maintain` once): the role settings
   are only defaults a session can SET away, so the limits are held here too, for every session of
   rustok_analytics on the server, in any database (the maintenance database `postgres` too, where a
   DATABASE_URL server may still let analysts connect). One that makes another session wait for a lock (its
   reads hold ACCESS SHARE, which `rustok migrate` waits for, and tenant writes queue behind migrate), holds
   a transaction id (analysts write nothing anywhere: a temporary table takes one) or holds an advisory lock
   (in this database only where a migrating role that is not superuser could not close the catalog,
   rustok._close_catalog_functions) is terminated at once; one idle in a transaction past
   analytics.idle_in_transaction_timeout is terminated; a statement running past analytics.statement_timeout
   is cancelled. Returns what it did. It acts only for a caller with the privileges of rustok_analytics
   (rustok_app has them, and nothing more over other sessions) or superuser; for anyone else it returns
   nothing. Raises nothing. */
declare
    limits record := rustok._analytics_limits();
    analysts int[] := array(select a.pid from pg_stat_activity a
                            where a.usesysid = 'rustok_analytics'::regrole);
    s record;
begin
    if cardinality(analysts) = 0 or not pg_has_role('rustok_analytics', 'USAGE') then
        return;  -- the usual case (no analyst): pg_locks is not read
    end if;
    for s in
        select a.pid,
               case
                   when a.backend_xid is not null then 'holds a transaction id'
                   when a.pid in (select l.pid from pg_locks l where l.locktype = 'advisory' and l.pid = any (analysts))
                       then 'holds an advisory lock'
                   when a.pid in (select b.pid from pg_locks w cross join unnest(pg_blocking_pids(w.pid)) b (pid)
                                  where not w.granted)  -- pg_locks: pg_stat_activity hides other roles' waits
                       then 'makes another session wait for a lock'
                   when a.state like 'idle in transaction%'
                        and clock_timestamp() - a.state_change > limits.idle_in_transaction_timeout
                       then format('idle in a transaction for longer than %s', limits.idle_in_transaction_timeout)
                   when a.state = 'active' and clock_timestamp() - a.query_start > limits.statement_timeout
                       then format('running a statement for longer than %s', limits.statement_timeout)
               end as reason
        from pg_stat_activity a
        where a.pid = any (analysts)
    loop
        continue when s.reason is null;
        pid := s.pid;
        reason := s.reason;
        if s.reason like 'running a statement%' then
            action := 'cancelled';
            continue when not pg_cancel_backend(s.pid);
        else
            action := 'terminated';
            continue when not pg_terminate_backend(s.pid);
        end if;
        return next;
    end loop;
end
$$;
