-- The application role rustok_app: the API's sessions, the worker's, and psql users' (`rustok db psql`,
-- docs/psql.md). The API never leaves a transaction open between statements, but a psql session can: idle in a
-- transaction that holds locks (a LOCK TABLE, rows it updated), it holds up every tenant's writes that need
-- them. Such a session ends after platform_settings 'app.idle_in_transaction_timeout': a role setting, and the
-- watchdog for sessions that SET it away.

create or replace function rustok._app_idle_in_transaction_timeout() returns interval
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* platform_settings 'app.idle_in_transaction_timeout'; null when the row is missing (no limit). SECURITY
       DEFINER: clients cannot read platform_settings, and the watchdog runs as the application role. Raises
       invalid_datetime_format for a value that is not an interval. */
    select (s.value #>> '{}')::interval from public.platform_settings s where s.key = 'app.idle_in_transaction_timeout'
$$;

create or replace function rustok._app_role_settings() returns table (name text, value text)
language sql stable as $$
    /* The settings rustok_app's sessions start with, in every database (rustok._secure_client_roles applies
       them role-wide): the idle-in-transaction timeout in milliseconds, null when there is none (the
       setting is reset). Other role settings an operator gave rustok_app are left alone. Raises nothing. */
    select 'idle_in_transaction_session_timeout',
           (extract(epoch from rustok._app_idle_in_transaction_timeout()) * 1000)::bigint::text
$$;

create or replace function rustok.enforce_app_limits() returns table (pid int, action text, reason text)
language plpgsql volatile as $$
/* The watchdog's round for rustok_app (`rustok worker`, every second, beside enforce_analytics_limits): a
   session may SET its idle_in_transaction_session_timeout away, so a session of rustok_app in this database
   idle in a transaction for longer than app.idle_in_transaction_timeout is terminated here too (never the
   caller's own). Returns what it did. It acts only for a caller with the privileges of rustok_app (or
   superuser); for anyone else it returns nothing. Raises nothing. */
declare
    limit_after interval := rustok._app_idle_in_transaction_timeout();
    s record;
begin
    if limit_after is null or not pg_has_role('rustok_app', 'USAGE') then
        return;
    end if;
    for s in
        select a.pid from pg_stat_activity a
        where a.usesysid = 'rustok_app'::regrole and a.datname = current_database() and a.pid <> pg_backend_pid()
          and a.state like 'idle in transaction%' and clock_timestamp() - a.state_change > limit_after
    loop
        continue when not pg_terminate_backend(s.pid);
        pid := s.pid;
        action := 'terminated';
        reason := format('idle in a transaction for longer than %s', limit_after);
        return next;
    end loop;
end
$$;
