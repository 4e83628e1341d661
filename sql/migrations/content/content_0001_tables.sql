-- depends: core_0001_platform
-- Content (the manifest's §6.3): nodes (pages, posts, comments) and their bodies, both partitioned by
-- HASH(tenant_id); categories (a tree), tags and node↔tag links; body revisions. Keys start with tenant_id
-- and every reference carries it, so a row can never point into another tenant. Row-level security,
-- policies and grants come from rustok._after_migrate(). Frozen once landed: change it with a new file.
-- Slugs are lowercase ASCII collated "C" (byte order on any server), so the numbered variants of a slug
-- ('hello', 'hello-2', …) are one range of its unique index.

-- ASCII folding for slugs (trusted extension: the database owner may create it).
create extension if not exists unaccent;

insert into permissions (slug, description) values
    ('content.write', 'Create pages and posts; change and delete your own'),
    ('content.publish', 'Publish, schedule and unpublish content you may change'),
    ('content.manage', 'Change, publish and delete anyone''s content; manage categories; see all drafts');

insert into role_permissions (role, permission)
select r, p from (values
    ('super_admin', 'content.write'), ('super_admin', 'content.publish'), ('super_admin', 'content.manage'),
    ('admin', 'content.write'), ('admin', 'content.publish'), ('admin', 'content.manage'),
    ('manager', 'content.write'), ('manager', 'content.publish')
) as grants (r, p);

-- A tree per tenant: the parent is in the same tenant (composite key); cycles are refused by a trigger.
create table categories (
    tenant_id    uuid not null references tenants (id) on delete cascade,
    id           uuid not null default rustok.gen_id(),
    parent_id    uuid,
    name         varchar(255) not null check (btrim(name) <> ''),
    slug         varchar(255) collate "C" not null check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    description  text,
    position     int not null default 0,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, slug),
    foreign key (tenant_id, parent_id) references categories (tenant_id, id),
    check (parent_id is distinct from id)
);
create index categories_parent on categories (tenant_id, parent_id);

create table tags (
    tenant_id   uuid not null references tenants (id) on delete cascade,
    id          uuid not null default rustok.gen_id(),
    name        varchar(64) not null check (btrim(name) <> ''),
    slug        varchar(64) collate "C" not null check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    created_at  timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, slug)
);

-- Nodes: pages, posts and comments. Comments form threads under a post: root_id is the post, parent_id the
-- node replied to, depth 0 for a top-level comment, position the place among siblings, path the positions
-- from the thread's top as 8 hex digits each ('00000003' then '0000000300000000' for its first reply):
-- collated "C", thread order is path order (one index range, byte comparisons), a subtree is the range
-- [path, path || '~'). reply_count counts approved direct replies. Triggers keep all of these.
-- Visibility is computed when reading: status 'published' and published_at <= now() (a future published_at
-- is a scheduled publication), and for comments moderation 'approved'.
create table nodes (
    tenant_id         uuid not null references tenants (id) on delete cascade,
    id                uuid not null default rustok.gen_id(),
    parent_id         uuid,
    root_id           uuid,
    author_id         uuid,
    kind              varchar(32) not null check (kind in ('page', 'post', 'comment')),
    title             varchar(255),
    slug              varchar(255) collate "C" check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    excerpt           text,
    category_id       uuid,
    status            varchar(32) not null default 'draft' check (status in ('draft', 'published', 'archived')),
    moderation        varchar(16) check (moderation in ('pending', 'approved', 'spam')),
    position          int not null default 0 check (position >= 0),
    depth             int not null default 0 check (depth >= 0),
    reply_count       int not null default 0 check (reply_count >= 0),
    path              text collate "C" check (path ~ '^([0-9a-f]{8})+$'),
    meta_title        varchar(255),
    meta_description  varchar(500),
    metadata          jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    published_at      timestamptz,
    primary key (tenant_id, id),
    unique (tenant_id, kind, slug),
    foreign key (tenant_id, parent_id) references nodes (tenant_id, id) on delete cascade,
    foreign key (tenant_id, author_id) references users (tenant_id, id) on delete set null (author_id),
    foreign key (tenant_id, category_id) references categories (tenant_id, id) on delete set null (category_id),
    check ((kind = 'comment') = (moderation is not null)),
    check (kind <> 'comment' or (parent_id is not null and root_id is not null and path is not null)),
    check (kind = 'comment' or (title is not null and btrim(title) <> '')),
    check (status <> 'published' or published_at is not null)
) partition by hash (tenant_id);

