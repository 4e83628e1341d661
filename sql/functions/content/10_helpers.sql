-- Content helpers: slugs, the tenant's text-search configuration, who may read and change a node. Requests
-- are checked with the core's input rules (sql/functions/core/05_input.sql). Underscore functions are private
-- to the content and blog functions.

create or replace function rustok._transliterate(value text) returns text
language sql immutable strict parallel safe as $$
    /* Cyrillic letters to Latin (the rest is left for unaccent): 'Привет' -> 'Privet'. */
    select string_agg(coalesce(m.map ->> c, c), '' order by i)
    from regexp_split_to_table(value, '') with ordinality as t (c, i),
         (select '{"а":"a","б":"b","в":"v","г":"g","д":"d","е":"e","ё":"e","ж":"zh","з":"z","и":"i","й":"y",
                   "к":"k","л":"l","м":"m","н":"n","о":"o","п":"p","р":"r","с":"s","т":"t","у":"u","ф":"f",
                   "х":"kh","ц":"ts","ч":"ch","ш":"sh","щ":"shch","ъ":"","ы":"y","ь":"","э":"e","ю":"yu",
                   "я":"ya","і":"i","ї":"yi","є":"ye","ґ":"g"}'::jsonb as map) m
$$;

create or replace function rustok._slugify(value text, max_length int default 200) returns text
language sql stable strict parallel safe as $$
    /* A slug from free text: Cyrillic transliterated, accents folded (unaccent), lowercased, every run of
       other characters one dash, at most max_length characters. '' when nothing is left. */
    select trim(both '-' from left(trim(both '-' from regexp_replace(
               lower(public.unaccent(rustok._transliterate(lower(value)))), '[^a-z0-9]+', '-', 'g')), max_length))
$$;

create or replace function rustok._next_slug(base text, taken text[]) returns text
language sql immutable parallel safe as $$
    /* base when it is free, else base-N with N one above the highest suffix taken (at least 2). */
    select case when not (base = any (coalesce(taken, '{}'))) then base
                else base || '-' || (coalesce(max(substring(s from length(base) + 2)::bigint)
                                              filter (where s ~ ('^' || base || '-[0-9]{1,9}$')), 1) + 1)
           end
    from unnest(coalesce(taken, '{}'::text[])) s
$$;

create or replace function rustok._free_node_slug(tenant uuid, kind text, base text) returns text
language sql stable as $$
    /* A slug for a node of this kind: base, or base-N after the highest numbered one. Slugs are collated
       "C", so base-… is one range of the unique index. */
    select rustok._next_slug(base, array(
        select n.slug::text from public.nodes n
        where n.tenant_id = tenant and n.kind = _free_node_slug.kind
          and (n.slug = base or (n.slug > base || '-' and n.slug < base || '.'))))
$$;

create or replace function rustok._lock_slug(tenant uuid, scope text, base text) returns void
language sql volatile as $$
    /* Serialises the making of slugs from one base (per tenant and kind, or 'category'), until commit: the
       next one waits and then sees the slug the first one took, instead of colliding with it. */
    select pg_advisory_xact_lock(hashtextextended('rustok.slug:' || tenant::text || ':' || scope || ':' || base, 0))
$$;

create or replace function rustok._free_category_slug(tenant uuid, base text) returns text
language sql stable as $$
    /* As _free_node_slug, for categories. */
    select rustok._next_slug(base, array(
        select c.slug::text from public.categories c
        where c.tenant_id = tenant and (c.slug = base or (c.slug > base || '-' and c.slug < base || '.'))))
$$;

create or replace function rustok._content_position(value jsonb) returns int
language sql immutable parallel safe as $$
    /* A node's or category's position among its siblings: an integer from 0, 0 when absent. Raises
       VALIDATION_FAILED (position). */
    select coalesce(rustok._input_int(value, 'position', 0, 2147483647), 0)::int
$$;

create or replace function rustok._search_config(tenant uuid) returns regconfig
language sql stable parallel safe as $$
    /* The tenant's text-search configuration: settings->>'search_language' when it names a built-in
       configuration ('english', 'russian', …), else 'simple'. */
    select coalesce(
        (select c.oid::regconfig from public.tenants t
         join pg_catalog.pg_ts_config c
           on c.cfgname = t.settings ->> 'search_language' and c.cfgnamespace = 'pg_catalog'::regnamespace
         where t.id = tenant),
        'simple'::regconfig)
$$;

create or replace function rustok._node_is_live(status text, published_at timestamptz) returns boolean
language sql stable parallel safe as $$
    /* What anonymous readers see: published, and the publication time reached (a later one is scheduled).
       False, never null. */
    select coalesce(status = 'published' and published_at <= now(), false)
