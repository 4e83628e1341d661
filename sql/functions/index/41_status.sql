-- Index status for the admin: how full each index is, what waits in the queue, the config in force, and a
-- summary of rustok.index_verify.

create or replace function rustok.index_status() returns jsonb
language plpgsql stable as $$
/* The current tenant's index at a glance: for products and content, the index rows, the source rows a
   rebuild walks and the newest indexed_at; the durable queue's length and oldest entry; the IndexConfig in
   force. Needs index.manage. Raises UNAUTHENTICATED/FORBIDDEN, MODULE_DISABLED, TENANT_REQUIRED. */
declare
    tenant uuid;
begin
    perform rustok.require_module('index');
    perform rustok.require_permission('index.manage');
    tenant := rustok.require_tenant();
    return jsonb_build_object(
        'indexes', jsonb_build_array(
            (select jsonb_build_object('target', 'products', 'rows', count(*), 'lastIndexedAt', max(i.indexed_at),
                                       'sources', rustok.index_source_count('products'))
             from public.index_products i where i.tenant_id = tenant),
            (select jsonb_build_object('target', 'content', 'rows', count(*), 'lastIndexedAt', max(i.indexed_at),
                                       'sources', rustok.index_source_count('content'))
             from public.index_content i where i.tenant_id = tenant)),
        'queueLength', rustok.index_queue_length(),
        'oldestQueuedAt', (select min(q.queued_at) from public.index_queue q where q.tenant_id = tenant),
        'config', rustok.index_config());
end
$$;

create or replace function rustok.index_verify_summary(sample int default 20) returns jsonb
language plpgsql volatile as $$
/* rustok.index_verify for the current tenant, summarised: exact (nothing differs), the number of rows that
   differ by index and problem (missing, extra, stale), and the first `sample` of them. Volatile because
   index_verify is (it switches the tenant setting); it writes nothing. Needs index.manage. Raises
   UNAUTHENTICATED/FORBIDDEN, MODULE_DISABLED, TENANT_REQUIRED, VALIDATION_FAILED (sample 0..100). */
begin
    perform rustok.require_module('index');
    perform rustok.require_permission('index.manage');
    perform rustok._input_int(to_jsonb(sample), 'sample', 0, 100, required => true);
    return (
        with found as materialized (
            select v.index_name, v.target_id, v.problem, v.columns, row_number() over () as n
            from rustok.index_verify(rustok.require_tenant()) v)
        select jsonb_build_object(
            'exact', not exists (select 1 from found),
            'differences', (select count(*) from found),
            'byProblem', coalesce((select jsonb_agg(jsonb_build_object(
                                              'index', g.index_name, 'problem', g.problem, 'count', g.n)
                                          order by g.index_name, g.problem)
                                   from (select f.index_name, f.problem, count(*) as n from found f
                                         group by f.index_name, f.problem) g), '[]'::jsonb),
            'sample', coalesce((select jsonb_agg(jsonb_build_object(
                                           'index', f.index_name, 'targetId', rustok.ulid(f.target_id),
                                           'problem', f.problem, 'columns', to_jsonb(f.columns)) order by f.n)
                                from found f where f.n <= sample), '[]'::jsonb)));
end
$$;
