-- Events: the outbox. Every event is a row written in the caller's transaction plus at most one NOTIFY per
-- transaction as a wake-up (each notifying commit takes a cluster-wide lock, so one per row would cap writes).
-- Consumers read in (txid, position) order and only below the oldest running transaction's id, so an event
-- whose transaction commits late is never skipped.

create or replace function rustok._publish_event_for(tenant uuid, type text, data jsonb) returns uuid
language plpgsql volatile as $$
/* publish_event for a given tenant: for triggers, which know the row's tenant even when an operator in psql
   has set none. */
declare
    event_id uuid := rustok.gen_id();
begin
    if _publish_event_for.type is null or _publish_event_for.type !~ '^[A-Z][A-Za-z0-9]{0,63}$' then
        perform rustok.raise('VALIDATION_FAILED', 'event type must be PascalCase',
                             jsonb_build_object('field', 'type'));
    end if;
    if data is not null and jsonb_typeof(data) <> 'object' then
        perform rustok.raise('VALIDATION_FAILED', 'event data must be a JSON object',
                             jsonb_build_object('field', 'data'));
    end if;
    insert into public.event_outbox (tenant_id, id, actor_id, type, data)
    values (tenant, event_id, rustok.current_user_id(), _publish_event_for.type, coalesce(data, '{}'));
    if current_setting('rustok.notified', true) is distinct from 'yes' then
        perform pg_notify('rustok_events', '');
        perform set_config('rustok.notified', 'yes', true);
    end if;
    return event_id;
end
$$;

create or replace function rustok.publish_event(type text, data jsonb default '{}') returns uuid
language sql volatile as $$
    /* Writes an event for the current tenant and user; returns its id. Raises TENANT_REQUIRED without a
       tenant, VALIDATION_FAILED for a type that is not PascalCase or data that is not a JSON object. */
    select rustok._publish_event_for(rustok.require_tenant(), type, data)
$$;

create or replace function rustok.read_events(
    after_txid xid8, after_position bigint, max_count int default 100, only_tenant uuid default null)
returns table (txid xid8, "position" bigint, id uuid, tenant_id uuid, actor_id uuid, type text, data jsonb,
               occurred_at timestamptz)
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* Committed events after a cursor, across tenants (the relay fans them out) or for one tenant, oldest
       first. Events of transactions still running, or younger than the oldest running one, wait: that is
       what keeps a late commit from being skipped. At most 10,000 rows per call. */
    select e.txid, e.position, e.id, e.tenant_id, e.actor_id, e.type::text, e.data, e.occurred_at
    from public.event_outbox e
    where (e.txid, e.position) > (after_txid, after_position)
      and e.txid < pg_snapshot_xmin(pg_current_snapshot())
      and (only_tenant is null or e.tenant_id = only_tenant)
    order by e.txid, e.position
    limit least(greatest(coalesce(max_count, 100), 1), 10000)
$$;

create or replace function rustok.consumer_position(consumer text, out last_txid xid8, out last_position bigint)
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* Where a durable consumer stopped; (0, 0) for a new one. */
    select coalesce(max(c.last_txid), '0'::xid8), coalesce(max(c.last_position), 0)
    from public.event_consumers c where c.name = consumer
$$;

create or replace function rustok.ack_events(consumer text, txid xid8, "position" bigint) returns void
language sql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
    /* Moves a durable consumer's position forward (never back). */
    insert into public.event_consumers as c (name, last_txid, last_position)
    values (consumer, txid, ack_events.position)
    on conflict (name) do update
        set last_txid = excluded.last_txid, last_position = excluded.last_position, updated_at = now()
        where (c.last_txid, c.last_position) < (excluded.last_txid, excluded.last_position)
$$;
