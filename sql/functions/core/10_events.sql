-- Events: the outbox, in commit order. Every event is a row written in the caller's transaction. As that
-- transaction commits, a deferred trigger (sql/triggers/core/event_outbox.sql) gives it the next number of
-- event_commit_seq in event_commits, under a lock that only event-writing commits take and that is released
-- after the commit is visible, and sends one NOTIFY as a wake-up. So a reader that sees commit N sees every
-- committed one below N: consumers read by (commit_seq, position), never skip a late commit, and wait for no
-- other transaction - neither an open event-writing one nor an analyst's or another database's.

create or replace function rustok._publish_event_for(tenant uuid, type text, data jsonb) returns uuid
language plpgsql volatile as $$
/* publish_event for a given tenant: for triggers, which know the row's tenant even when an operator in psql
   has set none. */
declare
    event_id uuid := rustok.gen_id();
begin
    if _publish_event_for.type is null or _publish_event_for.type !~ '^[A-Z][A-Za-z0-9]{0,63}$' then
        perform rustok._input_invalid('type', 'format', 'event type must be PascalCase');
    end if;
    if data is not null and jsonb_typeof(data) <> 'object' then
        perform rustok._input_invalid('data', 'type', 'event data must be a JSON object', '{"expected": "object"}');
    end if;
    insert into public.event_outbox (tenant_id, id, actor_id, type, data)
    values (tenant, event_id, rustok.current_user_id(), _publish_event_for.type, coalesce(data, '{}'));
    return event_id;
end
$$;

create or replace function rustok.publish_event(type text, data jsonb default '{}') returns uuid
language sql volatile as $$
    /* Writes an event for the current tenant and user; returns its id. Raises TENANT_REQUIRED without a
       tenant, VALIDATION_FAILED for a type that is not PascalCase or data that is not a JSON object. */
    select rustok._publish_event_for(rustok.require_tenant(), type, data)
$$;

create or replace function rustok._commit_order_arm() returns boolean
language plpgsql volatile as $$
/* The WHEN of the commit-order trigger, evaluated as each event is inserted: true for the transaction's first
   event only, so a transaction queues one stamp however many events it writes. Transaction-local setting
   rustok.commit_order: 'armed' once queued, 'stamped' once stamped (a transaction is stamped once, even when
   SET CONSTRAINTS ... IMMEDIATE fired it early); an aborted subtransaction reverts both the setting and the
   firing it queued or did. */
begin
    if coalesce(current_setting('rustok.commit_order', true), '') <> '' then
        return false;
    end if;
    perform set_config('rustok.commit_order', 'armed', true);
    return true;
end
$$;

create or replace function rustok._start_commit_order() returns void
language plpgsql volatile as $$
/* Once per database, in the transaction that installs the commit-order trigger (which waited for every
   transaction writing events and holds off new ones until it commits): numbers the events written before
   commit order existed by their transaction id (seq = txid, the order consumers read them in before), gives
   the transaction id 0 of imported events (docs/portability.md) the commit 0 for good, and starts
   event_commit_seq above every transaction id, so every stored cursor keeps its meaning. A no-op once
   commit 0 exists. */
declare
    part record;
begin
    if exists (select 1 from public.event_commits c where c.seq = 0) then
        return;
    end if;
    -- maintain_partitions makes the current month's partition and later ones; the outbox may hold older months
    for part in
        select replace(c.relname, 'event_outbox', 'event_commits') as name,
               substring(pg_get_expr(c.relpartbound, c.oid) from 'FROM \(''([^'']+)''\)')::timestamptz as lower_bound,
               substring(pg_get_expr(c.relpartbound, c.oid) from 'TO \(''([^'']+)''\)')::timestamptz as upper_bound
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'public.event_outbox'::regclass and pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
    loop
        if to_regclass(format('public.%I', part.name)) is null then
            perform rustok._create_partition('event_commits', part.name, part.lower_bound, part.upper_bound);
        end if;
    end loop;
    insert into public.event_commits (seq, txid, occurred_at)
    select e.txid::text::bigint, e.txid, min(e.occurred_at)
    from public.event_outbox e where e.txid <> '0'
    group by e.txid;
    insert into public.event_commits (seq, txid, occurred_at) values (0, '0', '-infinity');
    perform setval('public.event_commit_seq',
                   greatest(pg_current_xact_id()::text::bigint,
                            (select coalesce(max(e.txid::text::bigint), 0) from public.event_outbox e)));
end
$$;

create or replace function rustok.read_events(
    after_commit_seq bigint, after_position bigint, max_count int default 100, only_tenant uuid default null)
returns table (commit_seq bigint, "position" bigint, id uuid, tenant_id uuid, actor_id uuid, type text, data jsonb,
               occurred_at timestamptz)
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* Committed events after a cursor (commit_seq, position), across tenants (the relay fans them out) or
       for one tenant, in commit order. Every committed event below the newest one returned has been returned
       or is behind the cursor: nothing is skipped, and nothing waits for a transaction still running. At most
       10,000 rows per call. */
    select c.seq, e.position, e.id, e.tenant_id, e.actor_id, e.type::text, e.data, e.occurred_at
    from public.event_commits c
    join public.event_outbox e on e.txid = c.txid
    where c.seq >= after_commit_seq
      and (c.seq, e.position) > (after_commit_seq, after_position)
      and (only_tenant is null or e.tenant_id = only_tenant)
    order by c.seq, e.position
    limit least(greatest(coalesce(max_count, 100), 1), 10000)
$$;

create or replace function rustok.event_head(out commit_seq bigint, out "position" bigint)
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* The cursor after every event committed so far: a reader starting there gets only later commits. */
    select coalesce(max(c.seq), 0), 9223372036854775807 from public.event_commits c
$$;

create or replace function rustok.consumer_position(consumer text, out last_commit_seq bigint, out last_position bigint)
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* Where a durable consumer stopped; (0, 0) for a new one. */
    select coalesce(max(c.last_commit_seq), 0), coalesce(max(c.last_position), 0)
    from public.event_consumers c where c.name = consumer
$$;

create or replace function rustok.ack_events(consumer text, commit_seq bigint, "position" bigint) returns void
language sql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
    /* Moves a durable consumer's position forward (never back). */
    insert into public.event_consumers as c (name, last_commit_seq, last_position)
    values (consumer, commit_seq, ack_events.position)
    on conflict (name) do update
        set last_commit_seq = excluded.last_commit_seq, last_position = excluded.last_position, updated_at = now()
        where (c.last_commit_seq, c.last_position) < (excluded.last_commit_seq, excluded.last_position)
$$;
