-- Search over the read model only (index_products, index_content): full text with weighted ranking, prefix
-- matching on the last word, typo tolerance (pg_trgm) when few rows match, accent folding, filters, facets for
-- the filtered set, keyset pagination with opaque cursors. The text match reads the search mirrors
-- rustok.index_*_text (SECURITY DEFINER with an explicit tenant filter; their owner-only policy leaves no RLS
-- qual) so the non-LEAKPROOF `@@` is an index condition on GIN (tenant_id, search_vector); see docs/index.md.

-- Loads pg_trgm into this session, so that its setting pg_trgm.word_similarity_threshold is known when the
-- search functions below SET it (a role that is not superuser may not SET a setting still unknown).
select public.word_similarity('', '');

create or replace function rustok._search_query(cfg regconfig, query text) returns tsquery
language sql stable parallel safe set search_path = pg_catalog, public, pg_temp as $$
    /* A tsquery from user input, never parsing it as tsquery syntax: accents folded, everything but letters
       and digits is a separator, each word a quoted lexeme ANDed, the last one a prefix (:*). Null when no
       word is left (or all are stop words). */
    select case when numnode(q) > 0 then q end
    from (select to_tsquery(cfg, string_agg(quote_literal(w) || case when last then ':*' else '' end,
                                            ' & ' order by n)) as q
          from (select w, n, n = max(n) over () as last
                from regexp_split_to_table(
                         btrim(regexp_replace(lower(public.unaccent(coalesce(query, ''))), '[^[:alnum:]]+', ' ', 'g')),
                         ' ') with ordinality as t (w, n)
                where w <> '') words) s
$$;

create or replace function rustok._search_text(query text) returns text
language sql immutable parallel safe as $$
    /* The query string: trimmed, '' when absent, at most 200 characters. Raises VALIDATION_FAILED (query). */
    select coalesce(rustok._input_text(to_jsonb(query), 'query', 200), '')
$$;

create or replace function rustok._search_cursor(key jsonb) returns text
language sql immutable parallel safe as $$
    /* The opaque cursor of a search result: its sort key [number, text, id] as URL-safe base64 without
       padding (rustok._search_after reads it back). Raises nothing. */
    select translate(encode(convert_to(key::text, 'UTF8'), 'base64'), E'+/=\n', '-_')
$$;

create or replace function rustok._search_after(cursor text) returns jsonb
language plpgsql immutable as $$
/* Decodes an opaque cursor [sortKeyNumber, sortKeyText, id]; raises VALIDATION_FAILED (field after, reason
   format). */
declare
    s text := translate(cursor, '-_', '+/');
    k jsonb;
begin
    if cursor is null then
        return null;
    end if;
    s := s || repeat('=', (4 - length(s) % 4) % 4);
    begin
        k := convert_from(decode(s, 'base64'), 'UTF8')::jsonb;
        if jsonb_typeof(k) <> 'array' or jsonb_array_length(k) <> 3 or jsonb_typeof(k -> 0) <> 'number'
           or jsonb_typeof(k -> 1) <> 'string' or (k ->> 2)::uuid is null then
            raise exception 'bad cursor';
        end if;
    exception when others then
        perform rustok._input_invalid('after', 'format', 'not a cursor of this search');
    end;
    return k;
end
$$;

create or replace function rustok._search_sort(sort text, allowed text[]) returns text
language sql immutable parallel safe as $$
    /* The sort asked for, one of `allowed` (any case), 'relevance' when absent. Raises VALIDATION_FAILED
       (sort, reason not_allowed). */
    select coalesce(rustok._input_choice(to_jsonb(sort), 'sort', allowed), 'relevance')
$$;

create or replace function rustok._search_args(query text, filter jsonb, sort text, sorts text[], first int,
                                               after text, out q text, out f jsonb, out srt text, out page int,
                                               out k jsonb)
language sql stable as $$
    /* The arguments both searches share, checked: the query (rustok._search_text), the filter object, the sort
       (one of `sorts`), the page size and the cursor. Raises VALIDATION_FAILED. */
    select rustok._search_text(query), rustok._input_object(filter, 'filter'), rustok._search_sort(sort, sorts),
           rustok._page_size(first), rustok._search_after(after)
$$;

create or replace function rustok._search_rank(search_vector tsvector, title text, tsq tsquery, q text,
                                               fuzzy boolean) returns float8
