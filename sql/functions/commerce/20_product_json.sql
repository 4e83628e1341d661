-- The Product and ProductVariant response shapes (camelCase jsonb, ids as ULID text, money in minor units).

create or replace function rustok._commerce_variant_json(v public.commerce_variants) returns jsonb
language sql stable as $$
    /* The ProductVariant shape: its option values, every price (base and price lists, all tiers) and stock
       (inventoryQuantity = stocked - reserved over all locations; inStock also for unmanaged and backorder). */
    select jsonb_build_object(
        'id', rustok.ulid(v.id), 'productId', rustok.ulid(v.product_id), 'title', v.title, 'sku', v.sku,
        'barcode', v.barcode, 'manageInventory', v.manage_inventory, 'allowBackorder', v.allow_backorder,
        'weight', v.weight, 'length', v.length, 'height', v.height, 'width', v.width, 'position', v.position,
        'metadata', v.metadata, 'createdAt', v.created_at, 'updatedAt', v.updated_at,
        'options', coalesce((
            select jsonb_agg(jsonb_build_object('optionId', rustok.ulid(o.id), 'option', o.title,
                                                'valueId', rustok.ulid(ov.id), 'value', ov.value)
                             order by o.position, o.title)
            from public.commerce_variant_option_values vov
            join public.commerce_product_options o on o.tenant_id = vov.tenant_id and o.id = vov.option_id
            join public.commerce_product_option_values ov
                on ov.tenant_id = vov.tenant_id and ov.id = vov.option_value_id
            where vov.tenant_id = v.tenant_id and vov.variant_id = v.id), '[]'::jsonb),
        'prices', coalesce((
            select jsonb_agg(jsonb_build_object('id', rustok.ulid(pr.id), 'amount', pr.amount,
                                                'currencyCode', pr.currency_code, 'minQuantity', pr.min_quantity,
                                                'priceListId', rustok.ulid(pr.price_list_id))
                             order by pr.currency_code, pr.price_list_id nulls first, pr.min_quantity)
            from public.commerce_prices pr
            where pr.tenant_id = v.tenant_id and pr.variant_id = v.id), '[]'::jsonb),
        'inventoryQuantity', stock.available,
        'inStock', not v.manage_inventory or v.allow_backorder or stock.available > 0)
    from (select coalesce(sum(l.stocked_quantity - l.reserved_quantity), 0)::int as available
          from public.commerce_inventory_levels l
          where l.tenant_id = v.tenant_id and l.variant_id = v.id) stock
$$;

create or replace function rustok._commerce_product_json(p public.commerce_products) returns jsonb
language sql stable as $$
    /* The Product shape: options with their values, variants, categories, collections and tags. */
    select jsonb_build_object(
        'id', rustok.ulid(p.id), 'title', p.title, 'subtitle', p.subtitle, 'handle', p.handle,
        'description', p.description, 'status', p.status, 'discountable', p.discountable, 'metadata', p.metadata,
        'createdAt', p.created_at, 'updatedAt', p.updated_at,
        'options', coalesce((
            select jsonb_agg(jsonb_build_object(
                       'id', rustok.ulid(o.id), 'title', o.title, 'position', o.position,
                       'values', coalesce((
                           select jsonb_agg(jsonb_build_object('id', rustok.ulid(ov.id), 'value', ov.value)
                                            order by ov.position, ov.value)
                           from public.commerce_product_option_values ov
                           where ov.tenant_id = o.tenant_id and ov.option_id = o.id), '[]'::jsonb))
                   order by o.position, o.title)
            from public.commerce_product_options o
            where o.tenant_id = p.tenant_id and o.product_id = p.id), '[]'::jsonb),
        'variants', coalesce((
            select jsonb_agg(rustok._commerce_variant_json(v) order by v.position, v.id)
            from public.commerce_variants v
            where v.tenant_id = p.tenant_id and v.product_id = p.id), '[]'::jsonb),
        'categories', coalesce((
            select jsonb_agg(jsonb_build_object('id', rustok.ulid(c.id), 'handle', c.handle, 'name', c.name)
                             order by c.position, c.handle)
            from public.commerce_product_categories pc
            join public.commerce_categories c on c.tenant_id = pc.tenant_id and c.id = pc.category_id
            where pc.tenant_id = p.tenant_id and pc.product_id = p.id), '[]'::jsonb),
        'collections', coalesce((
            select jsonb_agg(jsonb_build_object('id', rustok.ulid(c.id), 'handle', c.handle, 'title', c.title)
                             order by c.handle)
            from public.commerce_product_collections pc
            join public.commerce_collections c on c.tenant_id = pc.tenant_id and c.id = pc.collection_id
            where pc.tenant_id = p.tenant_id and pc.product_id = p.id), '[]'::jsonb),
        'tags', coalesce((
            select jsonb_agg(t.value order by t.value)
            from public.commerce_product_tags t
            where t.tenant_id = p.tenant_id and t.product_id = p.id), '[]'::jsonb))
$$;
