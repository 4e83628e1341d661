-- Webhook deliveries: the worker's webhooks handler turns each event into one delivery per matching webhook
-- (idempotent: (tenant, event, webhook) is unique), the dispatcher claims due deliveries under each tenant's
-- context, sends them, and records every attempt. A claim pushes next_attempt_at forward by a lease, so a
-- delivery claimed by a worker that died becomes due again; a recorded success is final.

create or replace function rustok.enqueue_webhook_deliveries(event_occurred_at timestamptz, event_position bigint)
returns int
language plpgsql volatile as $$
/* Creates the deliveries of one outbox event of the current tenant (found by its key) for every active
   webhook that wants its type and existed when it occurred; returns how many are new. Replaying an event
   creates nothing twice. Called by the worker; an unknown event creates nothing. Raises TENANT_REQUIRED. */
declare
    created int;
begin
    insert into public.webhook_deliveries (tenant_id, webhook_id, event_id, event_type, payload)
    select e.tenant_id, w.id, e.id, e.type, jsonb_build_object(
               'id', rustok.ulid(e.id), 'type', e.type, 'tenantId', rustok.ulid(e.tenant_id),
               'occurredAt', to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'data', e.data)
    from public.event_outbox e
    join public.webhooks w on w.tenant_id = e.tenant_id and w.is_active and w.created_at <= e.occurred_at
                          and (w.event_types = '{}' or e.type = any (w.event_types))
    where e.tenant_id = rustok.require_tenant() and e.occurred_at = event_occurred_at
      and e.position = event_position
    on conflict (tenant_id, event_id, webhook_id) do nothing;
    get diagnostics created = row_count;
    return created;
end
$$;

create or replace function rustok.webhook_tenants_due(max_count int default 100) returns setof uuid
language sql stable security definer set search_path = pg_catalog, public as $$
    /* Tenants with deliveries due now (to active webhooks), the longest-waiting first: where the dispatcher
       claims next. Reveals tenant ids only, never a delivery. */
    select d.tenant_id
    from public.webhook_deliveries d
    join public.webhooks w on w.tenant_id = d.tenant_id and w.id = d.webhook_id and w.is_active
    where d.status = 'pending' and d.next_attempt_at <= now()
    group by d.tenant_id
    order by min(d.next_attempt_at)
    limit least(greatest(coalesce(max_count, 100), 1), 1000)
$$;

create or replace function rustok.claim_webhook_deliveries(max_count int default 10, lease_seconds int default 60)
returns table (delivery_id uuid, webhook_id uuid, url text, secret text, event_id uuid, event_type text,
               payload jsonb, attempt int)
language sql volatile as $$
    /* Claims up to max_count due deliveries of the current tenant's active webhooks, oldest due first, skipping
       those another worker holds: each gets its attempt number and is not due again before the lease ends
       (a worker that dies mid-send loses its claim then). Called by the worker. */
    with due as (
        select d.tenant_id, d.id
        from public.webhook_deliveries d
        join public.webhooks w on w.tenant_id = d.tenant_id and w.id = d.webhook_id and w.is_active
        where d.tenant_id = rustok.current_tenant_id() and d.status = 'pending' and d.next_attempt_at <= now()
        order by d.next_attempt_at, d.id
        limit least(greatest(coalesce(max_count, 10), 1), 1000)
        for update of d skip locked
    )
    update public.webhook_deliveries d
    set attempts = d.attempts + 1,
        next_attempt_at = now() + make_interval(secs => greatest(coalesce(lease_seconds, 60), 1)),
        updated_at = now()
    from due, public.webhooks w
    where d.tenant_id = due.tenant_id and d.id = due.id and w.tenant_id = d.tenant_id and w.id = d.webhook_id
    returning d.id, d.webhook_id, w.url::text, w.secret::text, d.event_id, d.event_type::text, d.payload, d.attempts
$$;

create or replace function rustok.record_webhook_attempt(
    delivery_id uuid, attempt int, started_at timestamptz, duration_ms int, status_code int, error text,
    outcome text, retry_in_seconds double precision default null)
returns text
language plpgsql volatile as $$
/* Logs one attempt of a claimed delivery and moves it on: 'succeeded' is final (whoever records it), 'failed'
   gives up (the delivery is kept), 'retry' makes it due again after retry_in_seconds. A retry or failure
   from an attempt whose claim was taken over (its lease ran out) is logged but moves nothing. Returns the
   delivery's status. Called by the worker. Raises VALIDATION_FAILED for an unknown outcome, NOT_FOUND. */