create table nodes_p0 partition of nodes for values with (modulus 8, remainder 0);
create table nodes_p1 partition of nodes for values with (modulus 8, remainder 1);
create table nodes_p2 partition of nodes for values with (modulus 8, remainder 2);
create table nodes_p3 partition of nodes for values with (modulus 8, remainder 3);
create table nodes_p4 partition of nodes for values with (modulus 8, remainder 4);
create table nodes_p5 partition of nodes for values with (modulus 8, remainder 5);
create table nodes_p6 partition of nodes for values with (modulus 8, remainder 6);
create table nodes_p7 partition of nodes for values with (modulus 8, remainder 7);

create index nodes_kind on nodes (tenant_id, kind, id);
create index nodes_parent on nodes (tenant_id, parent_id, position) where parent_id is not null;
create index nodes_thread on nodes (tenant_id, root_id, path) where root_id is not null;
create index nodes_author on nodes (tenant_id, author_id, id) where author_id is not null;
create index nodes_category on nodes (tenant_id, category_id, id) where category_id is not null;

-- Bodies: the heavy text, one per node, with a weighted search vector (title A, excerpt B, body C).
create table bodies (
    tenant_id      uuid not null,
    node_id        uuid not null,
    body           text not null default '',
    format         varchar(16) not null default 'markdown' check (format in ('markdown', 'html')),
    search_vector  tsvector,
    updated_at     timestamptz not null default now(),
    primary key (tenant_id, node_id),
    foreign key (tenant_id, node_id) references nodes (tenant_id, id) on delete cascade
) partition by hash (tenant_id);

create table bodies_p0 partition of bodies for values with (modulus 8, remainder 0);
create table bodies_p1 partition of bodies for values with (modulus 8, remainder 1);
create table bodies_p2 partition of bodies for values with (modulus 8, remainder 2);
create table bodies_p3 partition of bodies for values with (modulus 8, remainder 3);
create table bodies_p4 partition of bodies for values with (modulus 8, remainder 4);
create table bodies_p5 partition of bodies for values with (modulus 8, remainder 5);
create table bodies_p6 partition of bodies for values with (modulus 8, remainder 6);
create table bodies_p7 partition of bodies for values with (modulus 8, remainder 7);

create index bodies_search on bodies using gin (search_vector);

create table node_tags (
    tenant_id   uuid not null,
    node_id     uuid not null,
    tag_id      uuid not null,
    primary key (tenant_id, node_id, tag_id),
    foreign key (tenant_id, node_id) references nodes (tenant_id, id) on delete cascade,
    foreign key (tenant_id, tag_id) references tags (tenant_id, id) on delete cascade
);
create index node_tags_tag on node_tags (tenant_id, tag_id, node_id);

-- Earlier versions of a body: every change of body or format keeps the version it replaced (a trigger).
create table body_revisions (
    tenant_id    uuid not null,
    id           uuid not null default rustok.gen_id(),
    node_id      uuid not null,
    number       int not null check (number > 0),
    body         text not null,
    format       varchar(16) not null check (format in ('markdown', 'html')),
    written_at   timestamptz not null,
    replaced_at  timestamptz not null default now(),
    replaced_by  uuid,
    primary key (tenant_id, id),
    unique (tenant_id, node_id, number),
    foreign key (tenant_id, node_id) references nodes (tenant_id, id) on delete cascade
);
