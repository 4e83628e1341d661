-- Products: create (with options, variants, prices, stock, categories, collections and tags in one call),
-- update, delete, and the reads (published only, unless the caller holds products.manage).

create or replace function rustok._commerce_insert_price(v public.commerce_variants, input jsonb, field text)
returns uuid
language plpgsql volatile as $$
/* Inserts one price of variant v from {amount, currencyCode, minQuantity, priceListId}. Raises VALIDATION_FAILED
   (amount missing or out of range, a duplicate price), CURRENCY_UNKNOWN, NOT_FOUND (price list), INVALID_ID. */
declare
    price_amount bigint;
    price_currency text;
    price_min_quantity int;
    price_list uuid;
    price_id uuid;
begin
    perform rustok._input_object(input, field, required => true);
    price_amount := rustok._input_amount(input -> 'amount', field || '.amount', required => true);
    price_currency := rustok._commerce_currency(input -> 'currencyCode', field || '.currencyCode');
    price_min_quantity := coalesce(rustok._input_int(input -> 'minQuantity', field || '.minQuantity', 1, 1000000), 1);
    price_list := rustok._input_id(input -> 'priceListId', field || '.priceListId');
    if price_list is not null and not exists (select 1 from public.commerce_price_lists pl
                                              where pl.tenant_id = v.tenant_id and pl.id = price_list) then
        perform rustok.raise('NOT_FOUND', 'no such price list', jsonb_build_object('field', field || '.priceListId'));
    end if;
    insert into public.commerce_prices (tenant_id, variant_id, currency_code, amount, min_quantity, price_list_id)
    values (v.tenant_id, v.id, price_currency, price_amount, price_min_quantity, price_list)
    on conflict (tenant_id, variant_id, currency_code, price_list_id, min_quantity) do nothing
    returning id into price_id;
    if price_id is null then
        perform rustok._input_invalid(field, 'duplicate_price',
                                      'the variant already has this price (currency, list, tier)');
    end if;
    return price_id;
end
$$;

create or replace function rustok._commerce_insert_variant(p public.commerce_products, input jsonb, field text,
                                                           pos int)
returns uuid
language plpgsql volatile as $$
/* Inserts one variant of product p from {title, sku, barcode, manageInventory, allowBackorder, weight, length,
   height, width, metadata, options: [{option, value}] (one value of each product option), prices: [...],
   inventoryQuantity (stock at the default location)}. Raises VALIDATION_FAILED, CURRENCY_UNKNOWN, CONFLICT
   (sku taken), NOT_FOUND (price list), INVALID_ID. */
declare
    v public.commerce_variants;
    option_count int;
    chosen jsonb := '[]';
    item jsonb;
    i int;
    opt record;
    option_title text;
    option_value text;
    quantity bigint;
