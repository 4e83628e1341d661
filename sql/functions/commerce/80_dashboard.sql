-- The admin dashboard's shop figures: orders and revenue today and this month (per currency), product
-- counts and the variants running low on stock, computed for the current tenant in one call.

create or replace function rustok._commerce_day_start(time_zone text) returns timestamptz
language plpgsql stable as $$
/* The start of today in the time zone (an IANA name such as 'Europe/Berlin', or 'UTC'). Raises
   VALIDATION_FAILED (field timeZone) for a name PostgreSQL does not know. */
begin
    return date_trunc('day', now() at time zone coalesce(time_zone, 'UTC')) at time zone coalesce(time_zone, 'UTC');
exception when invalid_parameter_value then
    perform rustok._input_invalid('timeZone', 'not_allowed', 'unknown time zone');
    return null;
end
$$;

create or replace function rustok._commerce_order_totals(since timestamptz) returns jsonb
language sql stable as $$
    /* Orders placed since the instant, per currency: [{currencyCode, orders, revenue}]. Revenue counts the
       totals of orders not canceled or refunded; orders counts them all. */
    select coalesce(jsonb_agg(jsonb_build_object(
               'currencyCode', t.currency_code, 'orders', t.orders, 'revenue', t.revenue)
               order by t.currency_code), '[]'::jsonb)
    from (select o.currency_code, count(*) as orders,
                 coalesce(sum(o.total) filter (where o.status not in ('canceled', 'refunded')), 0) as revenue
          from public.commerce_orders o
          where o.tenant_id = rustok.current_tenant_id() and o.created_at >= since
          group by o.currency_code) t
$$;

create or replace function rustok.commerce_dashboard(time_zone text default 'UTC', low_stock int default 5)
returns jsonb
language plpgsql stable as $$
/* The shop's figures for the admin dashboard: ordersToday / ordersThisMonth per currency (today and the month
   begin at midnight in time_zone), product counts by status, and the variants that manage inventory and
   have at most low_stock units available (stocked minus reserved, over all locations), archived products
   left out: their count and the 20 lowest. Needs orders.manage. Raises UNAUTHENTICATED/FORBIDDEN, MODULE_DISABLED, VALIDATION_FAILED
   (timeZone, lowStock). */
declare
    tenant uuid := rustok.current_tenant_id();
    day_start timestamptz;
    month_start timestamptz;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('orders.manage');
    time_zone := coalesce(time_zone, 'UTC');
    perform rustok._input_int(to_jsonb(low_stock), 'lowStock', 0, 1000000, required => true);
    day_start := rustok._commerce_day_start(time_zone);
    month_start := date_trunc('month', day_start at time zone time_zone) at time zone time_zone;
    return jsonb_build_object(
        'timeZone', time_zone,
        'dayStart', day_start,
        'monthStart', month_start,
        'ordersToday', rustok._commerce_order_totals(day_start),
        'ordersThisMonth', rustok._commerce_order_totals(month_start),
        'products', (select jsonb_build_object(
                         'total', count(*),
                         'published', count(*) filter (where p.status = 'published'),
                         'draft', count(*) filter (where p.status = 'draft'),
                         'archived', count(*) filter (where p.status = 'archived'))
                     from public.commerce_products p where p.tenant_id = tenant),
        'lowStockThreshold', low_stock,
        'lowStock', (
            with levels as (
                select v.id, v.product_id, v.title, v.sku,
                       coalesce(sum(l.stocked_quantity - l.reserved_quantity), 0)::int as available
                from public.commerce_variants v
                join public.commerce_products p on p.tenant_id = v.tenant_id and p.id = v.product_id
                left join public.commerce_inventory_levels l on l.tenant_id = v.tenant_id and l.variant_id = v.id
                where v.tenant_id = tenant and v.manage_inventory and p.status <> 'archived'
                group by v.id, v.product_id, v.title, v.sku
                having coalesce(sum(l.stocked_quantity - l.reserved_quantity), 0) <= low_stock)
            select jsonb_build_object(
                'count', (select count(*) from levels),
                'variants', coalesce((
                    select jsonb_agg(jsonb_build_object(
                               'variantId', rustok.ulid(x.id), 'productId', rustok.ulid(x.product_id),
                               'productTitle', p.title, 'variantTitle', x.title, 'sku', x.sku,
                               'available', x.available) order by x.available, p.title, x.id)
                    from (select * from levels order by available, id limit 20) x
                    join public.commerce_products p on p.tenant_id = tenant and p.id = x.product_id), '[]'::jsonb))));
end
$$;