$$;

create or replace function rustok._node_readable(status text, published_at timestamptz, author_id uuid,
                                                 see_all boolean)
returns boolean
language sql stable parallel safe as $$
    /* Whether the caller reads a page or post: see_all (content.manage), the signed-in author their own, anyone
       a live one. The rule for one node (rustok._node_visible) and for lists and counts over many (list_nodes,
       list_tags). False, never null: a draft whose author was deleted is no reader's but a manager's. */
    select coalesce(see_all, false) or rustok.is_current_user(author_id) or rustok._node_is_live(status, published_at)
$$;

create or replace function rustok._comment_shown(moderation text, author_id uuid, see_all boolean)
returns boolean
language sql stable parallel safe as $$
    /* Whether a comment itself may be shown to the reader (its ancestors aside): see_all, approved, or the
       signed-in reader's own. False, never null: a pending comment whose author was deleted is nobody's. */
    select coalesce(see_all, false) or coalesce(moderation = 'approved', false) or rustok.is_current_user(author_id)
$$;

create or replace function rustok._sees_all_comments(post public.nodes) returns boolean
language sql stable as $$
    /* Whether the caller sees every comment on the post, pending and spam too: content.manage, or the post's
       own (signed-in) author holding comments.moderate. False, never null. */
    select rustok.has_permission('content.manage')
           or (rustok.is_current_user(post.author_id) and rustok.has_permission('comments.moderate'))
$$;

create or replace function rustok._comment_path_visible(c public.nodes) returns boolean
language sql stable as $$
    /* Whether a comment and every comment above it is approved or the signed-in reader's own (a comment hidden
       from a reader hides its replies too). One index lookup per level. False for no comment. */
    select c.path is not null and not exists (
        select 1 from generate_series(8, length(c.path), 8) k
        join public.nodes a on a.tenant_id = c.tenant_id and a.root_id = c.root_id and a.path = left(c.path, k)
        where not rustok._comment_shown(a.moderation, a.author_id, false))
$$;

create or replace function rustok._node_visible(n public.nodes) returns boolean
language plpgsql stable as $$
/* Whether the current user may read this node: holders of content.manage read everything; authors read their
   own; others read live pages and posts, and comments under a post they may read when the comment and those
   above it are approved or their own (the post's author with comments.moderate reads every comment on it).
   False, never null (no node, nobody signed in, a deleted author: see rustok.is_current_user). */
declare
    root public.nodes;
begin
    if n.id is null then
        return false;
    end if;
    if rustok.has_permission('content.manage') then
        return true;
    end if;
    if n.kind <> 'comment' then
        return rustok._node_readable(n.status, n.published_at, n.author_id, false);
    end if;
    select * into root from public.nodes r where r.tenant_id = n.tenant_id and r.id = n.root_id;
    if not rustok._node_visible(root) then
        return false;
    end if;
    return rustok._sees_all_comments(root)
        or (rustok._node_is_live(n.status, n.published_at) and rustok._comment_path_visible(n));
end
$$;

create or replace function rustok._editable_node(node_id uuid, lock_row boolean default true) returns public.nodes
language plpgsql volatile as $$
/* The node (locked for update unless lock_row is false) when the current user may change it: content.manage
   changes anything; a page or post needs content.write and authorship, a comment comments.write and
   authorship. Raises UNAUTHENTICATED (nobody signed in), NOT_FOUND (no such node, or one the user may not
   read), FORBIDDEN (readable but not theirs). */
declare
    n public.nodes;
begin
    if rustok.current_user_id() is null and not rustok.is_operator() then
        perform rustok.raise('UNAUTHENTICATED', 'sign in first');
    end if;
    if lock_row then
        select * into n from public.nodes x where x.tenant_id = rustok.require_tenant() and x.id = node_id for update;
    else
        select * into n from public.nodes x where x.tenant_id = rustok.require_tenant() and x.id = node_id;
    end if;
    if n.id is null or not rustok._node_visible(n) then
        perform rustok.raise('NOT_FOUND', 'no such node', jsonb_build_object('id', rustok.ulid(node_id)));
    end if;
    if rustok.has_permission('content.manage') then
        return n;
    end if;
    perform rustok.require_permission(case when n.kind = 'comment' then 'comments.write' else 'content.write' end);
    if not rustok.is_current_user(n.author_id) then
        perform rustok.raise('FORBIDDEN', 'only its author or a content manager may change it',
                             jsonb_build_object('permission', 'content.manage'));
    end if;
    return n;
end
$$;