begin
    perform rustok._input_object(input, field, required => true);
    select count(*) into option_count from public.commerce_product_options o
    where o.tenant_id = p.tenant_id and o.product_id = p.id;

    for item, i in select e, n - 1 from jsonb_array_elements(
            rustok._input_array(input -> 'options', field || '.options', 20)) with ordinality as t (e, n) loop
        perform rustok._input_object(item, format('%s.options[%s]', field, i), required => true);
        option_title := rustok._input_text(item -> 'option', format('%s.options[%s].option', field, i), 255,
                                           required => true);
        option_value := rustok._input_text(item -> 'value', format('%s.options[%s].value', field, i), 255,
                                           required => true);
        select o.id as option_id, o.position, ov.id as value_id into opt
        from public.commerce_product_options o
        left join public.commerce_product_option_values ov
            on ov.tenant_id = o.tenant_id and ov.option_id = o.id and ov.value = option_value
        where o.tenant_id = p.tenant_id and o.product_id = p.id and o.title = option_title;
        if opt.option_id is null or opt.value_id is null then
            perform rustok._input_invalid(format('%s.options[%s]', field, i), 'unknown_option_value',
                                          'the product has no such option or option value');
        end if;
        if chosen @> jsonb_build_array(jsonb_build_object('optionId', opt.option_id)) then
            perform rustok._input_invalid(format('%s.options[%s]', field, i), 'duplicate_option',
                                          'one value per option');
        end if;
        chosen := chosen || jsonb_build_array(jsonb_build_object(
            'optionId', opt.option_id, 'valueId', opt.value_id, 'value', option_value, 'position', opt.position));
    end loop;
    if jsonb_array_length(chosen) <> option_count then
        perform rustok._input_invalid(field || '.options', 'missing_option',
                                      'a variant needs one value of every product option');
    end if;
    if option_count > 0 and exists (
            select 1 from public.commerce_variants other
            where other.tenant_id = p.tenant_id and other.product_id = p.id
              and (select array_agg(x.option_value_id order by x.option_value_id)
                   from public.commerce_variant_option_values x
                   where x.tenant_id = other.tenant_id and x.variant_id = other.id)
                = (select array_agg((c ->> 'valueId')::uuid order by (c ->> 'valueId')::uuid)
                   from jsonb_array_elements(chosen) c)) then
        perform rustok._input_invalid(field || '.options', 'duplicate_variant',
                                      'another variant has the same option values');
    end if;

    insert into public.commerce_variants as cv (
        tenant_id, product_id, title, sku, barcode, manage_inventory, allow_backorder,
        weight, length, height, width, position, metadata)
    values (
        p.tenant_id, p.id,
        coalesce(rustok._input_text(input -> 'title', field || '.title', 255),
                 (select string_agg(c ->> 'value', ' / ' order by (c ->> 'position')::int, c ->> 'value')
                  from jsonb_array_elements(chosen) c),
                 'Default'),
        rustok._input_text(input -> 'sku', field || '.sku', 64),
        rustok._input_text(input -> 'barcode', field || '.barcode', 64),
        rustok._input_bool(input -> 'manageInventory', field || '.manageInventory', true),
        rustok._input_bool(input -> 'allowBackorder', field || '.allowBackorder', false),
        rustok._input_int(input -> 'weight', field || '.weight', 0, 2147483647),
        rustok._input_int(input -> 'length', field || '.length', 0, 2147483647),
        rustok._input_int(input -> 'height', field || '.height', 0, 2147483647),
        rustok._input_int(input -> 'width', field || '.width', 0, 2147483647),
        pos,
        rustok._input_object(input -> 'metadata', field || '.metadata'))
    on conflict (tenant_id, sku) do nothing
    returning * into v;
    if v.id is null then
        perform rustok.raise('CONFLICT', 'the SKU is taken', jsonb_build_object('field', field || '.sku'));
    end if;

    insert into public.commerce_variant_option_values (tenant_id, product_id, variant_id, option_id, option_value_id)
    select p.tenant_id, p.id, v.id, (c ->> 'optionId')::uuid, (c ->> 'valueId')::uuid
    from jsonb_array_elements(chosen) c;

    for item, i in select e, n - 1 from jsonb_array_elements(
            rustok._input_array(input -> 'prices', field || '.prices', 100)) with ordinality as t (e, n) loop
        perform rustok._commerce_insert_price(v, item, format('%s.prices[%s]', field, i));
    end loop;

    quantity := rustok._input_int(input -> 'inventoryQuantity', field || '.inventoryQuantity', 0, 1000000000);
    if quantity is not null then
        insert into public.commerce_inventory_levels (tenant_id, variant_id, location_id, stocked_quantity)
        values (p.tenant_id, v.id, rustok._commerce_default_location(), quantity);
    end if;
    return v.id;
end
$$;

create or replace function rustok._commerce_link_taxonomy(p public.commerce_products, input jsonb) returns void
language plpgsql volatile as $$
/* Sets the product's categories (categoryIds), collections (collectionIds) and tags, each only when its key
   is present (replacing what was there). Raises NOT_FOUND (an id not in this tenant), INVALID_ID,
   VALIDATION_FAILED. */
declare
    ids uuid[];
    tag_values text[];
