-- Product categories (a tree) and collections: created here, linked to products by create_product and
-- update_product (categoryIds, collectionIds).

create or replace function rustok.create_product_category(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Creates a category {name, handle (from the name when absent), parentId, description, position}; emits
   ProductCategoryCreated. Needs products.manage. Raises FORBIDDEN/UNAUTHENTICATED, VALIDATION_FAILED,
   CONFLICT (handle), NOT_FOUND (parent), INVALID_ID. Returns {id, name, handle, parentId}. */
declare
    c public.commerce_categories;
    category_name text;
    parent uuid;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('products.manage');
    input := rustok._input_object(input, 'input', required => true);
    category_name := rustok._input_text(input -> 'name', 'name', 255, required => true);
    parent := rustok._input_id(input -> 'parentId', 'parentId');
    if parent is not null and not exists (select 1 from public.commerce_categories pc
                                          where pc.tenant_id = rustok.current_tenant_id() and pc.id = parent) then
        perform rustok.raise('NOT_FOUND', 'no such parent category', jsonb_build_object('field', 'parentId'));
    end if;
    insert into public.commerce_categories as cc (tenant_id, parent_id, name, handle, description, position)
    values (rustok.require_tenant(), parent, category_name,
            rustok._commerce_handle(input -> 'handle', category_name),
            rustok._input_text(input -> 'description', 'description', 100000),
            coalesce(rustok._input_int(input -> 'position', 'position', -1000000, 1000000), 0))
    on conflict (tenant_id, handle) do nothing
    returning * into c;
    if c.id is null then
        perform rustok.raise('CONFLICT', 'the handle is taken', jsonb_build_object('field', 'handle'));
    end if;
    perform rustok.publish_event('ProductCategoryCreated', jsonb_build_object(
        'category_id', rustok.ulid(c.id), 'handle', c.handle));
    return jsonb_build_object('id', rustok.ulid(c.id), 'name', c.name, 'handle', c.handle,
                              'parentId', rustok.ulid(c.parent_id), 'position', c.position);
end
$$;

create or replace function rustok.create_product_collection(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Creates a collection {title, handle (from the title when absent), metadata}; emits
   ProductCollectionCreated. Needs products.manage. Raises FORBIDDEN/UNAUTHENTICATED, VALIDATION_FAILED,
   CONFLICT (handle). Returns {id, title, handle}. */
declare
    c public.commerce_collections;
    collection_title text;
begin
    perform rustok.require_module('commerce');
    perform rustok.require_permission('products.manage');
    input := rustok._input_object(input, 'input', required => true);
    collection_title := rustok._input_text(input -> 'title', 'title', 255, required => true);
    insert into public.commerce_collections as cc (tenant_id, title, handle, metadata)
    values (rustok.require_tenant(), collection_title,
            rustok._commerce_handle(input -> 'handle', collection_title),
            rustok._input_object(input -> 'metadata', 'metadata'))
    on conflict (tenant_id, handle) do nothing
    returning * into c;
    if c.id is null then
        perform rustok.raise('CONFLICT', 'the handle is taken', jsonb_build_object('field', 'handle'));
    end if;
    perform rustok.publish_event('ProductCollectionCreated', jsonb_build_object(
        'collection_id', rustok.ulid(c.id), 'handle', c.handle));
    return jsonb_build_object('id', rustok.ulid(c.id), 'title', c.title, 'handle', c.handle);
end
$$;