language sql stable parallel safe as $$
    /* The rank of a search result: the text rank (weights D 0.1, C 0.2, B 0.4, A 1.0, cover density), plus the
       title's trigram similarity to the query when the typo fallback ran; 0 without a search term. */
    select case when tsq is null then 0::float8
                else ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', search_vector, tsq)::float8
                     + case when fuzzy then public.similarity(lower(public.unaccent(q)),
                                                              lower(public.unaccent(coalesce(title, ''))))::float8
                            else 0 end
           end
$$;

create or replace function rustok.search_products(query text default null, filter jsonb default null,
                                                  sort text default null, first int default 20,
                                                  after text default null) returns jsonb
language plpgsql stable security definer set search_path = pg_catalog, public, pg_temp
    set pg_trgm.word_similarity_threshold = 0.4 set plan_cache_mode = force_generic_plan as $$
/* Published products of the current tenant matching `query` (full text, weights title A / subtitle, tags B /
   description C, last word a prefix; when fewer than 3 rows match, titles similar by trigram are added) and
   `filter` {currency, minPrice, maxPrice, inStock, category (slug), tag}; sorted by relevance | price_asc |
   price_desc | newest | title; a connection with `facets` {categories, tags, priceBuckets} of the filtered
   set. Prices are of `currency` (default: each row's first currency). Raises VALIDATION_FAILED (query over
   200 characters, unknown sort, a filter value of the wrong type, bad page size or cursor), CURRENCY_UNKNOWN
   (filter.currency). */
declare
    tenant uuid := rustok.current_tenant_id();
    q text;
    cfg regconfig;
    tsq tsquery;
    f jsonb;
    srt text;
    page int;
    k jsonb;
    cur text;
    lo bigint;
    hi bigint;
    cat text;
    tag text;
    in_stock boolean;
    fuzzy boolean := false;
    fuzzy_ids uuid[];
    ids uuid[];
    kns float8[];
    kts text[];
    prices bigint[];
    n int;
    total bigint;
    facets jsonb;
    result jsonb;
