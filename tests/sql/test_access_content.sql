-- Who may read and change pages, posts and comments, in their NULL cases (docs/security.md, point 2): when an
-- author is deleted (author_id becomes null) their pending comment stays hidden from every reader, and the
-- approved replies under it with it; their draft stays a draft to everybody but content managers (it cannot
-- be read, commented, changed or used as a parent); anonymous callers change nothing; no tenant is
-- TENANT_REQUIRED. Lists (list_nodes, the thread, the moderation queue) agree with the one-node rule.
BEGIN;
SELECT plan(30);

-- two tenants (acme, globex), each with an admin, a manager and two customers; pg_temp.act(slug, who) acts
-- as one of them (who null: anonymous) (tests/sql/support/two_tenants.sql); plus an author and a commenter
-- who will be deleted.
DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
DO $$ BEGIN
    PERFORM rustok.set_context(id) FROM tenants WHERE slug = 'acme';
    PERFORM rustok._insert_user('leaving@acme.test', 'hash', 'manager'),
            rustok._insert_user('gone@acme.test', 'hash', 'customer');
    INSERT INTO people SELECT 'acme', split_part(u.email, '@', 1), u.tenant_id, u.id, u.role FROM users u
    WHERE u.email IN ('leaving@acme.test', 'gone@acme.test');
END $$;

GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
CREATE FUNCTION pg_temp.node(name text, input jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.save(name, rustok.create_node(input)) ->> 'id'
$$;
CREATE FUNCTION pg_temp.comment(name text, post text, parent text, body text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.save(name, rustok.add_comment(pg_temp.id(post), pg_temp.id(parent), body)) ->> 'moderation'
$$;
CREATE FUNCTION pg_temp.thread(post text) RETURNS text[] LANGUAGE sql AS $$
    /* the bodies list_comments shows, in thread order */
    SELECT coalesce(array_agg(e #>> '{node,body}' ORDER BY i), '{}')
    FROM jsonb_array_elements(rustok.list_comments(pg_temp.id(post), 100) -> 'edges') WITH ORDINALITY AS x (e, i)
$$;
CREATE FUNCTION pg_temp.tree(post text) RETURNS text[] LANGUAGE sql AS $$
    /* the bodies comment_tree shows, in thread order */
    SELECT coalesce(array_agg(e ->> 'body' ORDER BY i), '{}')
    FROM json_array_elements(rustok.comment_tree(pg_temp.id(post))) WITH ORDINALITY AS x (e, i)
$$;
CREATE FUNCTION pg_temp.listed(filter jsonb) RETURNS text[] LANGUAGE sql AS $$
    /* the titles (comments: bodies) list_nodes shows for the filter, sorted */
    SELECT coalesce(array_agg(x.t ORDER BY x.t), '{}')
    FROM (SELECT coalesce(e #>> '{node,title}', e #>> '{node,body}') AS t
          FROM jsonb_array_elements(rustok.list_nodes(100, NULL, filter) -> 'edges') e) x
$$;

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'manager');
SELECT lives_ok($$ SELECT pg_temp.node('post', '{"kind": "post", "title": "Open", "status": "published"}') $$,
                'a writer''s live post');
SELECT pg_temp.act('acme', 'leaving');
SELECT lives_ok($$ SELECT pg_temp.node('ghost-draft', '{"kind": "post", "title": "Ghost draft"}'),
                          pg_temp.node('ghost-page', '{"kind": "page", "title": "Ghost page"}'),
                          pg_temp.node('ghost-post', '{"kind": "post", "title": "Ghost post", "status": "published"}') $$,
                'the leaving author''s draft post, draft page and live post');
SELECT pg_temp.act('acme', 'gone');
SELECT is(pg_temp.comment('ghost-comment', 'post', NULL, 'ghost comment'), 'pending',
          'the leaving commenter''s comment waits for approval');
SELECT pg_temp.act('acme', 'admin');
SELECT is(pg_temp.comment('under-ghost', 'post', 'ghost-comment', 'reply under the ghost'), 'approved',
          'an admin''s reply under it is approved');
SELECT is(pg_temp.comment('fine', 'post', NULL, 'fine comment'), 'approved', 'and a comment beside it');
SELECT pg_temp.act('acme', 'customer');
SELECT is(pg_temp.comment('on-ghost-post', 'ghost-post', NULL, 'waiting on the ghost post'), 'pending',
          'a customer''s comment on the leaving author''s live post waits');

RESET ROLE;
DELETE FROM users WHERE email IN ('leaving@acme.test', 'gone@acme.test');
SET LOCAL ROLE rustok_app;
SELECT is((SELECT count(*) FROM nodes WHERE author_id IS NULL), 4::bigint,
          'their nodes stay, with author_id null (4: three of the author''s, one of the commenter''s)');

-- a signed-in reader
SELECT pg_temp.act('acme', 'customer');
SELECT is(pg_temp.thread('post'), '{"fine comment"}',
          'list_comments: the deleted commenter''s pending comment is hidden, and the reply under it');
SELECT is(pg_temp.tree('post'), '{"fine comment"}', 'comment_tree: the same');
SELECT is(rustok.node_by_id(pg_temp.id('ghost-comment')), NULL, 'node_by_id: the pending comment is null');
SELECT is(rustok.node_by_id(pg_temp.id('under-ghost')), NULL, 'and so is the reply under it');
SELECT is(pg_temp.listed('{"kind": "comment"}'), '{"fine comment","waiting on the ghost post"}',
          'list_nodes(kind: comment) agrees (the reader''s own pending comment included)');
SELECT is(rustok._node_visible((SELECT n FROM nodes n WHERE n.id = pg_temp.id('ghost-draft'))), false,
          'the deleted author''s draft is not visible (false, not null)');
SELECT is(rustok.node_by_id(pg_temp.id('ghost-draft')), NULL, 'node_by_id: null');
SELECT is(pg_temp.listed(NULL), '{"Ghost post",Open}', 'list_nodes: only the live posts');
SELECT throws_ok($$ SELECT rustok.list_comments(pg_temp.id('ghost-draft')) $$, 'RK003', NULL,
                 'the draft''s comments: NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.add_comment(pg_temp.id('ghost-draft'), NULL, 'hello') $$, 'RK003', NULL,
                 'commenting on the draft: NOT_FOUND (not NOT_PUBLISHED, which would tell it exists)');
SELECT throws_ok($$ SELECT rustok.add_comment(pg_temp.id('post'), pg_temp.id('ghost-comment'), 'hello') $$, 'RK003',
                 NULL, 'replying to the hidden comment: NOT_FOUND');

-- a writer (content.write, comments.moderate on their own posts; not content.manage)
SELECT pg_temp.act('acme', 'manager');
SELECT throws_ok($$ SELECT rustok.update_node(pg_temp.id('ghost-page'), '{"title": "Mine now"}') $$, 'RK003', NULL,
                 'changing the deleted author''s draft page: NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.create_node(jsonb_build_object('kind', 'page', 'title', 'Child',
                                                                 'parentId', rustok.ulid(pg_temp.id('ghost-page')))) $$,
                 'RK003', NULL, 'putting a page under it: NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.list_node_revisions(pg_temp.id('ghost-page')) $$, 'RK003', NULL,
                 'reading its revisions: NOT_FOUND');
SELECT is(pg_temp.thread('ghost-post'), '{}', 'the pending comment on the deleted author''s post stays hidden');
SELECT is(jsonb_path_query_array(rustok.list_pending_comments() -> 'edges', '$[*].node.body'), '["ghost comment"]',
          'the moderation queue: pending comments on the writer''s own post only');
SELECT throws_ok($$ SELECT rustok.moderate_comment(pg_temp.id('on-ghost-post'), 'approved') $$, 'RK005', NULL,
                 'moderating a comment on the deleted author''s post: FORBIDDEN (it is nobody''s post)');

-- anonymous
SELECT pg_temp.act('acme');
SELECT is(pg_temp.thread('post'), '{"fine comment"}', 'anonymous: the same thread');
SELECT throws_ok($$ SELECT rustok.update_node(pg_temp.id('ghost-page'), '{"title": "x"}') $$, 'RK006', NULL,
                 'anonymous: changing a node is UNAUTHENTICATED');

-- a content manager
SELECT pg_temp.act('acme', 'admin');
SELECT is(pg_temp.thread('post'), '{"ghost comment","reply under the ghost","fine comment"}',
          'content.manage sees the whole thread');
SELECT isnt(rustok.node_by_id(pg_temp.id('ghost-draft')), NULL, 'and the deleted author''s draft');

-- no tenant
SELECT test_support.set_settings(NULL, pg_temp.person('acme', 'customer'), 'customer');  -- set_context refuses it
SELECT throws_ok($$ SELECT rustok.node_by_id(pg_temp.id('post')) $$, 'RK007', NULL, 'no tenant: TENANT_REQUIRED');
SELECT throws_ok($$ SELECT rustok.list_comments(pg_temp.id('post')) $$, 'RK007', NULL, 'comments: TENANT_REQUIRED');

SELECT * FROM finish();
ROLLBACK;
