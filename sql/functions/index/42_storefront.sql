-- The server-rendered storefront's reads (py/rustok/storefront, docs/storefront.md). Catalogue and content
-- come from the index tables only (index_products, index_content): search and listings through
-- rustok.search_products / rustok.search_content, single products, pages and posts and the sitemap here.
-- The shop itself (name; currencies' minor units from the shared ISO 4217 table) and the host → tenant
-- lookup read the tenant's own row.
-- tests/py/test_storefront_reads.py checks from the function sources that nothing else is read.

create or replace function rustok.storefront_tenant_by_host(host text) returns uuid
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
    /* The id of the active tenant whose settings list this host name under `domains` (["shop.example.com"]),
       or null: how the storefront finds the tenant of a request without a /t/{slug}/ prefix. Host names are
       compared in lower case without a port; a name two tenants claim goes to the older one. Outside the
       module switch: it finds the tenant, before there is one to ask. */
    select t.id from public.tenants t
    where t.is_active and jsonb_typeof(t.settings -> 'domains') = 'array'
      and t.settings -> 'domains' ? lower(split_part(btrim(host), ':', 1))
    order by t.created_at, t.id
    limit 1
$$;

create or replace function rustok._storefront_currencies(codes text[]) returns jsonb
language sql stable as $$
    /* [{code, minorUnits, name}] of these ISO 4217 codes, alphabetical: the shared reference table, which is
       no tenant's data and needs no module. */
    select coalesce(jsonb_agg(jsonb_build_object('code', c.code, 'minorUnits', c.minor_units, 'name', c.name)
                              order by c.code), '[]'::jsonb)
    from public.commerce_currencies c where c.code = any (codes)
$$;

create or replace function rustok.storefront_shop() returns jsonb
language plpgsql stable as $$
/* The current tenant's shop: {name, slug, currencies: [{code, minorUnits, name}]} — the currencies any
   published product has a price in (from the index), alphabetical, with their ISO 4217 minor units. Raises
   TENANT_REQUIRED, MODULE_DISABLED. */
declare
    result jsonb;
begin
    perform rustok.require_module('index');
    select jsonb_build_object(
        'name', t.name, 'slug', t.slug,
        'currencies', rustok._storefront_currencies(array(
            select distinct unnest(i.currencies)::text from public.index_products i where i.tenant_id = t.id)))
    into result
    from public.tenants t where t.id = rustok.current_tenant_id();
    return result;
end
$$;

create or replace function rustok._storefront_card(i public.index_products) returns jsonb
language sql stable as $$
    /* A product as a listing shows it (the node shape of rustok.search_products, the fields a card uses). */
    select jsonb_build_object(
        'id', rustok.ulid(i.product_id), 'title', i.title, 'subtitle', i.subtitle, 'handle', i.handle,
        'inStock', i.has_stock,
        'prices', (select coalesce(jsonb_agg(jsonb_build_object('currencyCode', e.key,
                       'min', (e.value ->> 'min')::bigint, 'max', (e.value ->> 'max')::bigint) order by e.key), '[]')
                   from jsonb_each(i.prices) e))
$$;

create or replace function rustok.storefront_home(products int default 8, posts int default 5) returns jsonb
language plpgsql stable as $$
/* The home page: {featured, products, posts} — up to `products` products tagged `featured`, newest first
   (featured true), or the newest products when none is (featured false); the `posts` latest live posts. Reads
   a few rows by the index tables' (tenant, created_at) and (tenant, kind, published_at) indexes, no facets.
   Raises TENANT_REQUIRED, MODULE_DISABLED, VALIDATION_FAILED (page sizes 1..100). */
declare
    tenant uuid := rustok.require_tenant();
    n int := rustok._page_size(products, 'products');
    m int := rustok._page_size(posts, 'posts');
    picked jsonb;
    featured boolean := true;
begin
    perform rustok.require_module('index');
    select jsonb_agg(rustok._storefront_card(x) order by x.created_at desc, x.product_id desc) into picked
    from (select * from public.index_products i where i.tenant_id = tenant and i.tags @> array['featured']
          order by i.created_at desc, i.product_id desc limit n) x;
    if picked is null then
        featured := false;
        select jsonb_agg(rustok._storefront_card(x) order by x.created_at desc, x.product_id desc) into picked
        from (select * from public.index_products i where i.tenant_id = tenant
              order by i.created_at desc, i.product_id desc limit n) x;
    end if;
    return jsonb_build_object(
        'featured', featured,
        'products', coalesce(picked, '[]'::jsonb),
        'posts', coalesce((select jsonb_agg(jsonb_build_object('title', c.title, 'slug', c.slug,
                                                               'excerpt', c.excerpt, 'publishedAt', c.published_at)
                                            order by c.published_at desc, c.node_id desc)
                           from (select i.title, i.slug, i.excerpt, i.published_at, i.node_id
                                 from public.index_content i
                                 where i.tenant_id = tenant and i.kind = 'post' and i.published_at <= now()
                                 order by i.published_at desc, i.node_id desc limit m) c), '[]'::jsonb));
end
$$;

create or replace function rustok.storefront_product(handle text) returns jsonb
language plpgsql stable as $$
/* One published product by handle, as the product page shows it, or null: title, texts, categories, tags,
   meta fields, price range per currency, stock state, options and variants (each with its option values,
   guest unit price per currency and stock). Raises TENANT_REQUIRED, MODULE_DISABLED. */
declare
    result jsonb;
begin
    perform rustok.require_module('index');
    select jsonb_build_object(
        'id', rustok.ulid(i.product_id), 'title', i.title, 'subtitle', i.subtitle, 'handle', i.handle,
        'description', i.description, 'prices', i.prices, 'currencies', to_jsonb(i.currencies),
        'totalStock', i.total_stock, 'inStock', i.has_stock, 'categories', i.categories, 'tags', to_jsonb(i.tags),
        'metaTitle', i.meta_title, 'metaDescription', i.meta_description, 'options', i.options,
        'variants', i.variants, 'createdAt', i.created_at, 'indexedAt', i.indexed_at)
    into result
    from public.index_products i
    where i.tenant_id = rustok.current_tenant_id() and i.handle = storefront_product.handle;
    return result;
end
$$;

create or replace function rustok.storefront_node(kind text, slug text) returns jsonb
language plpgsql stable as $$
/* One live page or post (published, its time reached) by kind and slug, with its whole body and format, or
   null. Raises TENANT_REQUIRED, MODULE_DISABLED. */
declare
    result jsonb;
begin
    perform rustok.require_module('index');
    select jsonb_build_object(
        'id', rustok.ulid(i.node_id), 'kind', i.kind, 'title', i.title, 'slug', i.slug, 'excerpt', i.excerpt,
        'body', coalesce(i.body, ''), 'bodyFormat', coalesce(i.body_format, 'markdown'),
        'authorName', i.author_name, 'categoryName', i.category_name, 'categorySlug', i.category_slug,
        'tags', to_jsonb(i.tags), 'replyCount', i.reply_count, 'metaTitle', i.meta_title,
        'metaDescription', i.meta_description, 'publishedAt', i.published_at, 'indexedAt', i.indexed_at)
    into result
    from public.index_content i
    where i.tenant_id = rustok.current_tenant_id() and i.kind = storefront_node.kind
      and i.slug = storefront_node.slug and i.published_at <= now();
    return result;
end
$$;

create or replace function rustok.storefront_sitemap(max_urls int default 50000) returns jsonb
language plpgsql stable as $$
/* What sitemap.xml lists: {products: [{handle, updatedAt}], pages: [{slug, updatedAt}], posts: […]}, live
   content only, each list at most max_urls long (the sitemap protocol's limit is 50,000 per file). Raises
   TENANT_REQUIRED, MODULE_DISABLED. */
declare
    tenant uuid := rustok.require_tenant();
begin
    perform rustok.require_module('index');
    return jsonb_build_object(
        'products', coalesce((select jsonb_agg(jsonb_build_object('handle', p.handle, 'updatedAt', p.indexed_at)
                                               order by p.handle)
                              from (select i.handle, i.indexed_at from public.index_products i
                                    where i.tenant_id = tenant order by i.handle limit max_urls) p), '[]'::jsonb),
        'pages', (select coalesce(jsonb_agg(jsonb_build_object('slug', c.slug, 'updatedAt', c.indexed_at)
                                            order by c.slug), '[]'::jsonb)
                  from (select i.slug, i.indexed_at from public.index_content i
                        where i.tenant_id = tenant and i.kind = 'page' and i.published_at <= now()
                        order by i.slug limit max_urls) c),
        'posts', (select coalesce(jsonb_agg(jsonb_build_object('slug', c.slug, 'updatedAt', c.indexed_at)
                                            order by c.published_at desc), '[]'::jsonb)
                  from (select i.slug, i.indexed_at, i.published_at from public.index_content i
                        where i.tenant_id = tenant and i.kind = 'post' and i.published_at <= now()
                        order by i.published_at desc limit max_urls) c));
end
$$;