begin
    perform rustok.require_module('index');
    perform rustok.require_tenant();
    select * into q, f, srt, page, k from rustok._search_args(
        query, filter, sort, array['relevance', 'price_asc', 'price_desc', 'newest', 'title'], first, after);
    cur := rustok._commerce_currency(f -> 'currency', 'filter.currency', required => false);
    lo := rustok._input_amount(f -> 'minPrice', 'filter.minPrice');
    hi := rustok._input_amount(f -> 'maxPrice', 'filter.maxPrice');
    cat := rustok._input_text(f -> 'category', 'filter.category', 255);
    tag := rustok._input_text(f -> 'tag', 'filter.tag', 255);
    in_stock := rustok._input_bool(f -> 'inStock', 'filter.inStock');
    cfg := rustok._search_config(tenant);
    tsq := rustok._search_query(cfg, q);
    if tsq is null and cur is not null and current_setting('rustok.search_browse', true) is distinct from 'off' then
        -- browsing: the narrow mirror and the kept facet counts (35_browse.sql); `rustok.search_browse = off`
        -- takes the path below instead (tests compare both)
        select b.ids, b.kns, b.kts, b.prices, b.total, b.facets into ids, kns, kts, prices, total, facets
        from rustok._search_products_browse(jsonb_build_object('inStock', in_stock, 'category', cat, 'tag', tag),
                                            cur, lo, hi, srt, page, k) b;
    else
        loop  -- once; twice when a search term matches fewer than 3 rows (then with the typo fallback)
            with matched_rows as (
                -- without a search term: the tenant's index rows
                select i.product_id, i.title, i.min_price, i.prices, i.has_stock, i.category_slugs, i.categories,
                       i.tags, i.created_at, i.search_vector
                from public.index_products i where tsq is null and i.tenant_id = tenant
                union all
                -- with one: the matches straight from the text mirror, which carries what filters, sorts and
                -- facets read (index_0013). `@@` is an index condition on its GIN index (explicit tenant
                -- filter; the owner policy folds to true), narrowed there by the category when there is one
                select m.product_id, m.title, m.min_price, m.prices, m.has_stock, m.category_slugs, m.categories,
                       m.tags, m.created_at, m.search_vector
                from rustok.index_products_text m
                where tsq is not null and not fuzzy and cat is null and m.tenant_id = tenant and m.search_vector @@ tsq
                union all
                select m.product_id, m.title, m.min_price, m.prices, m.has_stock, m.category_slugs, m.categories,
                       m.tags, m.created_at, m.search_vector
                from rustok.index_products_text m
                where tsq is not null and not fuzzy and cat is not null and m.tenant_id = tenant
                  and m.search_vector @@ tsq and m.category_slugs @> array[cat]
                union all
                -- the typo fallback's matches, by primary key
                select m.product_id, m.title, m.min_price, m.prices, m.has_stock, m.category_slugs, m.categories,
                       m.tags, m.created_at, m.search_vector
                from unnest(fuzzy_ids) x (id)
                join rustok.index_products_text m on m.tenant_id = tenant and m.product_id = x.id
                where fuzzy
            ), matched as (
                -- ranking every match costs more than reading it (~5 µs a row): only to sort by it; the page's
                -- nodes show theirs, computed below
                select r.product_id, r.title, r.min_price, r.prices, r.has_stock, r.category_slugs, r.categories,
                       r.tags, r.created_at,
                       case when srt = 'relevance' then rustok._search_rank(r.search_vector, r.title, tsq, q, fuzzy)
                            else 0::float8 end as rank
                from matched_rows r
            ), base as (
                select i.product_id, i.title, i.categories, i.tags, i.created_at, i.rank,
                       case when cur is null then i.min_price else (i.prices -> cur ->> 'min')::bigint end as price
                from matched i
                where (cur is null or i.prices ? cur)
                  and (in_stock is null or i.has_stock = in_stock)
                  and (cat is null or i.category_slugs @> array[cat])
                  and (tag is null or i.tags @> array[tag])
            ), filtered as (
                select b.*,
                       case srt when 'relevance' then -b.rank
                                when 'price_asc' then coalesce(b.price::float8, 'infinity')
                                when 'price_desc' then coalesce(-b.price::float8, 'infinity')
                                when 'newest' then -extract(epoch from b.created_at)::float8
                                else 0 end as kn,
                       case when srt = 'title' then lower(b.title) else '' end as kt
                from base b
                where (lo is null or b.price >= lo) and (hi is null or b.price <= hi)
            ), page_rows as (
                select * from filtered r
                where k is null or (r.kn, r.kt, r.product_id) > ((k ->> 0)::float8, k ->> 1, (k ->> 2)::uuid)
                order by r.kn, r.kt, r.product_id
                limit page + 1
            )
            select (select array_agg(p.product_id order by p.kn, p.kt, p.product_id) from page_rows p),
                   (select array_agg(p.kn order by p.kn, p.kt, p.product_id) from page_rows p),
                   (select array_agg(p.kt order by p.kn, p.kt, p.product_id) from page_rows p),
                   (select array_agg(p.price order by p.kn, p.kt, p.product_id) from page_rows p),
                   (select count(*) from filtered),
                   jsonb_build_object(
                    -- the sets unnested in the select list (a function scan per row cost three times as much)
                    'categories', coalesce((select jsonb_agg(jsonb_build_object('value', v, 'label', l, 'count', c)
                                                             order by c desc, v)
                                            from (select x.c ->> 'handle' as v, min(x.c ->> 'name') as l, count(*) as c
                                                  from (select jsonb_array_elements(r.categories) as c
                                                        from filtered r) x
                                                  group by 1) s), '[]'::jsonb),
                    'tags', coalesce((select jsonb_agg(jsonb_build_object('value', v, 'label', v, 'count', c)
                                                       order by c desc, v)
                                      from (select x.t as v, count(*) as c
                                            from (select unnest(r.tags) as t from filtered r) x
                                            group by 1) s), '[]'::jsonb),
                    'priceBuckets', coalesce((select jsonb_agg(jsonb_build_object('min', b.lo, 'max', b.hi,
                                                                                  'count', c) order by b.lo)
                                              from (select bk.lo, bk.hi, count(*) as c
                                                    from filtered r
                                                    join (values (0::bigint, 1000::bigint), (1000, 5000),
                                                                 (5000, 10000), (10000, 50000), (50000, null))
                                                         bk (lo, hi)
                                                      on r.price >= bk.lo and (bk.hi is null or r.price < bk.hi)
                                                    group by bk.lo, bk.hi) b), '[]'::jsonb))
            into ids, kns, kts, prices, total, facets;
            exit when tsq is null or fuzzy or q = '' or total >= 3;
            -- the text matches before the filters decide (read here, not above: a second reader of `matched`
            -- would have it materialized, every column of every match copied)
            select array_agg(m.product_id) into fuzzy_ids
            from rustok.index_products_text m
            where m.tenant_id = tenant and m.search_vector @@ tsq and (cat is null or m.category_slugs @> array[cat]);
            exit when cardinality(fuzzy_ids) >= 3;
            -- fewer than 3 text matches: add titles similar by trigram. `<%` (word similarity >=
            -- pg_trgm.word_similarity_threshold, 0.4 by this function's SET) is an index condition on GIN
            -- (tenant_id, title_folded gin_trgm_ops); word_similarity() >= 0.4 was not
            fuzzy := true;
            select array_agg(x.id) into fuzzy_ids
            from (select unnest(fuzzy_ids) as id
                  union
                  select m.product_id from rustok.index_products_text m
                  where m.tenant_id = tenant and lower(public.unaccent(q)) operator(public.<%) m.title_folded) x;
        end loop;
    end if;
    -- the page: rows 1..page of the page + 1 found, shown from their index rows
    n := coalesce(cardinality(ids), 0);
    select jsonb_build_object(
        'edges', coalesce((select jsonb_agg(jsonb_build_object(
                               'cursor', rustok._search_cursor(jsonb_build_array(h.kn, h.kt, h.id)),
                               'node', rustok._search_product_node(
                                           i, h.price, rustok._search_rank(i.search_vector, i.title, tsq, q, fuzzy),
                                           px.prices)) order by h.n)
                           from unnest(ids, kns, kts, prices) with ordinality h (id, kn, kt, price, n)
                           join public.index_products i on i.tenant_id = tenant and i.product_id = h.id
                           cross join lateral (
                               -- [{currencyCode, min, max}] by currency
                               select coalesce(jsonb_agg(jsonb_build_object('currencyCode', e.key,
                                          'min', (e.value ->> 'min')::bigint, 'max', (e.value ->> 'max')::bigint)
                                          order by e.key), '[]') as prices
                               from jsonb_each(i.prices) e) px
                           where h.n <= page), '[]'::jsonb),
        'pageInfo', rustok._page_info(
            n > page, after,
            case when n > 0 then rustok._search_cursor(jsonb_build_array(kns[1], kts[1], ids[1])) end,
            case when n > 0 then rustok._search_cursor(jsonb_build_array(kns[least(page, n)], kts[least(page, n)],
                                                                         ids[least(page, n)])) end),
        'totalCount', total,
        'fuzzy', fuzzy,
        'facets', facets)
    into result;
    return result;
end
$$;

create or replace function rustok.search_content(query text default null, filter jsonb default null,
                                                 sort text default null, first int default 20,
                                                 after text default null) returns jsonb
language plpgsql stable security definer set search_path = pg_catalog, public, pg_temp
    set pg_trgm.word_similarity_threshold = 0.4 as $$
/* Published pages and posts of the current tenant (published_at <= now()) matching `query` (as
   search_products) and `filter` {kind, status, category (slug), tag, author (id)}; sorted by relevance |
   newest | title; nodes carry a `snippet` (ts_headline over body_preview or excerpt); `facets` {kinds,
   categories, tags} of the filtered set. Raises VALIDATION_FAILED as search_products, INVALID_ID for a bad
   author id (filter.author). */
declare
    tenant uuid := rustok.current_tenant_id();
    q text;
    cfg regconfig;
    tsq tsquery;
    f jsonb;
    srt text;
    page int;
    k jsonb;
    node_kind text;
    node_status text;
    cat text;
    tag text;
    author uuid;
    fuzzy boolean := false;
    ids uuid[];
    result jsonb;
begin
    perform rustok.require_module('index');
    perform rustok.require_tenant();
    select * into q, f, srt, page, k from rustok._search_args(
        query, filter, sort, array['relevance', 'newest', 'title'], first, after);
    node_kind := rustok._input_text(f -> 'kind', 'filter.kind', 255);
    node_status := rustok._input_text(f -> 'status', 'filter.status', 255);
    cat := rustok._input_text(f -> 'category', 'filter.category', 255);
    tag := rustok._input_text(f -> 'tag', 'filter.tag', 255);
    author := rustok._input_id(f -> 'author', 'filter.author');
    cfg := rustok._search_config(tenant);
    tsq := rustok._search_query(cfg, q);
    select array_agg(i.node_id) into ids
    from rustok.index_content_text i where i.tenant_id = tenant and tsq is not null and i.search_vector @@ tsq;
    if tsq is not null and coalesce(cardinality(ids), 0) < 3 and q <> '' then
        fuzzy := true;
        select array_agg(x.id) into ids
        from (select unnest(ids) as id
              union
              select i.node_id from rustok.index_content_text i
              where i.tenant_id = tenant and lower(public.unaccent(q)) operator(public.<%) i.title_folded) x;
    end if;
    with matched as (
        -- as in search_products: the tenant's rows, or the matching ones by primary key
        select i.* from public.index_content i where tsq is null and i.tenant_id = tenant
        union all
        select i.* from unnest(coalesce(ids, '{}')) m (id)
        join public.index_content i on i.tenant_id = tenant and i.node_id = m.id
        where tsq is not null
    ), base as (
        -- only the columns a result shows (not the whole body): see search_products
        select i.node_id, i.kind, i.title, i.slug, i.excerpt, i.body_preview, i.status, i.author_id, i.author_name,
               i.category_id, i.category_name, i.category_slug, i.tags, i.published_at, i.created_at,
               rustok._search_rank(i.search_vector, i.title, tsq, q, fuzzy) as rank
        from matched i
        where i.published_at <= now()
          and (node_kind is null or i.kind = node_kind)
          and (node_status is null or i.status = node_status)
          and (cat is null or i.category_slug = cat)
          and (tag is null or i.tags @> array[tag])
          and (author is null or i.author_id = author)
    ), filtered as (
        select b.*,
               case srt when 'relevance' then -b.rank
                        when 'newest' then -extract(epoch from b.published_at)::float8
                        else 0 end as kn,
               case when srt = 'title' then lower(coalesce(b.title, '')) else '' end as kt
        from base b
    ), page_rows as (
        select * from filtered r
        where k is null or (r.kn, r.kt, r.node_id) > ((k ->> 0)::float8, k ->> 1, (k ->> 2)::uuid)
        order by r.kn, r.kt, r.node_id
        limit page + 1
    ), numbered as (
        select p.*, row_number() over (order by p.kn, p.kt, p.node_id) as n from page_rows p
    )
    select jsonb_build_object(
        'edges', coalesce((select jsonb_agg(jsonb_build_object(
                     'cursor', rustok._search_cursor(jsonb_build_array(r.kn, r.kt, r.node_id)),
                     'node', jsonb_build_object(
                         'id', rustok.ulid(r.node_id), 'kind', r.kind, 'title', r.title, 'slug', r.slug,
                         'excerpt', r.excerpt, 'bodyPreview', r.body_preview, 'status', r.status,
                         'authorId', rustok.ulid(r.author_id), 'authorName', r.author_name,
                         'categoryId', rustok.ulid(r.category_id), 'categoryName', r.category_name,
                         'categorySlug', r.category_slug, 'tags', to_jsonb(r.tags),
                         'publishedAt', r.published_at, 'createdAt', r.created_at, 'rank', r.rank,
                         'snippet', case when tsq is not null
                                         then ts_headline(cfg, public.unaccent(coalesce(r.body_preview, r.excerpt, '')),
                                                          tsq, 'MaxWords=30, MinWords=10')
                                         else left(coalesce(r.excerpt, r.body_preview, ''), 200) end))
                     order by r.n)
                   from numbered r where r.n <= page), '[]'::jsonb),
        'pageInfo', rustok._page_info(
            (select count(*) > page from numbered), after,
            (select rustok._search_cursor(jsonb_build_array(r.kn, r.kt, r.node_id)) from numbered r where r.n = 1),
            (select rustok._search_cursor(jsonb_build_array(r.kn, r.kt, r.node_id))
             from numbered r where r.n = least(page, (select count(*) from numbered)))),
        'totalCount', (select count(*) from filtered),
        'fuzzy', fuzzy,
        'facets', jsonb_build_object(
            'kinds', coalesce((select jsonb_agg(jsonb_build_object('value', v, 'label', v, 'count', c)
                                                order by c desc, v)
                               from (select r.kind as v, count(*) as c from filtered r group by 1) s), '[]'::jsonb),
            'categories', coalesce((select jsonb_agg(jsonb_build_object('value', v, 'label', l, 'count', c)
                                                     order by c desc, v)
                                    from (select r.category_slug as v, min(r.category_name) as l, count(*) as c
                                          from filtered r where r.category_slug is not null group by 1) s),
                                   '[]'::jsonb),
            'tags', coalesce((select jsonb_agg(jsonb_build_object('value', v, 'label', v, 'count', c)
                                               order by c desc, v)
                              from (select t as v, count(*) as c from filtered r cross join unnest(r.tags) t
                                    group by 1) s), '[]'::jsonb)))
    into result;
    return result;
end
$$;
