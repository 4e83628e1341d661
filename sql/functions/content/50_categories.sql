-- Categories: a tree per tenant. Everyone may list it; content.manage changes it. The no-cycle rule is on the
-- table (tg_categories__check_tree), so psql obeys it too. Events: CategoryCreated, CategoryUpdated,
-- CategoryDeleted.

create or replace function rustok._lock_category_tree(tenant uuid) returns void
language sql volatile as $$
    /* Serialises moves and deletes in one tenant's category tree, so two concurrent moves cannot each pass
       the cycle check and together make a cycle. */
    select pg_advisory_xact_lock(hashtextextended('rustok.categories:' || tenant::text, 0))
$$;

create or replace function rustok._category_json(c public.categories, depth int) returns jsonb
language sql stable parallel safe as $$
    /* The Category response. */
    select jsonb_build_object(
        'id', rustok.ulid(c.id), 'parentId', rustok.ulid(c.parent_id), 'name', c.name, 'slug', c.slug,
        'description', c.description, 'position', c.position, 'depth', depth,
        'createdAt', c.created_at, 'updatedAt', c.updated_at)
$$;

create or replace function rustok._category_depth(c public.categories) returns int
language sql stable as $$
    /* How many ancestors the category has. */
    with recursive up (parent_id, depth) as (
        select c.parent_id, 0
        union all
        select p.parent_id, up.depth + 1 from public.categories p
        join up on p.tenant_id = c.tenant_id and p.id = up.parent_id
        where up.depth < 10000
    )
    select max(depth) from up
$$;

create or replace function rustok.list_categories() returns jsonb
language plpgsql stable as $$
/* The tenant's categories in tree order (each after its parent; siblings by position, then name), with
   their depth. Everyone may read them. Raises MODULE_DISABLED, TENANT_REQUIRED. */
declare
    tenant uuid := rustok.current_tenant_id();
begin
    perform rustok.require_module('content');
    return (
        with recursive tree (id, depth, sort_key) as (
            select c.id, 0, array[lpad(c.position::text, 10, '0') || ' ' || lower(c.name) || ' ' || c.id::text]
            from public.categories c where c.tenant_id = tenant and c.parent_id is null
            union all
            select c.id, t.depth + 1,
                   t.sort_key || (lpad(c.position::text, 10, '0') || ' ' || lower(c.name) || ' ' || c.id::text)
            from public.categories c join tree t on c.tenant_id = tenant and c.parent_id = t.id
        )
        select coalesce(jsonb_agg(rustok._category_json(c, t.depth) order by t.sort_key collate "C"), '[]'::jsonb)
        from tree t join public.categories c on c.tenant_id = tenant and c.id = t.id
    );
end
$$;

create or replace function rustok.create_category(input jsonb) returns jsonb
language plpgsql volatile as $$
/* Creates a category (CreateCategoryRequest: name, slug, parentId, description, position); the slug comes
   from the name when not given (numbered on collision). Needs content.manage. Emits CategoryCreated. Returns
   the Category. Raises UNAUTHENTICATED/FORBIDDEN, VALIDATION_FAILED, CONFLICT (slug taken), NOT_FOUND
   (parent), INVALID_ID, MODULE_DISABLED. */
declare
    tenant uuid := rustok.current_tenant_id();
    req jsonb;
    new_name text;
    given_slug text;
    base text;
    parent uuid;
    c public.categories;
    attempt int := 0;
begin
    perform rustok.require_module('content');
    perform rustok.require_permission('content.manage');
    req := rustok._input_object(input, 'input', allowed => '{name,slug,parentId,description,position}');
    new_name := rustok._input_text(req -> 'name', 'name', 255, required => true);
    given_slug := rustok._input_slug(req -> 'slug', 'slug');
    parent := rustok._category_ref(tenant, req -> 'parentId', 'parentId');
    base := coalesce(nullif(rustok._slugify(new_name), ''), 'category');
    if given_slug is null then
        perform rustok._lock_slug(tenant, 'category', base);
    end if;
    loop
        insert into public.categories (tenant_id, parent_id, name, slug, description, position)
        values (tenant, parent, new_name, coalesce(given_slug, rustok._free_category_slug(tenant, base)),
                rustok._input_text(req -> 'description', 'description', 10000),
                rustok._content_position(req -> 'position'))
        on conflict on constraint categories_tenant_id_slug_key do nothing
        returning * into c;
        exit when c.id is not null;
        attempt := attempt + 1;
        if given_slug is not null or attempt >= 5 then
            perform rustok.raise('CONFLICT', 'slug taken', jsonb_build_object('field', 'slug'));
        end if;
    end loop;
    perform rustok.publish_event('CategoryCreated', jsonb_build_object(
        'category_id', rustok.ulid(c.id), 'parent_id', rustok.ulid(c.parent_id), 'slug', c.slug));
    return rustok._category_json(c, rustok._category_depth(c));
