-- updated_at upkeep for the commerce tables (the core's rustok.tg__set_updated_at), and the reserved
-- quantity of inventory levels kept equal to the sum of their reservations.

create or replace trigger _100_timestamps before update on public.commerce_products
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_variants
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_categories
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_collections
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_price_lists
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_prices
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_stock_locations
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_regions
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_tax_rates
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_shipping_options
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_discounts
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_carts
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_cart_lines
    for each row execute function rustok.tg__set_updated_at();
create or replace trigger _100_timestamps before update on public.commerce_orders
    for each row execute function rustok.tg__set_updated_at();