begin
    if input ? 'categoryIds' then
        ids := rustok._input_ids(input -> 'categoryIds', 'categoryIds');
        if (select count(*) from public.commerce_categories c where c.tenant_id = p.tenant_id and c.id = any (ids))
           <> cardinality(ids) then
            perform rustok.raise('NOT_FOUND', 'no such category', jsonb_build_object('field', 'categoryIds'));
        end if;
        delete from public.commerce_product_categories pc where pc.tenant_id = p.tenant_id and pc.product_id = p.id;
        insert into public.commerce_product_categories (tenant_id, product_id, category_id)
        select p.tenant_id, p.id, unnest(ids);
    end if;
    if input ? 'collectionIds' then
        ids := rustok._input_ids(input -> 'collectionIds', 'collectionIds');
        if (select count(*) from public.commerce_collections c where c.tenant_id = p.tenant_id and c.id = any (ids))
           <> cardinality(ids) then
            perform rustok.raise('NOT_FOUND', 'no such collection', jsonb_build_object('field', 'collectionIds'));
        end if;
        delete from public.commerce_product_collections pc where pc.tenant_id = p.tenant_id and pc.product_id = p.id;
        insert into public.commerce_product_collections (tenant_id, product_id, collection_id)
        select p.tenant_id, p.id, unnest(ids);
    end if;
    if input ? 'tags' then
        select coalesce(array_agg(distinct rustok._input_text(e, format('tags[%s]', n - 1), 64, required => true)),
                        '{}')
        into tag_values
        from jsonb_array_elements(rustok._input_array(input -> 'tags', 'tags', 50)) with ordinality as t (e, n);
        delete from public.commerce_product_tags t where t.tenant_id = p.tenant_id and t.product_id = p.id;
        insert into public.commerce_product_tags (tenant_id, product_id, value)
        select p.tenant_id, p.id, unnest(tag_values);
    end if;
end
$$;

