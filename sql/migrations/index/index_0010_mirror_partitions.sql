-- depends: index_0009_browse
-- The search mirrors, partitioned by HASH(tenant_id) into 16, as nodes are. Every storefront query ends in a
-- prefix ('cott' -> 'cott':*, search as you type), and a prefix is a partial match in GIN: it gathers every
-- posting of every matching lexeme in the whole index into a bitmap before the tenant's entry narrows it, so a
-- search cost what the word costs across all tenants (on the generated data, 'cotton':* in the largest tenant:
-- 164 rows found among 30,000 postings, 5-7 ms; 'durable':* 20 ms; the exact word 'cotton' 1 ms). A partition
-- holds a sixteenth of the other tenants (measured: 0.9 ms and 2.2 ms). The search's explicit tenant filter
-- prunes to one partition. Partition indexes are named <index>_p<n> (plans show them). The mirrors are derived
-- data: their rows are copied over.
do $$
declare
    mirror record;
    i int;
    rel text;
begin
    for mirror in select * from (values
            ('index_products_text', 'product_id', 'tenant_id, search_vector, category_slugs'),
            ('index_content_text', 'node_id', 'tenant_id, search_vector')) m (name, id, search_columns) loop
        execute format('alter table rustok.%1$I rename to %1$s_unpartitioned', mirror.name);
        execute format('alter index rustok.%1$s_pkey rename to %1$s_unpartitioned_pkey', mirror.name);
        execute format('alter table rustok.%1$s_unpartitioned
                            rename constraint %1$s_tenant_id_fkey to %1$s_unpartitioned_tenant_id_fkey', mirror.name);
        execute format('drop index rustok.%1$s_search, rustok.%1$s_title', mirror.name);
        execute format('create table rustok.%1$I (like rustok.%1$s_unpartitioned including defaults,
                            constraint %1$s_pkey primary key (tenant_id, %2$I),
                            constraint %1$s_tenant_id_fkey foreign key (tenant_id)
                                references public.tenants (id) on delete cascade)
                        partition by hash (tenant_id)', mirror.name, mirror.id);
        for i in 0..15 loop
            execute format('create table rustok.%1$s_p%2$s partition of rustok.%1$I
                            for values with (modulus 16, remainder %2$s)', mirror.name, i);
        end loop;
        execute format('insert into rustok.%1$I select * from rustok.%1$s_unpartitioned', mirror.name);
        execute format('drop table rustok.%1$s_unpartitioned', mirror.name);
        execute format('create index %1$s_search on only rustok.%1$I using gin (%2$s)
                        with (fastupdate = on, gin_pending_list_limit = 256)', mirror.name, mirror.search_columns);
        execute format('create index %1$s_title on only rustok.%1$I using gin (tenant_id, title_folded gin_trgm_ops)
                        with (fastupdate = on, gin_pending_list_limit = 256)', mirror.name);
        for i in 0..15 loop
            execute format('create index %1$s_search_p%2$s on rustok.%1$s_p%2$s using gin (%3$s)
                            with (fastupdate = on, gin_pending_list_limit = 256)', mirror.name, i, mirror.search_columns);
            execute format('alter index rustok.%1$s_search attach partition rustok.%1$s_search_p%2$s', mirror.name, i);
            execute format('create index %1$s_title_p%2$s on rustok.%1$s_p%2$s
                            using gin (tenant_id, title_folded gin_trgm_ops)
                            with (fastupdate = on, gin_pending_list_limit = 256)', mirror.name, i);
            execute format('alter index rustok.%1$s_title attach partition rustok.%1$s_title_p%2$s', mirror.name, i);
        end loop;
        -- the parent and each partition (reachable on its own) as the mirror was: no grants, forced RLS, the
        -- tenant policy and the owner's
        foreach rel in array array[mirror.name] || array(select mirror.name || '_p' || n from generate_series(0, 15) n)
        loop
            execute format('revoke all on rustok.%I from public', rel);
            execute format('alter table rustok.%I enable row level security, force row level security', rel);
            execute format('create policy tenant_isolation on rustok.%I
                                using (tenant_id = (select rustok.current_tenant_id()))
                                with check (tenant_id = (select rustok.current_tenant_id()))', rel);
            execute format('create policy search_definer on rustok.%I to rustok_owner using (true) with check (true)',
                           rel);
        end loop;
    end loop;
end
$$;
-- statistics for the new partitions now (autovacuum never analyzes a partitioned parent, and the search's
-- generic plans are built from these)
analyze rustok.index_products_text, rustok.index_content_text;