end
$$;

create or replace function rustok.update_category(id uuid, input jsonb) returns jsonb
language plpgsql volatile as $$
/* Changes a category (UpdateCategoryRequest: name, slug, parentId, description, position; absent fields
   stay, slug null regenerates it from the name, parentId null makes it a root). Needs content.manage.
   Emits CategoryUpdated when something changed. Returns the Category. Raises UNAUTHENTICATED/FORBIDDEN,
   NOT_FOUND (category or parent), CATEGORY_CYCLE, VALIDATION_FAILED, CONFLICT, INVALID_ID, MODULE_DISABLED. */
declare
    tenant uuid := rustok.current_tenant_id();
    req jsonb;
    prev public.categories;
    c public.categories;
    new_slug text;
begin
    perform rustok.require_module('content');
    perform rustok.require_permission('content.manage');
    req := rustok._input_object(input, 'input', allowed => '{name,slug,parentId,description,position}');
    if req ? 'parentId' then
        perform rustok._lock_category_tree(tenant);  -- before the row lock, in the order delete_category takes them
    end if;
    select * into prev from public.categories x where x.tenant_id = tenant and x.id = update_category.id for update;
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such category', jsonb_build_object('id', rustok.ulid(update_category.id)));
    end if;
    c := prev;
    if req ? 'name' then
        c.name := rustok._input_text(req -> 'name', 'name', 255, required => true);
    end if;
    if req ? 'slug' then
        new_slug := rustok._input_slug(req -> 'slug', 'slug');
        if new_slug is null then
            new_slug := coalesce(nullif(rustok._slugify(c.name), ''), 'category');
            if new_slug is distinct from prev.slug then
                new_slug := rustok._free_category_slug(tenant, new_slug);
            end if;
        elsif new_slug is distinct from prev.slug and exists (
                select 1 from public.categories x where x.tenant_id = tenant and x.slug = new_slug) then
            perform rustok.raise('CONFLICT', 'slug taken', jsonb_build_object('field', 'slug'));
        end if;
        c.slug := new_slug;
    end if;
    if req ? 'parentId' then
        c.parent_id := rustok._category_ref(tenant, req -> 'parentId', 'parentId');
        if c.parent_id = c.id then
            perform rustok.raise('CATEGORY_CYCLE', 'a category cannot be its own parent',
                                 jsonb_build_object('field', 'parentId'));
        end if;
    end if;
    if req ? 'description' then
        c.description := rustok._input_text(req -> 'description', 'description', 10000);
    end if;
    if req ? 'position' then
        c.position := rustok._content_position(req -> 'position');
    end if;
    if (to_jsonb(c) - 'updated_at') is not distinct from (to_jsonb(prev) - 'updated_at') then
        return rustok._category_json(prev, rustok._category_depth(prev));
    end if;
    update public.categories x set name = c.name, slug = c.slug, parent_id = c.parent_id,
        description = c.description, position = c.position
    where x.tenant_id = tenant and x.id = prev.id
    returning * into c;
    perform rustok.publish_event('CategoryUpdated', jsonb_build_object(
        'category_id', rustok.ulid(c.id), 'parent_id', rustok.ulid(c.parent_id), 'slug', c.slug));
    return rustok._category_json(c, rustok._category_depth(c));
end
$$;

create or replace function rustok.delete_category(id uuid) returns text
language plpgsql volatile as $$
/* Deletes a category: its children move up to its parent, its nodes keep no category. Needs content.manage.
   Emits CategoryDeleted. Returns the deleted category's id. Raises UNAUTHENTICATED/FORBIDDEN, NOT_FOUND,
   MODULE_DISABLED. */
declare
    tenant uuid := rustok.current_tenant_id();
    c public.categories;
begin
    perform rustok.require_module('content');
    perform rustok.require_permission('content.manage');
    perform rustok._lock_category_tree(tenant);
    select * into c from public.categories x where x.tenant_id = tenant and x.id = delete_category.id for update;
    if not found then
        perform rustok.raise('NOT_FOUND', 'no such category', jsonb_build_object('id', rustok.ulid(delete_category.id)));
    end if;
    update public.categories x set parent_id = c.parent_id where x.tenant_id = tenant and x.parent_id = c.id;
    delete from public.categories x where x.tenant_id = tenant and x.id = c.id;
    perform rustok.publish_event('CategoryDeleted', jsonb_build_object(
        'category_id', rustok.ulid(c.id), 'parent_id', rustok.ulid(c.parent_id)));
    return rustok.ulid(c.id);
end
$$;
