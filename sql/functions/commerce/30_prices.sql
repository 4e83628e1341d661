-- Prices: base prices, price lists (a sale, a customer group's prices; each with a validity window) and
-- quantity tiers. rustok.variant_price() is the one answer to "what does this variant cost": carts, orders
-- and the index ask it.

create or replace function rustok._commerce_price(variant_id uuid, currency_code text, quantity int,
                                                  customer_id uuid)
returns table (amount bigint, original_amount bigint, price_list_id uuid, price_id uuid)
language sql stable as $$
    /* The rule (the body of rustok.variant_price): among the base prices and the prices of every price list
       that applies now (active, inside its window, and without a customer group or with one the customer is
       in), each source offers its tier with the highest min_quantity <= quantity; the lowest offer wins (the
       base price on a tie). original_amount is the base offer. No row: no price in this currency.
       The tenant is an InitPlan `(select …)`: a bare stable call is folded into the plan, and for a tenant
       newer than the statistics (a first bulk import) the planner then expected one row for the tenant alone
       and read every price of the tenant through the price-list index, per call. */
    with offers as (
        select distinct on (pr.price_list_id) pr.id, pr.amount, pr.price_list_id
        from public.commerce_prices pr
        left join public.commerce_price_lists pl on pl.tenant_id = pr.tenant_id and pl.id = pr.price_list_id
        where pr.tenant_id = (select rustok.current_tenant_id()) and pr.variant_id = _commerce_price.variant_id
          and pr.currency_code::text = _commerce_price.currency_code and pr.min_quantity <= _commerce_price.quantity
          and (pr.price_list_id is null
               or (pl.status = 'active' and (pl.starts_at is null or pl.starts_at <= now())
                   and (pl.ends_at is null or pl.ends_at > now())
                   and (pl.customer_group_id is null or exists (
                           select 1 from public.commerce_customer_group_members m
                           where m.tenant_id = pl.tenant_id and m.group_id = pl.customer_group_id
                             and m.customer_id = _commerce_price.customer_id))))
        order by pr.price_list_id, pr.min_quantity desc
    )
    select o.amount, (select b.amount from offers b where b.price_list_id is null), o.price_list_id, o.id
    from offers o
    order by o.amount, o.price_list_id nulls first
    limit 1
$$;

create or replace function rustok._commerce_guest_prices(tenant uuid, product_ids uuid[])
returns table (product_id uuid, variant_id uuid, currency_code text, amount bigint)
language sql stable as $$
    /* What a guest pays for one unit now, per variant of these products and currency, in one query: the rule
       of rustok._commerce_price with quantity 1 and no customer (so no price list with a customer group
       applies), in set form for the index, which prices a whole batch at once (6 calls of _commerce_price
       per product cost more than the rest of its index row). A currency without an offer is left out, as
       _commerce_price returns no row for it. Each source offers at most one tier a buyer of one can use
       (min_quantity >= 1 and unique per variant, currency and price list, nulls not distinct), so one DISTINCT
       ON picks the lowest offer. Inlined into the caller's query (plain parameters, one SELECT).
       tests/sql/test_commerce_guest_prices.sql holds the two equal. */
    select distinct on (pr.variant_id, pr.currency_code)
           v.product_id, pr.variant_id, pr.currency_code::text, pr.amount
    from public.commerce_variants v
    join public.commerce_prices pr on pr.tenant_id = v.tenant_id and pr.variant_id = v.id
    left join public.commerce_price_lists pl on pl.tenant_id = pr.tenant_id and pl.id = pr.price_list_id
    where v.tenant_id = _commerce_guest_prices.tenant and v.product_id = any (_commerce_guest_prices.product_ids)
      and pr.min_quantity <= 1
      and (pr.price_list_id is null
           or (pl.status = 'active' and (pl.starts_at is null or pl.starts_at <= now())
               and (pl.ends_at is null or pl.ends_at > now()) and pl.customer_group_id is null))
    order by pr.variant_id, pr.currency_code, pr.amount, pr.price_list_id nulls first
$$;

create or replace function rustok.variant_price(variant_id uuid, currency_code text, quantity int default 1,
                                                customer_id uuid default null)
returns table (amount bigint, original_amount bigint, price_list_id uuid, price_id uuid)
language plpgsql stable as $$
/* The unit price of a variant for a currency, a quantity and a customer (null: a guest), in minor units;
   no row when the variant has no price in that currency. Raises CURRENCY_UNKNOWN, VALIDATION_FAILED
   (quantity < 1). */
declare
    currency text;
begin
    perform rustok.require_module('commerce');
    currency := rustok._commerce_currency(to_jsonb(currency_code));
    perform rustok._input_int(to_jsonb(quantity), 'quantity', 1, 2147483647, required => true);
    return query select * from rustok._commerce_price(variant_id, currency, quantity, customer_id);
end
$$;

create or replace function rustok.set_price(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Sets (inserts or replaces) one price {variantId, currencyCode, amount, minQuantity = 1, priceListId}, or
   removes it when amount is null; emits PriceSet or PriceRemoved. Needs products.manage. Raises
   FORBIDDEN/UNAUTHENTICATED, NOT_FOUND (variant, price list, the price to remove), VALIDATION_FAILED (amount
   missing, negative or too large; minQuantity < 1), CURRENCY_UNKNOWN, INVALID_ID. Returns the variant. */
declare
    v public.commerce_variants;
    new_amount bigint;
    new_currency text;
    new_min_quantity int;
    new_price_list uuid;
    changed public.commerce_prices;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('products.manage');
    input := rustok._input_object(input, 'input', required => true);
    select * into v from public.commerce_variants cv
    where cv.tenant_id = rustok.require_tenant()
      and cv.id = rustok._input_id(input -> 'variantId', 'variantId');
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such variant', jsonb_build_object('field', 'variantId'));
    end if;
    new_currency := rustok._commerce_currency(input -> 'currencyCode');
    new_min_quantity := coalesce(rustok._input_int(input -> 'minQuantity', 'minQuantity', 1, 1000000), 1);
    new_price_list := rustok._input_id(input -> 'priceListId', 'priceListId');
    if new_price_list is not null and not exists (select 1 from public.commerce_price_lists pl
                                                  where pl.tenant_id = v.tenant_id and pl.id = new_price_list) then
        perform rustok.raise('NOT_FOUND', 'no such price list', jsonb_build_object('field', 'priceListId'));
    end if;
    if not input ? 'amount' then
        perform rustok._input_invalid('amount', 'required', 'amount is required (null removes the price)');
    end if;
    new_amount := rustok._input_amount(input -> 'amount', 'amount');

    if new_amount is null then
        delete from public.commerce_prices pr
        where pr.tenant_id = v.tenant_id and pr.variant_id = v.id and pr.currency_code::text = new_currency
          and pr.min_quantity = new_min_quantity and pr.price_list_id is not distinct from new_price_list
        returning * into changed;
        if changed.id is null then
            perform rustok.raise('NOT_FOUND', 'the variant has no such price', jsonb_build_object('field', 'amount'));
        end if;
        perform rustok.publish_event('PriceRemoved', jsonb_build_object(
            'variant_id', rustok.ulid(v.id), 'product_id', rustok.ulid(v.product_id), 'price_id', rustok.ulid(changed.id),
            'currency', new_currency, 'min_quantity', new_min_quantity, 'price_list_id', rustok.ulid(new_price_list)));
    else
        insert into public.commerce_prices as pr (tenant_id, variant_id, currency_code, amount, min_quantity,
                                                  price_list_id)
        values (v.tenant_id, v.id, new_currency, new_amount, new_min_quantity, new_price_list)
        on conflict (tenant_id, variant_id, currency_code, price_list_id, min_quantity)
        do update set amount = excluded.amount, updated_at = now()
        returning * into changed;
        perform rustok.publish_event('PriceSet', jsonb_build_object(
            'variant_id', rustok.ulid(v.id), 'product_id', rustok.ulid(v.product_id), 'price_id', rustok.ulid(changed.id),
            'currency', new_currency, 'amount', new_amount, 'min_quantity', new_min_quantity,
            'price_list_id', rustok.ulid(new_price_list)));
    end if;
    return rustok._commerce_variant_json(v);
end
$$;

create or replace function rustok.create_price_list(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Creates a price list {title, description, status (draft|active, default active), customerGroupId, startsAt,
   endsAt}; its prices are set with set_price(priceListId). Emits PriceListCreated. Needs products.manage.
   Raises FORBIDDEN/UNAUTHENTICATED, VALIDATION_FAILED (window), NOT_FOUND (customer group), INVALID_ID. */
declare
    pl public.commerce_price_lists;
    group_id uuid;
    starts timestamptz;
    ends timestamptz;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('products.manage');
    input := rustok._input_object(input, 'input', required => true);
    group_id := rustok._input_id(input -> 'customerGroupId', 'customerGroupId');
    if group_id is not null and not exists (select 1 from public.commerce_customer_groups g
                                            where g.tenant_id = rustok.current_tenant_id() and g.id = group_id) then
        perform rustok.raise('NOT_FOUND', 'no such customer group', jsonb_build_object('field', 'customerGroupId'));
    end if;
    starts := rustok._input_instant(input -> 'startsAt', 'startsAt');
    ends := rustok._input_instant(input -> 'endsAt', 'endsAt');
    if starts is not null and ends is not null and ends <= starts then
        perform rustok._input_invalid('endsAt', 'before_start', 'endsAt must be after startsAt');
    end if;
    insert into public.commerce_price_lists (tenant_id, title, description, status, customer_group_id, starts_at,
                                             ends_at)
    values (rustok.require_tenant(), rustok._input_text(input -> 'title', 'title', 255, required => true),
            rustok._input_text(input -> 'description', 'description', 100000),
            coalesce(rustok._input_choice(input -> 'status', 'status', '{draft,active}'), 'active'),
            group_id, starts, ends)
    returning * into pl;
    perform rustok.publish_event('PriceListCreated', jsonb_build_object('price_list_id', rustok.ulid(pl.id)));
    return jsonb_build_object('id', rustok.ulid(pl.id), 'title', pl.title, 'status', pl.status,
                              'customerGroupId', rustok.ulid(pl.customer_group_id),
                              'startsAt', pl.starts_at, 'endsAt', pl.ends_at);
end
$$;

create or replace function rustok.create_customer_group(name text) returns jsonb
language plpgsql volatile as $$
/* Creates a customer group; emits CustomerGroupCreated. Needs orders.manage. Raises FORBIDDEN/UNAUTHENTICATED,
   VALIDATION_FAILED, CONFLICT (name taken). Returns {id, name}. */
declare
    g public.commerce_customer_groups;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('orders.manage');
    insert into public.commerce_customer_groups as cg (tenant_id, name)
    values (rustok.require_tenant(),
            rustok._input_text(to_jsonb(create_customer_group.name), 'name', 255, required => true))
    on conflict on constraint commerce_customer_groups_tenant_id_name_key do nothing
    returning * into g;
    if g.id is null then
        perform rustok.raise('CONFLICT', 'a group has this name', jsonb_build_object('field', 'name'));
    end if;
    perform rustok.publish_event('CustomerGroupCreated', jsonb_build_object('group_id', rustok.ulid(g.id)));
    return jsonb_build_object('id', rustok.ulid(g.id), 'name', g.name);
end
$$;

create or replace function rustok.add_customer_to_group(group_id uuid, customer_id uuid) returns jsonb
language plpgsql volatile as $$
/* Adds a user of the tenant to a customer group (a no-op when already in it); emits CustomerGroupMemberAdded.
   Needs orders.manage. Raises FORBIDDEN/UNAUTHENTICATED, NOT_FOUND (group or user). Returns
   {groupId, customerId}. */
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('orders.manage');
    if not exists (select 1 from public.commerce_customer_groups g
                   where g.tenant_id = rustok.require_tenant() and g.id = add_customer_to_group.group_id) then
        perform rustok.raise('NOT_FOUND', 'no such customer group', jsonb_build_object('field', 'groupId'));
    end if;
    if not exists (select 1 from public.users u
                   where u.tenant_id = rustok.current_tenant_id() and u.id = add_customer_to_group.customer_id) then
        perform rustok.raise('NOT_FOUND', 'no such user', jsonb_build_object('field', 'customerId'));
    end if;
    insert into public.commerce_customer_group_members (tenant_id, group_id, customer_id)
    values (rustok.current_tenant_id(), add_customer_to_group.group_id, add_customer_to_group.customer_id)
    on conflict do nothing;
    if found then
        perform rustok.publish_event('CustomerGroupMemberAdded', jsonb_build_object(
            'group_id', rustok.ulid(group_id), 'customer_id', rustok.ulid(customer_id)));
    end if;
    return jsonb_build_object('groupId', rustok.ulid(group_id), 'customerId', rustok.ulid(customer_id));
end
$$;