create or replace function rustok.create_product(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Creates a product with its options (input.options: [{title, values}]), variants (input.variants, each with
   option values, prices and initial stock; none given: one "Default" variant), categories, collections and
   tags, in one transaction; emits ProductCreated {product_id, handle, variant_ids}. Needs products.manage.
   Raises FORBIDDEN/UNAUTHENTICATED, VALIDATION_FAILED, CURRENCY_UNKNOWN, CONFLICT (handle, sku), NOT_FOUND
   (category, collection, price list), INVALID_ID. Returns the Product. */
declare
    p public.commerce_products;
    product_title text;
    item jsonb;
    val jsonb;
    i int;
    j int;
    new_option_id uuid;
    variants jsonb;
    variant_ids text[] := '{}';
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('products.manage');
    input := rustok._input_object(input, 'input', required => true);
    product_title := rustok._input_text(input -> 'title', 'title', 255, required => true);
    insert into public.commerce_products as cp (tenant_id, title, subtitle, handle, description, status, discountable,
                                                metadata)
    values (rustok.require_tenant(), product_title,
            rustok._input_text(input -> 'subtitle', 'subtitle', 255),
            rustok._commerce_handle(input -> 'handle', product_title),
            rustok._input_text(input -> 'description', 'description', 100000),
            coalesce(rustok._input_choice(input -> 'status', 'status', '{draft,published,archived}'), 'draft'),
            rustok._input_bool(input -> 'discountable', 'discountable', true),
            rustok._input_object(input -> 'metadata', 'metadata'))
    on conflict (tenant_id, handle) do nothing
    returning * into p;
    if p.id is null then
        perform rustok.raise('CONFLICT', 'the handle is taken', jsonb_build_object('field', 'handle'));
    end if;

    for item, i in select e, n - 1 from jsonb_array_elements(
            rustok._input_array(input -> 'options', 'options', 10)) with ordinality as t (e, n) loop
        perform rustok._input_object(item, format('options[%s]', i), required => true);
        insert into public.commerce_product_options (tenant_id, product_id, title, position)
        values (p.tenant_id, p.id,
                rustok._input_text(item -> 'title', format('options[%s].title', i), 255, required => true), i)
        on conflict (tenant_id, product_id, title) do nothing
        returning id into new_option_id;
        if new_option_id is null then
            perform rustok._input_invalid(format('options[%s].title', i), 'duplicate', 'option titles must differ');
        end if;
        if jsonb_array_length(rustok._input_array(item -> 'values', format('options[%s].values', i), 100)) = 0 then
            perform rustok._input_invalid(format('options[%s].values', i), 'required',
                                          'an option needs at least one value');
        end if;
        for val, j in select e, n - 1 from jsonb_array_elements(item -> 'values') with ordinality as t (e, n) loop
            insert into public.commerce_product_option_values (tenant_id, option_id, value, position)
            values (p.tenant_id, new_option_id,
                    rustok._input_text(val, format('options[%s].values[%s]', i, j), 255, required => true), j)
            on conflict (tenant_id, option_id, value) do nothing;
            if not found then
                perform rustok._input_invalid(format('options[%s].values[%s]', i, j), 'duplicate',
                                              'option values must differ');
            end if;
        end loop;
    end loop;

    variants := rustok._input_array(input -> 'variants', 'variants', 100);
    if jsonb_array_length(variants) = 0 then
        variants := '[{}]';
    end if;
    for item, i in select e, n - 1 from jsonb_array_elements(variants) with ordinality as t (e, n) loop
        variant_ids := variant_ids
            || rustok.ulid(rustok._commerce_insert_variant(p, item, format('variants[%s]', i), i));
    end loop;
    perform rustok._commerce_link_taxonomy(p, input);

    perform rustok.publish_event('ProductCreated', jsonb_build_object(
        'product_id', rustok.ulid(p.id), 'handle', p.handle, 'variant_ids', to_jsonb(variant_ids)));
    return rustok._commerce_product_json(p);
end
$$;

create or replace function rustok.update_product(product_id uuid, input jsonb) returns jsonb
language plpgsql volatile as $$
/* Changes the product fields present in input (title, subtitle, handle, description, status, discountable,
   metadata; categoryIds, collectionIds, tags replace the sets), removes variants (removeVariantIds), changes
   existing variants (variants[] with id: title, sku, barcode, manageInventory, allowBackorder, dimensions,
   metadata) and adds new ones (variants[] without id, as in create_product). Emits ProductUpdated, and
   VariantDeleted/VariantUpdated/VariantCreated for each variant touched. Needs products.manage. Raises
   FORBIDDEN/UNAUTHENTICATED, NOT_FOUND, VALIDATION_FAILED, CURRENCY_UNKNOWN, CONFLICT, INVALID_ID. */
declare
    p public.commerce_products;
    new_title text;
    new_handle text;
    item jsonb;
    i int;
    variant_id uuid;
    v public.commerce_variants;
    removed uuid[];
    deleted_count int;
    next_position int;
    new_sku text;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('products.manage');
    input := rustok._input_object(input, 'input', required => true);
    select * into p from public.commerce_products cp
    where cp.tenant_id = rustok.require_tenant() and cp.id = update_product.product_id
    for update;
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such product', jsonb_build_object('field', 'id'));
    end if;

    new_title := case when input ? 'title' then rustok._input_text(input -> 'title', 'title', 255, required => true)
                      else p.title end;
    new_handle := case when input ->> 'handle' is not null then rustok._commerce_handle(input -> 'handle', new_title)
                       else p.handle end;
    if new_handle <> p.handle and exists (select 1 from public.commerce_products o
                                          where o.tenant_id = p.tenant_id and o.handle = new_handle) then
        perform rustok.raise('CONFLICT', 'the handle is taken', jsonb_build_object('field', 'handle'));
    end if;
    update public.commerce_products cp set
        title = new_title,
        handle = new_handle,
        subtitle = case when input ? 'subtitle' then rustok._input_text(input -> 'subtitle', 'subtitle', 255)
                        else cp.subtitle end,
        description = case when input ? 'description'
                           then rustok._input_text(input -> 'description', 'description', 100000)
                           else cp.description end,
        status = case when input ? 'status'
                      then rustok._input_choice(input -> 'status', 'status', '{draft,published,archived}',
                                                required => true)
                      else cp.status end,
        discountable = rustok._input_bool(input -> 'discountable', 'discountable', cp.discountable),
        metadata = case when input ? 'metadata'
                        then rustok._input_object(input -> 'metadata', 'metadata') else cp.metadata end
    where cp.tenant_id = p.tenant_id and cp.id = p.id
    returning * into p;
    perform rustok._commerce_link_taxonomy(p, input);

    removed := rustok._input_ids(input -> 'removeVariantIds', 'removeVariantIds');
    delete from public.commerce_variants cv
    where cv.tenant_id = p.tenant_id and cv.product_id = p.id and cv.id = any (removed);
    get diagnostics deleted_count = row_count;
    if deleted_count <> cardinality(removed) then
        perform rustok.raise('NOT_FOUND', 'the product has no such variant',
                             jsonb_build_object('field', 'removeVariantIds'));
    end if;
    perform rustok.publish_event('VariantDeleted', jsonb_build_object(
                'product_id', rustok.ulid(p.id), 'variant_id', rustok.ulid(r)))
    from unnest(removed) r;

    for item, i in select e, n - 1 from jsonb_array_elements(
            rustok._input_array(input -> 'variants', 'variants', 100)) with ordinality as t (e, n) loop
        perform rustok._input_object(item, format('variants[%s]', i), required => true);
        variant_id := rustok._input_id(item -> 'id', format('variants[%s].id', i));
        if variant_id is null then
            select coalesce(max(cv.position) + 1, 0) into next_position from public.commerce_variants cv
            where cv.tenant_id = p.tenant_id and cv.product_id = p.id;
            variant_id := rustok._commerce_insert_variant(p, item, format('variants[%s]', i), next_position);
            perform rustok.publish_event('VariantCreated', jsonb_build_object(
                'product_id', rustok.ulid(p.id), 'variant_id', rustok.ulid(variant_id)));
            continue;
        end if;
        if item ?| array['options', 'prices', 'inventoryQuantity'] then
            perform rustok._input_invalid(
                format('variants[%s]', i), 'not_updatable',
                'an existing variant''s prices and stock change with setPrice and adjustInventory');
        end if;
        select * into v from public.commerce_variants cv
        where cv.tenant_id = p.tenant_id and cv.product_id = p.id and cv.id = variant_id
        for update;
        if not found then
            perform rustok.raise('NOT_FOUND', 'the product has no such variant',
                                 jsonb_build_object('field', format('variants[%s].id', i)));
        end if;
        new_sku := case when item ? 'sku' then rustok._input_text(item -> 'sku', format('variants[%s].sku', i), 64)
                        else v.sku end;
        if new_sku is distinct from v.sku and exists (
                select 1 from public.commerce_variants o where o.tenant_id = p.tenant_id and o.sku = new_sku) then
            perform rustok.raise('CONFLICT', 'the SKU is taken', jsonb_build_object('field', format('variants[%s].sku', i)));
        end if;
        update public.commerce_variants cv set
            title = coalesce(rustok._input_text(item -> 'title', format('variants[%s].title', i), 255), cv.title),
            sku = new_sku,
            barcode = case when item ? 'barcode'
                           then rustok._input_text(item -> 'barcode', format('variants[%s].barcode', i), 64)
                           else cv.barcode end,
            manage_inventory = rustok._input_bool(item -> 'manageInventory',
                                                     format('variants[%s].manageInventory', i), cv.manage_inventory),
            allow_backorder = rustok._input_bool(item -> 'allowBackorder',
                                                    format('variants[%s].allowBackorder', i), cv.allow_backorder),
            weight = case when item ? 'weight' then rustok._input_int(item -> 'weight',
                          format('variants[%s].weight', i), 0, 2147483647) else cv.weight end,
            length = case when item ? 'length' then rustok._input_int(item -> 'length',
                          format('variants[%s].length', i), 0, 2147483647) else cv.length end,
            height = case when item ? 'height' then rustok._input_int(item -> 'height',
                          format('variants[%s].height', i), 0, 2147483647) else cv.height end,
            width = case when item ? 'width' then rustok._input_int(item -> 'width',
                         format('variants[%s].width', i), 0, 2147483647) else cv.width end,
            metadata = case when item ? 'metadata' then rustok._input_object(item -> 'metadata',
                            format('variants[%s].metadata', i)) else cv.metadata end
        where cv.tenant_id = v.tenant_id and cv.id = v.id;
        perform rustok.publish_event('VariantUpdated', jsonb_build_object(
            'product_id', rustok.ulid(p.id), 'variant_id', rustok.ulid(v.id)));
    end loop;

    perform rustok.publish_event('ProductUpdated', jsonb_build_object(
        'product_id', rustok.ulid(p.id), 'handle', p.handle, 'status', p.status));
    return rustok._commerce_product_json(p);
end
$$;

create or replace function rustok.delete_product(product_id uuid) returns jsonb
language plpgsql volatile as $$
/* Deletes a product with its variants, prices, stock levels and the cart lines that held them (orders keep
   their snapshots); emits ProductDeleted {product_id, handle}. Needs products.manage. Raises
   FORBIDDEN/UNAUTHENTICATED, NOT_FOUND. Returns {id}. */
declare
    p public.commerce_products;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('products.manage');
    delete from public.commerce_products cp
    where cp.tenant_id = rustok.require_tenant() and cp.id = delete_product.product_id
    returning * into p;
    if p.id is null then
        perform rustok.raise('NOT_FOUND', 'no such product', jsonb_build_object('field', 'id'));
    end if;
    perform rustok.publish_event('ProductDeleted', jsonb_build_object(
        'product_id', rustok.ulid(p.id), 'handle', p.handle));
    return jsonb_build_object('id', rustok.ulid(p.id));
end
$$;

create or replace function rustok.product_by_id(product_id uuid) returns jsonb
language plpgsql stable as $$
/* One product of the tenant, or null: published ones for everybody, any status for products.manage. */
begin
    perform rustok.require_module('commerce');
    return (select rustok._commerce_product_json(p) from public.commerce_products p
            where p.tenant_id = rustok.current_tenant_id() and p.id = product_by_id.product_id
              and (p.status = 'published' or rustok.has_permission('products.manage')));
end
$$;

create or replace function rustok.product_by_handle(handle text) returns jsonb
language plpgsql stable as $$
/* One product of the tenant by handle, or null: published ones for everybody, any status for
   products.manage. */
begin
    perform rustok.require_module('commerce');
    return (select rustok._commerce_product_json(p) from public.commerce_products p
            where p.tenant_id = rustok.current_tenant_id() and p.handle = product_by_handle.handle
              and (p.status = 'published' or rustok.has_permission('products.manage')));
end
$$;

create or replace function rustok.list_products(first int default 20, after text default null,
                                                filter jsonb default null)
returns jsonb
language plpgsql stable as $$
/* The tenant's products, newest first, as a connection (cursor = product id). filter: status (only
   products.manage sees other than published), search (in the title), categoryId, collectionId, tag. Raises
   INVALID_ID (cursor or filter id), VALIDATION_FAILED (page size, status). */
declare
    page int;
    after_id uuid;
    manager boolean := rustok.has_permission('products.manage');
    status_filter text;
    pattern text;
    category uuid;
    collection uuid;
    tag text;
    nodes jsonb;
begin
    perform rustok.require_module('commerce');
    page := rustok._page_size(first);
    after_id := rustok._page_after(after);
    filter := rustok._input_object(filter, 'filter');
    status_filter := rustok._input_choice(filter -> 'status', 'filter.status', '{draft,published,archived}');
    if not manager then
        status_filter := case when coalesce(status_filter, 'published') = 'published' then 'published' else '-' end;
    end if;
    pattern := '%' || replace(replace(replace(
        rustok._input_text(filter -> 'search', 'filter.search', 255), '\', '\\'), '%', '\%'), '_', '\_') || '%';
    category := rustok._input_id(filter -> 'categoryId', 'filter.categoryId');
    collection := rustok._input_id(filter -> 'collectionId', 'filter.collectionId');
    tag := rustok._input_text(filter -> 'tag', 'filter.tag', 64);

    select coalesce(jsonb_agg(rustok._commerce_product_json(p) order by p.id desc), '[]'::jsonb)
    into nodes
    from (select * from public.commerce_products p
          where p.tenant_id = rustok.current_tenant_id()
            and (after_id is null or p.id < after_id)
            and (status_filter is null or p.status = status_filter)
            and (pattern is null or p.title ilike pattern)
            and (category is null or exists (
                    select 1 from public.commerce_product_categories pc
                    where pc.tenant_id = p.tenant_id and pc.product_id = p.id and pc.category_id = category))
            and (collection is null or exists (
                    select 1 from public.commerce_product_collections pc
                    where pc.tenant_id = p.tenant_id and pc.product_id = p.id and pc.collection_id = collection))
            and (tag is null or exists (
                    select 1 from public.commerce_product_tags t
                    where t.tenant_id = p.tenant_id and t.product_id = p.id and t.value = tag))
          order by p.id desc
          limit page + 1) p;
    return rustok._page_connection(nodes, page, after);
end
$$;
