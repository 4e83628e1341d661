-- Upkeep: row triggers record ids (rustok._index_touch), a deferred constraint trigger on index_pending
-- recomputes each once at commit (rustok.tg_index_pending__flush) or, with realtimeSync off, queues them for
-- `rustok indexer` (rustok.index_drain). Configuration (the manifest's IndexConfig), verify and reindex.

create or replace function rustok._index_global_config() returns jsonb
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* platform_settings 'index' (an object), or {}: the platform-wide IndexConfig. */
    select coalesce((select s.value from public.platform_settings s
                     where s.key = 'index' and jsonb_typeof(s.value) = 'object'), '{}'::jsonb)
$$;

create or replace function rustok.index_config(tenant uuid default null) returns jsonb
language sql stable as $$
    /* The IndexConfig in force for the tenant (default: the current one): defaults, overridden by
       platform_settings 'index', overridden by tenant_modules.settings of 'index'.
       {realtimeSync: true, batchSize: 500, workers: 1, reindexSchedule: null}. Outside the module switch:
       the index is kept for every tenant (its triggers do not ask), and so is read its configuration. */
    select '{"realtimeSync": true, "batchSize": 500, "workers": 1, "reindexSchedule": null}'::jsonb
        || rustok._index_global_config()
        || coalesce((select tm.settings from public.tenant_modules tm
                     where tm.tenant_id = coalesce(tenant, rustok.current_tenant_id()) and tm.module_slug = 'index'),
                    '{}'::jsonb)
$$;

create or replace function rustok._index_touch(tenant uuid, kind text, ids uuid[]) returns void
language plpgsql volatile as $$
/* Records ids to recompute at commit (once each per transaction). A single-row write usually touches the
   id the previous statement touched (createProduct: product, options, variants, prices, stock and links are
   ~20 statements about one product), so the last single id recorded is kept in the transaction-local
   setting rustok.index_touched and recorded again without a write. The setting follows the pending rows:
   set after the row exists, cleared by the flush that deletes them, and rolled back with them (a setting
   made in an aborted subtransaction reverts, as the row it stands for does). Clients record ids of their
   tenant only (the index_pending policy); the tables' owner - a cascade such as deleting a category or a
   tenant from psql runs as the owner - records any tenant's (index_0011_pending_owner). */
declare
    key text;
begin
    if cardinality(ids) = 1 then
        key := tenant::text || kind || ids[1]::text;  -- null for a null id
        if key = current_setting('rustok.index_touched', true) then
            return;
        end if;
    end if;
    insert into public.index_pending (tenant_id, kind, id)
    select tenant, kind, x from unnest(ids) x where x is not null
    on conflict do nothing;
    if key is not null then
        perform set_config('rustok.index_touched', key, true);
    end if;
end
$$;

create or replace function rustok._index_flush_arm() returns boolean
language plpgsql volatile as $$
/* The WHEN of the deferred flush trigger (_700_index_flush), evaluated as each pending row is inserted:
   true for the first row since the last flush, so a transaction queues one flush however many ids it
   records (5,000 queued firings for a bulk batch each re-read their row at commit). Transaction-local
   setting rustok.index_flush = 'armed' until rustok._index_flush_all runs; an aborted subtransaction
   reverts both the setting and the firing it queued. */
begin
    if current_setting('rustok.index_flush', true) = 'armed' then
        return false;
    end if;
    perform set_config('rustok.index_flush', 'armed', true);
    return true;
end
$$;

create or replace function rustok._index_flush_all() returns int
language plpgsql volatile as $$
/* Flushes every pending id of this transaction (each tenant under its own context). Fired once per arming
   (rustok._index_flush_arm): disarms first, so ids recorded afterwards (a later statement of a transaction
   that flushed early with SET CONSTRAINTS ... IMMEDIATE) queue a new flush. */
declare
    t uuid;
    total int := 0;
begin
    perform set_config('rustok.index_flush', '', true);
    perform set_config('rustok.index_touched', '', true);
    for t in select distinct p.tenant_id from public.index_pending p where p.txid = pg_current_xact_id() loop
        total := total + rustok._index_flush(t);
    end loop;
    return total;
end
$$;

create or replace function rustok._index_updated(kind text, ids uuid[]) returns void
language plpgsql volatile as $$
/* Emits IndexUpdated for ids of a kind just recomputed (by the flush or the queue's drain): {index_name,
   target_id (the id when only one), count, target_ids (at most 100)}. */
begin
    perform rustok.publish_event('IndexUpdated', jsonb_build_object(
        'index_name', case kind when 'product' then 'index_products' else 'index_content' end,
        'target_id', case when cardinality(ids) = 1 then rustok.ulid(ids[1]) end,
        'count', cardinality(ids),
        'target_ids', (select jsonb_agg(rustok.ulid(x)) from unnest(ids[1:100]) x)));
end
$$;

create or replace function rustok._index_flush(tenant uuid) returns int
language plpgsql volatile as $$
/* Takes this transaction's pending ids of the tenant and recomputes each once (or queues them when the
   tenant's realtimeSync is off); one IndexUpdated event per kind: {index_name, target_id (the id when only
   one), count, target_ids (at most 100)}; nothing for a tenant deleted in this transaction (its ids are
   dropped). Returns how many ids it handled. */
declare
    previous text := current_setting('rustok.tenant_id', true);
    realtime boolean;
    r record;
    total int := 0;
begin
    if previous is distinct from tenant::text then
        perform set_config('rustok.tenant_id', tenant::text, true);
    end if;
    realtime := coalesce((rustok.index_config(tenant) ->> 'realtimeSync')::boolean, true);
    for r in
        with gone as (delete from public.index_pending p
                      where p.tenant_id = tenant and p.txid = pg_current_xact_id()
                      returning p.kind, p.id)
        select g.kind, array_agg(g.id order by g.id) as ids from gone g group by g.kind order by g.kind
    loop
        if not exists (select 1 from public.tenants t where t.id = tenant) then
            continue;  -- the tenant was deleted in this transaction: its index rows went with it, no event
        end if;
        if realtime then
            perform rustok._index_refresh(tenant, r.kind, r.ids);
            perform rustok._index_updated(r.kind, r.ids);
        else
            insert into public.index_queue (tenant_id, kind, id) select tenant, r.kind, x from unnest(r.ids) x;
        end if;
        total := total + cardinality(r.ids);
    end loop;
    if previous is distinct from tenant::text then
        perform set_config('rustok.tenant_id', coalesce(previous, ''), true);
    end if;
    return total;
end
$$;

create or replace function rustok.index_drain(batch_size int default null) returns int
language plpgsql volatile as $$
/* One batch of the current tenant's durable queue: takes up to batch_size rows (default: IndexConfig
   batchSize) that no other worker holds (FOR UPDATE SKIP LOCKED), recomputes each id once, emits
   IndexUpdated per kind. Returns how many queue rows it took (0: nothing left for this worker). Outside the
   module switch: `rustok indexer` drains what the triggers queued, whatever the tenant enabled. */
declare
    tenant uuid := rustok.require_tenant();
    n int := coalesce(batch_size, (rustok.index_config() ->> 'batchSize')::int, 500);
    taken int := 0;
    seqs bigint[];
    r record;
begin
    -- the batch's keys first, then a delete by key: a delete joined to the picked rows was planned as a
    -- nested loop over the tenant's whole queue (a new tenant has no statistics), 100,000 x 500 comparisons a
    -- batch for a bulk load's queue
    select array_agg(p.seq) into seqs
    from (select q.seq from public.index_queue q where q.tenant_id = tenant
          order by q.seq limit n for update skip locked) p;
    if seqs is null then
        return 0;
    end if;
    for r in
        with gone as (delete from public.index_queue q where q.tenant_id = tenant and q.seq = any (seqs)
                      returning q.kind, q.id)
        select g.kind, array_agg(distinct g.id) as ids, count(*)::int as rows from gone g group by g.kind
    loop
        perform rustok._index_refresh(tenant, r.kind, r.ids);
        perform rustok._index_updated(r.kind, r.ids);
        taken := taken + r.rows;
    end loop;
    return taken;
end
$$;

create or replace function rustok.index_queue_length() returns bigint
language sql stable as $$
    /* How many rows of the current tenant's durable index queue wait. Outside the module switch: as
       index_drain. */
    select count(*) from public.index_queue q where q.tenant_id = rustok.current_tenant_id()
$$;

create or replace function rustok._index_target(target text) returns text
language sql immutable as $$
    /* 'products'/'product' -> 'product', 'content'/'node'/'nodes' -> 'content'; else null. */
    select case lower(target) when 'products' then 'product' when 'product' then 'product'
                              when 'content' then 'content' when 'node' then 'content' when 'nodes' then 'content' end
$$;

create or replace function rustok._index_kind(target text, field text default 'target') returns text
language plpgsql immutable as $$
/* rustok._index_target of a target the caller must name. Raises VALIDATION_FAILED (reason not_allowed, or
   required). */
begin
    if rustok._index_target(rustok._input_text(to_jsonb(target), field, null, required => true)) is null then
        perform rustok._input_invalid(field, 'not_allowed', 'products or content',
                                      '{"allowed": ["products", "content"]}');
    end if;
    return rustok._index_target(btrim(target));
end
$$;

create or replace function rustok._index_source_ids(tenant uuid, kind text, after uuid default null,
                                                   n int default null) returns uuid[]
language sql stable as $$
    /* The source ids of a tenant's index of a kind ('product': products, 'content': pages and posts), in id
       order, after `after`, at most n (null: all). */
    select coalesce(array_agg(x.id order by x.id), '{}') from (
        select p.id from public.commerce_products p
        where _index_source_ids.kind = 'product' and p.tenant_id = tenant and (after is null or p.id > after)
        union all
        select d.id from public.nodes d
        where _index_source_ids.kind = 'content' and d.tenant_id = tenant and d.kind in ('page', 'post') and (after is null or d.id > after)
        order by 1 limit n) x
$$;

create or replace function rustok._index_prune(tenant uuid, kind text) returns int
language plpgsql volatile as $$
/* Deletes the tenant's index rows of the kind whose product or node no longer exists; how many. */
declare
    n int;
begin
    if kind = 'product' then
        delete from public.index_products i where i.tenant_id = tenant and not exists (
            select 1 from public.commerce_products p where p.tenant_id = i.tenant_id and p.id = i.product_id);
    else
        delete from public.index_content i where i.tenant_id = tenant and not exists (
            select 1 from public.nodes x where x.tenant_id = i.tenant_id and x.id = i.node_id);
    end if;
    get diagnostics n = row_count;
    return n;
end
$$;

create or replace function rustok.index_reindex_batch(target text, after uuid default null,
                                                     batch_size int default null)
returns table (last_id uuid, recomputed int)
language plpgsql volatile as $$
/* One batch of an online rebuild of the current tenant's index ('products' or 'content'): the next
   batch_size (default: IndexConfig batchSize) source ids after `after`, recomputed (upserted, or deleted when not shown). last_id null: done
   (then call rustok.index_reindex_prune). Raises VALIDATION_FAILED for an unknown target. Outside the module
   switch: a rebuild (`rustok reindex`, the worker's handler) is the operator's, for any tenant. */
declare
    kind text := rustok._index_kind(target);
    tenant uuid := rustok.require_tenant();
    ids uuid[];
begin
    ids := rustok._index_source_ids(tenant, kind, after,
                                    coalesce(batch_size, (rustok.index_config() ->> 'batchSize')::int, 500));
    if cardinality(ids) = 0 then
        return query select null::uuid, 0;
        return;
    end if;
    return query select ids[cardinality(ids)], rustok._index_refresh(tenant, kind, ids, true);
end
$$;

create or replace function rustok.index_reindex_prune(target text) returns int
language plpgsql volatile as $$
/* The end of a rebuild: deletes the current tenant's index rows whose product or node no longer exists
   (products: then rebuilds the browse mirror and facet counts, rustok._index_browse_rebuild).
   Returns how many. Raises VALIDATION_FAILED for an unknown target. Outside the module switch: as
   index_reindex_batch. */
declare
    kind text := rustok._index_kind(target);
    n int;
begin
    n := rustok._index_prune(rustok.require_tenant(), kind);
    if kind = 'product' then
        perform rustok._index_browse_rebuild();
    end if;
    return n;
end
$$;

create or replace function rustok.index_source_count(target text) returns bigint
language sql stable as $$
    /* How many source rows a rebuild of the current tenant walks (for progress). Outside the module switch:
       as index_reindex_batch. */
    select cardinality(rustok._index_source_ids(rustok.current_tenant_id(), rustok._index_target(target)))::bigint
$$;

create or replace function rustok.index_refresh(target text, id uuid) returns int
language plpgsql volatile as $$
/* Recomputes one product or node of the current tenant now. Raises VALIDATION_FAILED for an unknown target.
   Outside the module switch: as index_reindex_batch. */
begin
    return rustok._index_refresh(rustok.require_tenant(), rustok._index_kind(target), array[id], true);
end
$$;

create or replace function rustok.request_reindex(target_type text, target_id uuid default null) returns jsonb
language plpgsql volatile as $$
/* Emits ReindexRequested {target_type, target_id} for the index module's durable handler (rustok worker):
   target_type products or content, target_id one of the tenant's products, or of its pages and posts, or
   null for all (an id still in the tenant's index counts too: reindexing it removes a stale row). Needs
   index.manage. Raises VALIDATION_FAILED for an unknown target type, NOT_FOUND (details.field 'id') for an
   id that is not the tenant's product or content of that target. */
declare
    tenant uuid := rustok.current_tenant_id();
    kind text;
    known boolean;
begin
    perform rustok.require_module('index');
    perform rustok.require_permission('index.manage');
    kind := rustok._index_kind(target_type, 'targetType');
    if kind = 'product' then
        known := exists (select 1 from public.commerce_products p where p.tenant_id = tenant and p.id = target_id)
              or exists (select 1 from public.index_products i where i.tenant_id = tenant and i.product_id = target_id);
    else
        known := exists (select 1 from public.nodes n
                         where n.tenant_id = tenant and n.id = target_id and n.kind in ('page', 'post'))
              or exists (select 1 from public.index_content i where i.tenant_id = tenant and i.node_id = target_id);
    end if;
    if target_id is not null and not known then
        perform rustok.raise('NOT_FOUND', 'no such ' || case kind when 'product' then 'product' else 'page or post' end,
                             jsonb_build_object('field', 'id'));
    end if;
    perform rustok.publish_event('ReindexRequested', jsonb_build_object(
        'target_type', case kind when 'product' then 'products' else 'content' end,
        'target_id', rustok.ulid(target_id)));
    return jsonb_build_object('requested', true);
end
$$;

create or replace function rustok._index_verify_mirrors()
returns table (index_name text, target_id uuid, problem text, columns text[])
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* The search mirrors of the current tenant (rustok.index_products_text / index_content_text) against its
       index rows, for rustok.index_verify: a mirror row 'missing', 'extra', or 'stale' (the columns that
       differ). SECURITY DEFINER because the mirrors are closed to clients; the explicit filter on the current
       tenant is the boundary (the owner's policy on the mirrors lets every row through). */
    with t as (select rustok.current_tenant_id() as id)
    select 'index_products_text'::text, coalesce(i.product_id, m.product_id),
           case when m.product_id is null then 'missing' when i.product_id is null then 'extra' else 'stale' end,
           case when i.product_id is not null and m.product_id is not null then array(
               select k.key from jsonb_each(to_jsonb(m) - 'product_id') k
               where k.value is distinct from to_jsonb(i) -> k.key order by k.key) end
    from (select x.product_id, x.search_vector, lower(public.unaccent(x.title)) as title_folded, x.category_slugs,
                 x.title, x.min_price, x.prices, x.has_stock, x.categories, x.tags, x.created_at
          from public.index_products x join t on x.tenant_id = t.id) i
    full join (select y.product_id, y.search_vector, y.title_folded, y.category_slugs, y.title, y.min_price,
                      y.prices, y.has_stock, y.categories, y.tags, y.created_at
               from rustok.index_products_text y join t on y.tenant_id = t.id) m on m.product_id = i.product_id
    where i.product_id is null or m.product_id is null
       or (m.search_vector, m.title_folded, m.category_slugs, m.title, m.min_price, m.prices, m.has_stock,
           m.categories, m.tags, m.created_at)
          is distinct from (i.search_vector, i.title_folded, i.category_slugs, i.title, i.min_price, i.prices,
                            i.has_stock, i.categories, i.tags, i.created_at)
    union all
    select 'index_content_text'::text, coalesce(i.node_id, m.node_id),
           case when m.node_id is null then 'missing' when i.node_id is null then 'extra' else 'stale' end,
           case when i.node_id is not null and m.node_id is not null then array_remove(array[
               case when m.search_vector is distinct from i.search_vector then 'search_vector' end,
               case when m.title_folded is distinct from i.folded then 'title_folded' end], null) end
    from (select x.node_id, x.search_vector, lower(public.unaccent(coalesce(x.title, ''))) as folded
          from public.index_content x join t on x.tenant_id = t.id) i
    full join (select y.node_id, y.search_vector, y.title_folded
               from rustok.index_content_text y join t on y.tenant_id = t.id) m on m.node_id = i.node_id
    where i.node_id is null or m.node_id is null
       or (m.search_vector, m.title_folded) is distinct from (i.search_vector, i.folded)
$$;

create or replace function rustok.index_verify(tenant uuid default null)
returns table (tenant_id uuid, index_name text, target_id uuid, problem text, columns text[])
language plpgsql volatile as $$
/* Every index row that differs from a fresh computation (rustok._index_*_fresh, the same rule upkeep uses):
   problem 'missing' (should exist, does not), 'extra' (exists, should not) or 'stale' (columns differ,
   indexed_at aside); and every search-mirror row (index_name index_products_text / index_content_text) that
   differs from its index row (rustok._index_verify_mirrors), and every browse-mirror row or facet count
   (index_products_browse / index_products_facets) that differs from them (rustok._index_verify_browse). tenant null: every tenant the caller may read (operators: all). Nothing returned: the
   index is exact. A client may only verify its current tenant (FORBIDDEN otherwise). Outside the module
   switch: the operator's check of every tenant's index (index_verify_summary is the API's, behind it). */
declare
    previous text := current_setting('rustok.tenant_id', true);
    t uuid;
begin
    if not rustok.is_operator() and tenant is distinct from rustok.current_tenant_id() then
        if tenant is not null then
            perform rustok.raise('FORBIDDEN', 'only the current tenant can be verified');
        end if;
        tenant := rustok.require_tenant();
    end if;
    for t in select x.id from public.tenants x where tenant is null or x.id = tenant order by x.id loop
        perform set_config('rustok.tenant_id', t::text, true);
        return query
            with fresh as materialized (
                select * from rustok._index_products_fresh(t, rustok._index_source_ids(t, 'product'))),
            stored as materialized (select * from public.index_products i where i.tenant_id = t)
            select t, 'index_products'::text, coalesce(f.product_id, s.product_id),
                   case when s.product_id is null then 'missing' when f.product_id is null then 'extra'
                        else 'stale' end,
                   case when s.product_id is not null and f.product_id is not null then array(
                       select k.key from jsonb_each(to_jsonb(f) - 'indexed_at') k
                       where k.value is distinct from to_jsonb(s) -> k.key order by k.key) end
            from fresh f full join stored s on s.product_id = f.product_id
            where s.product_id is null or f.product_id is null
               or (to_jsonb(f) - 'indexed_at') is distinct from (to_jsonb(s) - 'indexed_at');
        return query
            with fresh as materialized (
                select * from rustok._index_content_fresh(t, rustok._index_source_ids(t, 'content'))),
            stored as materialized (select * from public.index_content i where i.tenant_id = t)
            select t, 'index_content'::text, coalesce(f.node_id, s.node_id),
                   case when s.node_id is null then 'missing' when f.node_id is null then 'extra'
                        else 'stale' end,
                   case when s.node_id is not null and f.node_id is not null then array(
                       select k.key from jsonb_each(to_jsonb(f) - 'indexed_at') k
                       where k.value is distinct from to_jsonb(s) -> k.key order by k.key) end
            from fresh f full join stored s on s.node_id = f.node_id
            where s.node_id is null or f.node_id is null
               or (to_jsonb(f) - 'indexed_at') is distinct from (to_jsonb(s) - 'indexed_at');
        return query select t, v.* from rustok._index_verify_mirrors() v;
        return query select t, v.* from rustok._index_verify_browse() v;
    end loop;
    perform set_config('rustok.tenant_id', coalesce(previous, ''), true);
end
$$;

create or replace function rustok.index_requeue_price_windows(since interval default '75 minutes') returns int
language plpgsql volatile as $$
/* Maintenance (`rustok maintain`, hourly): a price list whose window opened or closed in the last `since`
   changes what guests pay without any write; recompute the products with prices in it. Returns how many.
   Outside the module switch: `rustok maintain` runs it where the index module is enabled; it needs the
   commerce module's (MODULE_DISABLED). */
declare
    tenant uuid;
    ids uuid[];
begin
    perform rustok.require_module('commerce');
    tenant := rustok.require_tenant();
    select array_agg(distinct v.product_id) into ids
    from public.commerce_price_lists pl
    join public.commerce_prices pr on pr.tenant_id = pl.tenant_id and pr.price_list_id = pl.id
    join public.commerce_variants v on v.tenant_id = pr.tenant_id and v.id = pr.variant_id
    where pl.tenant_id = tenant
      and (pl.starts_at between now() - since and now() or pl.ends_at between now() - since and now());
    perform rustok._index_touch(tenant, 'product', ids);
    return coalesce(cardinality(ids), 0);
end
$$;

create or replace function rustok._after_tenant_import__index(tenant uuid) returns void
language plpgsql volatile as $$
/* Hook of `rustok tenant import` (which loads rows with triggers off): the search mirrors live outside the
   exported tables, so they are rebuilt from the tenant's imported index rows - by rewriting those rows in place,
   which fires the mirror triggers (rustok.tg_index_search__mirror, the one rule for a mirror row); the browse
   mirror and facet counts are rebuilt for the tenant (rustok._index_browse_rebuild). */
declare
    previous text := current_setting('rustok.tenant_id', true);
begin
    update public.index_products i set indexed_at = i.indexed_at where i.tenant_id = tenant;
    update public.index_content i set indexed_at = i.indexed_at where i.tenant_id = tenant;
    perform set_config('rustok.tenant_id', tenant::text, true);
    perform rustok._index_browse_rebuild();
    perform set_config('rustok.tenant_id', coalesce(previous, ''), true);
end
$$;
