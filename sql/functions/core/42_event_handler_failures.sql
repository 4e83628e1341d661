-- Durable event handlers' failures, kept for inspection: the worker records each failed attempt of a handler
-- on an event (in the event's tenant), marks the row 'failed' when it gives up and moves on, 'recovered' when
-- a later attempt succeeds.

create or replace function rustok.record_handler_failure(consumer text, event_id uuid, event_type text,
                                                         attempts int, error text, gave_up boolean)
returns void
language plpgsql volatile as $$
/* Records that the handler `consumer` failed on an event of the current tenant after `attempts` attempts:
   status 'failed' when it gave up, else 'retrying'. Called by the worker. Raises TENANT_REQUIRED,
   VALIDATION_FAILED (consumer, event type or attempts missing). */
begin
    if coalesce(consumer, '') = '' or coalesce(event_type, '') = '' or coalesce(attempts, 0) < 1 then
        perform rustok._input_invalid('consumer', 'required', 'consumer, event type and attempts are required');
    end if;
    insert into public.event_handler_failures as f
        (tenant_id, consumer, event_id, event_type, attempts, last_error, status)
    values (rustok.require_tenant(), consumer, event_id, event_type, attempts, left(coalesce(error, ''), 2000),
            case when gave_up then 'failed' else 'retrying' end)
    on conflict on constraint event_handler_failures_pkey do update
        set attempts = excluded.attempts, last_error = excluded.last_error, status = excluded.status,
            last_failed_at = now();
end
$$;

create or replace function rustok.resolve_handler_failure(consumer text, event_id uuid) returns void
language sql volatile as $$
    /* Marks a handler's earlier failure on an event of the current tenant as 'recovered' (a later attempt
       succeeded). Called by the worker; nothing to do when the handler never failed on it. */
    update public.event_handler_failures f set status = 'recovered'
    where f.tenant_id = rustok.current_tenant_id() and f.consumer = resolve_handler_failure.consumer
      and f.event_id = resolve_handler_failure.event_id and f.status = 'retrying'
$$;