declare
    result text;
begin
    outcome := rustok._input_choice(to_jsonb(outcome), 'outcome', '{succeeded,retry,failed}', required => true);
    insert into public.webhook_delivery_attempts
        (tenant_id, delivery_id, attempt, started_at, duration_ms, status_code, error, outcome)
    select d.tenant_id, d.id, record_webhook_attempt.attempt, started_at, greatest(duration_ms, 0), status_code,
           left(error, 2000), outcome
    from public.webhook_deliveries d
    where d.tenant_id = rustok.require_tenant() and d.id = delivery_id
    on conflict do nothing;
    update public.webhook_deliveries d
    set status = case outcome when 'retry' then 'pending' else outcome end,
        next_attempt_at = case when outcome = 'retry'
                               then now() + make_interval(secs => greatest(coalesce(retry_in_seconds, 0), 0))
                               else d.next_attempt_at end,
        delivered_at = case when outcome = 'succeeded' then now() end,
        last_status_code = status_code,
        last_error = left(error, 2000),
        updated_at = now()
    where d.tenant_id = rustok.current_tenant_id() and d.id = delivery_id and d.status = 'pending'
      and (outcome = 'succeeded' or d.attempts = record_webhook_attempt.attempt);
    select d.status into result from public.webhook_deliveries d
    where d.tenant_id = rustok.current_tenant_id() and d.id = delivery_id;
    if result is null then
        perform rustok.raise('NOT_FOUND', 'no such delivery', jsonb_build_object('deliveryId', rustok.ulid(delivery_id)));
    end if;
    return result;
end
$$;

create or replace function rustok._webhook_delivery_json(d public.webhook_deliveries) returns jsonb
language sql stable parallel safe as $$
    /* The WebhookDeliveryResponse shape, with the log of its attempts (oldest first). */
    select jsonb_build_object(
        'id', rustok.ulid(d.id), 'webhookId', rustok.ulid(d.webhook_id), 'eventId', rustok.ulid(d.event_id),
        'eventType', d.event_type, 'status', d.status, 'attempts', d.attempts,
        'nextAttemptAt', case when d.status = 'pending' then d.next_attempt_at end,
        'lastStatusCode', d.last_status_code, 'lastError', d.last_error, 'deliveredAt', d.delivered_at,
        'payload', d.payload, 'createdAt', d.created_at,
        'attemptLog', coalesce((
            select jsonb_agg(jsonb_build_object(
                       'attempt', a.attempt, 'startedAt', a.started_at, 'durationMs', a.duration_ms,
                       'statusCode', a.status_code, 'error', a.error, 'outcome', a.outcome) order by a.attempt)
            from public.webhook_delivery_attempts a
            where a.tenant_id = d.tenant_id and a.delivery_id = d.id), '[]'::jsonb))
$$;

create or replace function rustok.list_webhook_deliveries(webhook_id uuid, first int default 20, after text default null)
returns jsonb
language plpgsql stable as $$
/* A webhook's deliveries, newest first, as a connection (cursor = delivery id), each with its attempt log.
   Needs webhooks.manage. Raises UNAUTHENTICATED, FORBIDDEN, TENANT_REQUIRED, NOT_FOUND (another tenant's
   webhook included), INVALID_ID for a bad cursor, VALIDATION_FAILED for a bad page size. */
declare
    page int;
    after_id uuid;
    nodes jsonb;
begin
    perform rustok.require_tenant();
    perform rustok.require_permission('webhooks.manage');
    if not exists (select 1 from public.webhooks w
                   where w.tenant_id = rustok.current_tenant_id() and w.id = list_webhook_deliveries.webhook_id) then
        perform rustok.raise('NOT_FOUND', 'no such webhook', jsonb_build_object('webhookId', rustok.ulid(webhook_id)));
    end if;
    page := rustok._page_size(first);
    after_id := rustok._page_after(after);
    select coalesce(jsonb_agg(rustok._webhook_delivery_json(d) order by d.id desc), '[]'::jsonb)
    into nodes
    from (select * from public.webhook_deliveries d
          where d.tenant_id = rustok.current_tenant_id() and d.webhook_id = list_webhook_deliveries.webhook_id
            and (after_id is null or d.id < after_id)
          order by d.id desc limit page + 1) d;
    return rustok._page_connection(nodes, page, after);
end
$$;
