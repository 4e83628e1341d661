-- Webhooks: a tenant's endpoints (URL, event types, secret) and the guard that keeps them off the platform's
-- own network. The SQL guard refuses what it can see without DNS (the scheme, IP literals that are not globally
-- routable, localhost); the worker resolves the host again at every delivery and refuses such addresses by the
-- same rule (py/rustok/webhooks/guard.py keeps the same network list and unwrapping; one table of addresses
-- is tested through both, tests/py/test_webhooks_routability.py).
-- The operator allows private targets (a test's local receiver) with the setting rustok.webhooks_allow_private
-- (ALTER DATABASE … SET, or the connection's options); RUSTOK_WEBHOOKS_ALLOW_PRIVATE does the same for the worker.

create or replace function rustok.webhook_forbidden_networks() returns table (network cidr, reason text)
language sql immutable parallel safe as $$
    /* Networks a webhook may not target: the IANA IPv4 and IPv6 special-purpose registries' entries that are
       not globally reachable (whole blocks: their anycast exceptions are no webhook receivers), multicast, and
       IPv6 outside the global unicast space 2000::/3. The most specific network gives the reason. An IPv6
       address carrying an IPv4 one is judged by that (rustok.webhook_embedded_ipv4), not by this list. */
    values
        ('0.0.0.0/8'::cidr, 'unspecified'), ('10.0.0.0/8', 'private'), ('100.64.0.0/10', 'cgnat'),
        ('127.0.0.0/8', 'loopback'), ('169.254.0.0/16', 'link-local'), ('172.16.0.0/12', 'private'),
        ('192.0.0.0/24', 'ietf-protocol'), ('192.0.2.0/24', 'documentation'), ('192.88.99.0/24', '6to4-relay'),
        ('192.168.0.0/16', 'private'), ('198.18.0.0/15', 'benchmarking'), ('198.51.100.0/24', 'documentation'),
        ('203.0.113.0/24', 'documentation'), ('224.0.0.0/4', 'multicast'), ('240.0.0.0/4', 'reserved'),
        ('255.255.255.255/32', 'broadcast'),
        ('::/128', 'unspecified'), ('::1/128', 'loopback'), ('::/3', 'reserved'), ('64:ff9b:1::/48', 'nat64-local'),
        ('100::/64', 'discard'), ('100:0:0:1::/64', 'dummy'), ('2001::/23', 'ietf-protocol'), ('2001::/32', 'teredo'),
        ('2001:2::/48', 'benchmarking'), ('2001:db8::/32', 'documentation'), ('3fff::/20', 'documentation'),
        ('4000::/2', 'reserved'), ('5f00::/16', 'srv6'), ('8000::/1', 'reserved'), ('fc00::/7', 'unique-local'),
        ('fe80::/10', 'link-local'), ('fec0::/10', 'site-local'), ('ff00::/8', 'multicast')
$$;

create or replace function rustok.webhook_embedded_ipv4(address inet) returns inet
language sql immutable strict parallel safe as $$
    /* The IPv4 address an IPv6 address carries, or null: IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) and
       IPv4-compatible (::/96, save :: and ::1) in the last 32 bits; 6to4 (2002::/16) in bits 16-47, read
       from the text of its /48 (2002:gggg:hhhh::, a zero group may be folded into the "::"). */
    select case
        when family(address) <> 6 then null
        when address <<= '::ffff:0:0/96' or address <<= '64:ff9b::/96' or (address <<= '::/96' and address > '::1')
            then '0.0.0.0'::inet + (host(address)::inet - set_masklen(network(set_masklen(address, 96)), 128))
        when address <<= '2002::/16' then (
            select '0.0.0.0'::inet + sum(('x' || lpad(group_hex, 8, '0'))::bit(32)::bigint << (16 * (3 - i)))::bigint
            from (select host(network(set_masklen(address, 48))) as prefix) p,
                 lateral (select i, coalesce(nullif(split_part(p.prefix, ':', i), ''), '0') as group_hex
                          from generate_series(2, 3) i) g)
    end
$$;

create or replace function rustok.webhook_address_refusal(address inet) returns text
language sql immutable strict parallel safe as $$
    /* Why a webhook may not target this address ('loopback', 'documentation', …), or null when it may: the
       reason of the most specific refused network holding it (rustok.webhook_forbidden_networks) — for an IPv6
       address carrying an IPv4 one, the IPv4 address's. */
    with judged (a) as (select coalesce(rustok.webhook_embedded_ipv4(address), host(address)::inet))
    select n.reason from judged j, rustok.webhook_forbidden_networks() n
    where family(n.network) = family(j.a) and j.a <<= n.network
    order by masklen(n.network) desc
    limit 1
$$;

create or replace function rustok._webhooks_allow_private() returns boolean
language sql stable parallel safe as $$
    /* The operator's setting rustok.webhooks_allow_private: private targets allowed (tests, never prod). */
    select lower(coalesce(current_setting('rustok.webhooks_allow_private', true), '')) in ('1', 'on', 'true', 'yes')
$$;

create or replace function rustok._check_webhook_url(url text) returns text
language plpgsql stable parallel safe as $$
/* The URL, trimmed, when it may be a webhook target: http(s), a host, no credentials or fragment, at most 2048
   characters; an IP literal or a localhost name must not be in a forbidden network unless the operator allows
   private targets. Raises VALIDATION_FAILED (details.field = 'url'), WEBHOOK_TARGET_FORBIDDEN. */
declare
    target text := coalesce(rustok._input_text(to_jsonb(url), 'url', 2048, required => true), '');
    parts text[] := regexp_match(target, '^(https?)://([^/?#]*)([/?][^#]*)?$', 'i');
    authority text := parts[2];
    host_port text[];
    host text;
    address inet;
    refusal text;
begin
    if parts is null or target ~ '[\s[:cntrl:]]' then
        perform rustok._input_invalid('url', 'format', 'an http or https URL without a fragment');
    end if;
    host_port := coalesce(regexp_match(authority, '^\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?$'),
                          regexp_match(authority, '^([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?$'));
    if host_port is null or host_port[1] = '' or coalesce(host_port[2]::int, 1) not between 1 and 65535 then
        perform rustok._input_invalid('url', 'format', 'a host name or IP address (no credentials), optionally a port');
    end if;
    host := lower(rtrim(host_port[1], '.'));
    if authority ~ '^\[' or host ~ '^[0-9]+(\.[0-9]+){3}$' then
        begin
            address := host::inet;
        exception when invalid_text_representation then
            perform rustok._input_invalid('url', 'format', 'not an IP address');
        end;
        refusal := rustok.webhook_address_refusal(address);
    elsif host ~ '(^|\.)(0x[0-9a-f]*|[0-9]+)$' then
        -- 2130706433, 0x7f.1, 127.1: resolvers read these as IPv4 addresses; only the dotted quad is accepted
        perform rustok._input_invalid('url', 'format', 'write an IPv4 address as four decimal numbers');
    elsif host = 'localhost' or host like '%.localhost' then
        refusal := 'loopback';
    end if;
    if refusal is not null and not rustok._webhooks_allow_private() then
        perform rustok.raise('WEBHOOK_TARGET_FORBIDDEN', 'webhooks may not target this address',
                             jsonb_build_object('field', 'url', 'reason', refusal));
    end if;
    return target;
end
$$;

create or replace function rustok._check_webhook_event_types(event_types text[]) returns varchar(64)[]
language plpgsql immutable parallel safe as $$
/* Event types, sorted and without duplicates; empty (or null) means every type. Each must be PascalCase; at
   most 100. Raises VALIDATION_FAILED (details.field = 'eventTypes'). */
declare
    normalized varchar(64)[] := coalesce((select array_agg(distinct t order by t) from unnest(event_types) t), '{}');
begin
    if cardinality(normalized) > 100 then
        perform rustok._input_invalid('eventTypes', 'too_many', 'at most 100 event types', '{"maxItems": 100}');
    end if;
    if exists (select 1 from unnest(event_types) t where t is null or t !~ '^[A-Z][A-Za-z0-9]{0,63}$') then
        perform rustok._input_invalid('eventTypes', 'format', 'PascalCase event types');
    end if;
    return normalized;
end
$$;

create or replace function rustok._check_webhook_description(description text) returns text
language sql immutable parallel safe as $$
    /* The description, trimmed ('' for null or empty: the column's "none"); at most 500 characters. Raises
       VALIDATION_FAILED. */
    select coalesce(rustok._input_text(to_jsonb(description), 'description', 500), '')
$$;

create or replace function rustok._new_webhook_secret() returns text
language sql volatile parallel safe as $$
    /* 'whsec_' and 64 hex digits from two strong random UUIDs (244 random bits). */
    select 'whsec_' || encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex')
$$;

create or replace function rustok._webhook_json(w public.webhooks) returns jsonb
language sql stable parallel safe as $$
    /* The WebhookResponse shape: never the secret, only its last four characters as a hint. */
    select jsonb_build_object(
        'id', rustok.ulid(w.id), 'url', w.url, 'eventTypes', to_jsonb(w.event_types),
        'description', w.description, 'isActive', w.is_active, 'secretHint', 'whsec_…' || right(w.secret, 4),
        'createdAt', w.created_at, 'updatedAt', w.updated_at)
$$;

create or replace function rustok._require_webhook(webhook_id uuid) returns public.webhooks
language plpgsql volatile as $$
/* The current tenant's webhook, locked for a change. Raises NOT_FOUND (another tenant's id included). */
declare
    found_webhook public.webhooks;
begin
    select * into found_webhook from public.webhooks w
    where w.tenant_id = rustok.current_tenant_id() and w.id = webhook_id
    for update;
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such webhook', jsonb_build_object('webhookId', rustok.ulid(webhook_id)));
    end if;
    return found_webhook;
end
$$;

create or replace function rustok.create_webhook(url text, event_types text[] default '{}',
                                                 description text default '')
returns jsonb
language plpgsql volatile as $$
/* Registers a webhook for the current tenant and returns it with its signing secret, which is shown only
   here (and on rotation). Emits WebhookCreated. Needs webhooks.manage; at most 50 webhooks per tenant.
   Raises UNAUTHENTICATED, FORBIDDEN, TENANT_REQUIRED, VALIDATION_FAILED, WEBHOOK_TARGET_FORBIDDEN. */
declare
    created public.webhooks;
begin
    perform rustok.require_tenant();
    perform rustok.require_permission('webhooks.manage');
    if (select count(*) from public.webhooks w where w.tenant_id = rustok.current_tenant_id()) >= 50 then
        perform rustok._input_invalid('url', 'too_many', 'at most 50 webhooks per tenant', '{"maxItems": 50}');
    end if;
    insert into public.webhooks (tenant_id, url, event_types, description, secret, created_by)
    values (rustok.current_tenant_id(), rustok._check_webhook_url(url), rustok._check_webhook_event_types(event_types),
            rustok._check_webhook_description(description), rustok._new_webhook_secret(), rustok.current_user_id())
    returning * into created;
    perform rustok.publish_event('WebhookCreated', jsonb_build_object(
        'webhook_id', rustok.ulid(created.id), 'event_types', to_jsonb(created.event_types)));
    return rustok._webhook_json(created) || jsonb_build_object('secret', created.secret);
end
$$;

create or replace function rustok.list_webhooks() returns jsonb
language plpgsql stable as $$
/* The current tenant's webhooks, oldest first (secrets never included). Needs webhooks.manage.
   Raises UNAUTHENTICATED, FORBIDDEN, TENANT_REQUIRED. */
begin
    perform rustok.require_tenant();
    perform rustok.require_permission('webhooks.manage');
    return coalesce((select jsonb_agg(rustok._webhook_json(w) order by w.id) from public.webhooks w
                     where w.tenant_id = rustok.current_tenant_id()), '[]'::jsonb);
end
$$;

create or replace function rustok.update_webhook(webhook_id uuid, url text default null,
                                                 event_types text[] default null, description text default null,
                                                 is_active boolean default null, rotate_secret boolean default false)
returns jsonb
language plpgsql volatile as $$
/* Changes a webhook: each argument left null stays as it is; rotate_secret makes a new secret, returned once
   (the previous one stops signing at once). Pending deliveries go to the new URL; a paused webhook (is_active
   false) gets no new deliveries and its pending ones wait until it is active again. Emits WebhookUpdated
   with the changed fields (nothing changed: no event). Needs webhooks.manage. Raises UNAUTHENTICATED,
   FORBIDDEN, TENANT_REQUIRED, NOT_FOUND, VALIDATION_FAILED, WEBHOOK_TARGET_FORBIDDEN. */
declare
    previous public.webhooks;
    updated public.webhooks;
    changes text[];
begin
    perform rustok.require_tenant();
    perform rustok.require_permission('webhooks.manage');
    previous := rustok._require_webhook(webhook_id);
    updated := previous;
    if url is not null then
        updated.url := rustok._check_webhook_url(url);
    end if;
    if event_types is not null then
        updated.event_types := rustok._check_webhook_event_types(event_types);
    end if;
    if description is not null then
        updated.description := rustok._check_webhook_description(description);
    end if;
    updated.is_active := coalesce(is_active, previous.is_active);
    if coalesce(rotate_secret, false) then
        updated.secret := rustok._new_webhook_secret();
    end if;
    changes := array_remove(array[
        case when updated.url is distinct from previous.url then 'url' end,
        case when updated.event_types is distinct from previous.event_types then 'eventTypes' end,
        case when updated.description is distinct from previous.description then 'description' end,
        case when updated.is_active is distinct from previous.is_active then 'isActive' end,
        case when updated.secret is distinct from previous.secret then 'secret' end], null);
    if cardinality(changes) = 0 then
        return rustok._webhook_json(previous);
    end if;
    update public.webhooks w
    set url = updated.url, event_types = updated.event_types, description = updated.description, is_active = updated.is_active,
        secret = updated.secret, updated_at = now()
    where w.tenant_id = previous.tenant_id and w.id = previous.id
    returning * into updated;
    perform rustok.publish_event('WebhookUpdated',
                                 jsonb_build_object('webhook_id', rustok.ulid(updated.id), 'changes', to_jsonb(changes)));
    return rustok._webhook_json(updated)
        || case when 'secret' = any (changes) then jsonb_build_object('secret', updated.secret) else '{}'::jsonb end;
end
$$;

create or replace function rustok.delete_webhook(webhook_id uuid) returns jsonb
language plpgsql volatile as $$
/* Removes a webhook with its deliveries and their attempts; returns it as it was. Emits WebhookDeleted.
   Needs webhooks.manage. Raises UNAUTHENTICATED, FORBIDDEN, TENANT_REQUIRED, NOT_FOUND. */
declare
    removed public.webhooks;
begin
    perform rustok.require_tenant();
    perform rustok.require_permission('webhooks.manage');
    removed := rustok._require_webhook(webhook_id);
    delete from public.webhooks w where w.tenant_id = removed.tenant_id and w.id = removed.id;
    perform rustok.publish_event('WebhookDeleted', jsonb_build_object('webhook_id', rustok.ulid(removed.id)));
    return rustok._webhook_json(removed);
end
$$;
