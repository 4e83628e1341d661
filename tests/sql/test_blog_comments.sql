-- Blog comments as the application role: adding comments and replies (customers' held for approval by the
-- tenant's setting, staff approved at once), the thread columns and reply counters the triggers keep,
-- moderation and who may moderate, what each reader sees (a hidden comment hides its replies), the thread
-- in one query in thread order with a cursor, bad input (a draft or scheduled post, a parent elsewhere, a
-- blank body), the events, and the module switch.
BEGIN;
SELECT plan(58);

CREATE TEMP TABLE ids (name text PRIMARY KEY, tenant_id uuid, id uuid, role text);
DO $$
DECLARE
    t uuid;
BEGIN
    FOREACH t IN ARRAY ARRAY[rustok.parse_id(rustok.create_tenant('acme', 'Acme') ->> 'id'),
                             rustok.parse_id(rustok.create_tenant('globex', 'Globex') ->> 'id')] LOOP
        PERFORM rustok.set_context(t);
        INSERT INTO ids SELECT slug, t, NULL, NULL FROM tenants WHERE id = t;
        INSERT INTO ids SELECT slug || '.' || r, t, rustok._insert_user(r || '@' || slug || '.test', 'h',
                                                                         CASE WHEN r LIKE 'customer%' THEN 'customer'
                                                                              WHEN r = 'writer' THEN 'manager' ELSE r END),
                               CASE WHEN r LIKE 'customer%' THEN 'customer' WHEN r = 'writer' THEN 'manager' ELSE r END
        FROM tenants, unnest('{admin,manager,writer,customer,customer2}'::text[]) r WHERE id = t;
    END LOOP;
    UPDATE users SET display_name = 'Cus Tomer' WHERE email = 'customer@acme.test';
END $$;
CREATE FUNCTION pg_temp.act(who text) RETURNS text LANGUAGE sql AS $$
    /* Acts as a user of the test ('acme.manager'), or anonymously in a tenant ('acme'). Returns ''. */
    SELECT rustok.set_context(i.tenant_id, i.id, i.role) FROM ids i WHERE i.name = who;
    SELECT ''
$$;
CREATE FUNCTION pg_temp.id(who text) RETURNS uuid LANGUAGE sql AS $$ SELECT i.id FROM ids i WHERE i.name = who $$;
CREATE FUNCTION pg_temp.ulid(who text) RETURNS text LANGUAGE sql AS $$ SELECT rustok.ulid(pg_temp.id(who)) $$;
CREATE FUNCTION pg_temp.keep(who text, response jsonb) RETURNS text LANGUAGE sql AS $$
    INSERT INTO ids (name, id) VALUES (who, rustok.parse_id(response ->> 'id'));
    SELECT ''
$$;
CREATE FUNCTION pg_temp.reply(who text, parent text, body text) RETURNS text LANGUAGE sql AS $$
    /* Adds a comment on the post (parent NULL) or a reply to the comment named parent; remembers it as who. */
    SELECT pg_temp.keep(who, rustok.add_comment(pg_temp.id('post'), pg_temp.id(parent), body))
$$;
CREATE FUNCTION pg_temp.thread(first int DEFAULT 100, after text DEFAULT NULL) RETURNS text[] LANGUAGE sql AS $$
    /* The post's comments as list_comments returns them: 'depth:body'. */
    SELECT coalesce(array_agg((e #>> '{node,depth}') || ':' || (e #>> '{node,body}') ORDER BY i), '{}')
    FROM jsonb_array_elements(rustok.list_comments(pg_temp.id('post'), first, after) -> 'edges') WITH ORDINALITY AS x (e, i)
$$;
CREATE FUNCTION pg_temp.dotted(path text) RETURNS text LANGUAGE sql AS $$
    /* '0000000100000002' as '1.2' (a path is 8 hex digits per level). */
    SELECT string_agg(('x' || substr(path, k, 8))::bit(32)::int::text, '.' ORDER BY k) FROM generate_series(1, length(path), 8) k
$$;
CREATE FUNCTION pg_temp.counts() RETURNS text[] LANGUAGE sql AS $$
    /* body:reply_count of the post and every comment, in thread order (as the superuser sees them). */
    SELECT array_agg(CASE WHEN n.kind = 'comment' THEN coalesce(b.body, '') ELSE 'post' END || ':' || n.reply_count
                     ORDER BY n.path NULLS FIRST)
    FROM nodes n LEFT JOIN bodies b ON b.tenant_id = n.tenant_id AND b.node_id = n.id AND n.kind = 'comment'
    WHERE n.id = pg_temp.id('post') OR n.root_id = pg_temp.id('post')
$$;

GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;

-- the manager's live post, a draft, a scheduled post and a page
SELECT pg_temp.act('acme.manager');
SELECT pg_temp.keep('post', rustok.create_node('{"kind": "post", "title": "Open thread", "status": "published"}'));
SELECT pg_temp.keep('other', rustok.create_node('{"kind": "post", "title": "Another", "status": "published"}'));
SELECT pg_temp.keep('draft', rustok.create_node('{"kind": "post", "title": "Draft"}'));
SELECT pg_temp.keep('scheduled', rustok.create_node('{"kind": "post", "title": "Soon", "status": "published",
                                                      "publishedAt": "2999-01-01T00:00:00Z"}'));
SELECT pg_temp.keep('page', rustok.create_node('{"kind": "page", "title": "A page", "status": "published"}'));

-- adding
SELECT pg_temp.reply('c1', NULL, 'first');
SELECT is((rustok.list_comments(pg_temp.id('post')) #> '{edges,0,node}') - '{id,createdAt,updatedAt}'::text[],
          jsonb_build_object('nodeId', pg_temp.ulid('post'), 'parentId', NULL, 'authorId', pg_temp.ulid('acme.manager'),
                             'authorName', NULL, 'body', 'first', 'depth', 0, 'position', 0, 'replyCount', 0,
                             'moderation', 'approved'),
          'the Comment shape; a manager''s comment is approved at once');
SELECT pg_temp.act('acme.customer');
SELECT is(rustok.add_comment(pg_temp.id('post'), pg_temp.id('c1'), '  a reply  ') - '{id,createdAt,updatedAt}'::text[],
          jsonb_build_object('nodeId', pg_temp.ulid('post'), 'parentId', pg_temp.ulid('c1'),
                             'authorId', pg_temp.ulid('acme.customer'), 'authorName', 'Cus Tomer', 'body', 'a reply',
                             'depth', 1, 'position', 0, 'replyCount', 0, 'moderation', 'pending'),
          'a customer''s reply waits for approval (the default setting)');
INSERT INTO ids SELECT 'c1.1', NULL, id, NULL FROM nodes WHERE parent_id = pg_temp.id('c1');
SELECT pg_temp.reply('c1.1.1', 'c1.1', 'reply to my own pending reply');
SELECT pg_temp.reply('c1.2', 'c1', 'second reply');
SELECT pg_temp.reply('c2', NULL, 'second comment');
SELECT pg_temp.act('acme.writer');
SELECT pg_temp.reply('c1.3', 'c1', 'staff reply');
SELECT is(pg_temp.counts(), '{post:1,first:1,a reply:0,reply to my own pending reply:0,second reply:0,staff reply:0,second comment:0}',
          'reply_count counts approved direct replies only');
SELECT is((SELECT array_agg(pg_temp.dotted(path) || '@' || depth || '#' || position ORDER BY path)
           FROM nodes WHERE root_id = pg_temp.id('post')),
          '{0@0#0,0.0@1#0,0.0.0@2#0,0.1@1#1,0.2@1#2,1@0#1}', 'path, depth and position follow the thread');
SELECT is((SELECT path FROM nodes WHERE id = pg_temp.id('c1.1.1')), '000000000000000000000000',
          'a path is 8 hex digits per level');

-- what each reader sees
SELECT pg_temp.act('acme');
SELECT is(pg_temp.thread(), '{0:first,1:staff reply}', 'anonymous readers: approved comments only');
SELECT pg_temp.act('acme.customer');
SELECT is(pg_temp.thread(), '{0:first,1:a reply,2:reply to my own pending reply,1:second reply,1:staff reply,0:second comment}',
          'the customer: approved ones and their own pending ones, in thread order');
SELECT pg_temp.act('acme.customer2');
SELECT is(pg_temp.thread(), '{0:first,1:staff reply}', 'another customer: approved only');
SELECT throws_ok(format('SELECT rustok.add_comment(%L, %L, ''x'')', pg_temp.id('post'), pg_temp.id('c1.1')), 'RK003', NULL,
                 'and cannot reply to a comment they cannot see');

-- moderation
SELECT throws_ok(format('SELECT rustok.moderate_comment(%L, ''approved'')', pg_temp.id('c1.1')), 'RK005', NULL,
                 'a customer may not moderate');
SELECT pg_temp.act('acme.writer');
SELECT throws_ok(format('SELECT rustok.moderate_comment(%L, ''approved'')', pg_temp.id('c1.1')), 'RK005', NULL,
                 'another manager may not moderate comments on a post that is not theirs');
SELECT is(pg_temp.thread(), '{0:first,1:staff reply}', 'nor see its pending comments');
SELECT pg_temp.act('acme.manager');
SELECT is(cardinality(pg_temp.thread()), 6, 'the post''s author sees every comment on it');
SELECT is(rustok.moderate_comment(pg_temp.id('c1.1'), 'approved') ->> 'moderation', 'approved',
          'the post''s author approves a comment');
SELECT lives_ok(format('SELECT rustok.moderate_comment(%L, ''approved'')', pg_temp.id('c1.1.1')), 'and its reply');
SELECT throws_ok(format('SELECT rustok.moderate_comment(%L, ''deleted'')', pg_temp.id('c1.2')), 'RK002', NULL,
                 'an unknown moderation status');
SELECT throws_ok(format('SELECT rustok.moderate_comment(%L, ''spam'')', pg_temp.id('post')), 'RK003', NULL,
                 'a post is not a comment');
SELECT pg_temp.act('acme.admin');
SELECT lives_ok(format('SELECT rustok.moderate_comment(%L, ''approved''), rustok.moderate_comment(%L, ''approved'')',
                       pg_temp.id('c1.2'), pg_temp.id('c2')), 'an admin moderates any comment');
SELECT is(pg_temp.counts(), '{post:2,first:3,a reply:1,reply to my own pending reply:0,second reply:0,staff reply:0,second comment:0}',
          'approving moved the counters');
SELECT lives_ok(format('SELECT rustok.moderate_comment(%L, ''spam'')', pg_temp.id('c1.1')), 'marking a reply as spam');
SELECT is(pg_temp.counts(), '{post:2,first:2,a reply:1,reply to my own pending reply:0,second reply:0,staff reply:0,second comment:0}',
          'takes it out of its parent''s count');
SELECT pg_temp.act('acme');
SELECT is(pg_temp.thread(), '{0:first,1:second reply,1:staff reply,0:second comment}',
          'a spam comment is hidden with its replies, approved or not');
SELECT is(rustok.node_by_id(pg_temp.id('c1.1.1')), NULL, 'node_by_id hides a reply under a hidden comment too');
SELECT is(rustok.comment_tree(pg_temp.id('post')) -> 1 ->> 'body', 'second reply', 'comment_tree agrees');
SELECT is((SELECT array_agg(e ->> 'body' ORDER BY i) FROM json_array_elements(rustok.comment_tree(pg_temp.id('post'))) WITH ORDINALITY AS x (e, i)),
          '{first,second reply,staff reply,second comment}', 'the whole tree in one call, in thread order');
SELECT is(pg_temp.thread(2), '{0:first,1:second reply}', 'a page of the thread');
SELECT is(pg_temp.thread(10, rustok.list_comments(pg_temp.id('post'), 2) #>> '{pageInfo,endCursor}'),
          '{1:staff reply,0:second comment}', 'and the next page after its cursor');
SELECT throws_ok(format('SELECT rustok.list_comments(%L, 10, %L)', pg_temp.id('post'), pg_temp.ulid('other')), 'RK003',
                 NULL, 'a cursor that is not a comment of this post');
SELECT is((SELECT array_agg(data ->> 'status' ORDER BY position) FROM event_outbox WHERE type = 'CommentModerated'),
          '{approved,approved,approved,approved,spam}', 'CommentModerated for each change');

-- the tenant's setting: customers' comments need no approval
RESET ROLE;
UPDATE tenant_modules SET settings = '{"commentsNeedApproval": false}' WHERE module_slug = 'blog'
    AND tenant_id = (SELECT tenant_id FROM ids WHERE name = 'acme');
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme.customer2');
SELECT is(rustok.add_comment(pg_temp.id('post'), NULL, 'straight in') ->> 'moderation', 'approved',
          'with commentsNeedApproval false a customer''s comment is approved at once');

-- bad input, nothing written
CREATE TEMP TABLE before AS SELECT (SELECT count(*) FROM nodes) AS nodes, (SELECT count(*) FROM event_outbox) AS events;
SELECT throws_ok(format('SELECT rustok.add_comment(%L, NULL, ''x'')', pg_temp.id('draft')), 'RK003', NULL,
                 'a customer cannot see a draft: NOT_FOUND');
SELECT pg_temp.act('acme.manager');
SELECT throws_ok(format('SELECT rustok.add_comment(%L, NULL, ''x'')', pg_temp.id('draft')), 'RK201', NULL,
                 'its author can, but a draft takes no comments: NOT_PUBLISHED');
SELECT throws_ok(format('SELECT rustok.add_comment(%L, NULL, ''x'')', pg_temp.id('scheduled')), 'RK201', NULL,
                 'nor does a post scheduled for later');
SELECT throws_ok(format('SELECT rustok.add_comment(%L, NULL, ''x'')', pg_temp.id('page')), 'RK003', NULL,
                 'comments go on posts: a page is NOT_FOUND');
SELECT throws_ok(format('SELECT rustok.add_comment(%L, %L, ''x'')', pg_temp.id('other'), pg_temp.id('c1')), 'RK003', NULL,
                 'a parent comment of another post is NOT_FOUND');
SELECT throws_ok(format('SELECT rustok.add_comment(%L, NULL, ''   '')', pg_temp.id('post')), 'RK002', NULL,
                 'a blank body is VALIDATION_FAILED');
SELECT throws_ok(format('SELECT rustok.add_comment(%L, NULL, %L)', pg_temp.id('post'), repeat('x', 10001)), 'RK002', NULL,
                 'so is one over 10,000 characters');
SELECT throws_ok(format($$ INSERT INTO nodes (tenant_id, kind, parent_id, status, published_at, moderation)
                           VALUES (%L, 'comment', %L, 'published', now(), 'approved') $$,
                        (SELECT tenant_id FROM ids WHERE name = 'acme'), pg_temp.id('page')),
                 'RK002', NULL, 'a plain INSERT of a comment under a page is refused by the trigger');
SELECT is((SELECT ARRAY[count(*), (SELECT count(*) FROM event_outbox)] FROM nodes),
          (SELECT ARRAY[nodes, events] FROM before), 'none of these wrote a row or an event');
SELECT pg_temp.act('acme');
SELECT throws_ok(format('SELECT rustok.add_comment(%L, NULL, ''x'')', pg_temp.id('post')), 'RK006', NULL,
                 'anonymous readers cannot comment: UNAUTHENTICATED');
SELECT throws_ok(format('SELECT rustok.list_comments(%L)', pg_temp.id('draft')), 'RK003', NULL,
                 'nor list the comments of a draft');

-- a plain INSERT (psql) gets its thread columns from the trigger
RESET ROLE;
SELECT lives_ok(format($$ INSERT INTO nodes (tenant_id, kind, parent_id, status, published_at, moderation, path, depth, position)
                          VALUES (%L, 'comment', %L, 'published', now(), 'approved', 'ffffffff', 7, 42) $$,
                       (SELECT tenant_id FROM ids WHERE name = 'acme'), pg_temp.id('c2')),
                'a plain INSERT of a reply');
SELECT is((SELECT pg_temp.dotted(path) || '@' || depth || '#' || position FROM nodes
           WHERE parent_id = pg_temp.id('c2')), '1.0@1#0', 'gets path, depth and position from the trigger, not the statement');
SELECT throws_ok(format('UPDATE nodes SET parent_id = %L WHERE id = %L', pg_temp.id('c1'), pg_temp.id('c2')), 'RK002', NULL,
                 'a comment cannot be moved');
SELECT throws_ok(format($$ DO $chain$
                           DECLARE parent uuid := %L;
                           BEGIN
                               FOR i IN 1..60 LOOP
                                   INSERT INTO nodes (tenant_id, kind, parent_id, status, published_at, moderation)
                                   VALUES (%L, 'comment', parent, 'published', now(), 'approved') RETURNING id INTO parent;
                               END LOOP;
                           END $chain$ $$, pg_temp.id('c2'), (SELECT tenant_id FROM ids WHERE name = 'acme')),
                 'RK002', NULL, 'a thread deeper than 50 replies is refused');

-- deleting: the author deletes their comment; the counters follow; replies go with it
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme.customer');
SELECT throws_ok(format('SELECT rustok.delete_node(%L)', pg_temp.id('c1')), 'RK005', NULL,
                 'a customer cannot delete someone else''s comment');
SELECT is(rustok.update_node(pg_temp.id('c1.2'), '{"body": "second reply, edited"}') ->> 'body', 'second reply, edited',
          'but edits their own');
SELECT throws_ok(format('SELECT rustok.update_node(%L, ''{"title": "x"}'')', pg_temp.id('c1.2')), 'RK002', NULL,
                 'a comment has no title');
SELECT lives_ok(format('SELECT rustok.delete_node(%L)', pg_temp.id('c1.2')), 'and deletes their own');
SELECT pg_temp.act('acme.admin');
SELECT lives_ok(format('SELECT rustok.delete_node(%L)', pg_temp.id('c1')), 'an admin deletes a comment with replies');
SELECT is(pg_temp.counts(), '{post:2,second comment:1,:0,straight in:0}',
          'its replies went with it and the post''s count followed');

-- the per-user comment rate (rustok._check_comment_rate): the blog setting commentsPerMinute, default 10;
-- moderators are not limited
RESET ROLE;
CREATE FUNCTION pg_temp.comments_until_refused(tries int) RETURNS int LANGUAGE plpgsql AS $$
/* Adds comments on the post as the current user until RATE_LIMITED (or `tries`); how many were added. */
DECLARE
    added int := 0;
BEGIN
    FOR i IN 1..tries LOOP
        BEGIN
            PERFORM rustok.add_comment(pg_temp.id('post'), NULL, 'again ' || i);
            added := added + 1;
        EXCEPTION WHEN sqlstate 'RK015' THEN
            RETURN added;
        END;
    END LOOP;
    RETURN added;
END
$$;
SELECT rustok.set_context(tenant_id) FROM ids WHERE name = 'acme';
INSERT INTO ids SELECT 'acme.' || r, tenant_id, rustok._insert_user(r || '@acme.test', 'h', 'customer'), 'customer'
FROM ids, unnest('{customer3,customer4}'::text[]) r WHERE name = 'acme';
UPDATE tenant_modules SET settings = settings || '{"commentsPerMinute": 3}' WHERE module_slug = 'blog'
    AND tenant_id = (SELECT tenant_id FROM ids WHERE name = 'acme');
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme.customer3');
SELECT is(pg_temp.comments_until_refused(20), 3, 'a customer adds commentsPerMinute comments in a minute');
SELECT throws_ok(format('SELECT rustok.add_comment(%L, NULL, ''one more'')', pg_temp.id('post')), 'RK015', NULL,
                 'and the next one is RATE_LIMITED');
SELECT pg_temp.act('acme.manager');
SELECT is(pg_temp.comments_until_refused(15), 15, 'a moderator is not limited');
RESET ROLE;
UPDATE tenant_modules SET settings = settings - 'commentsPerMinute' WHERE module_slug = 'blog'
    AND tenant_id = (SELECT tenant_id FROM ids WHERE name = 'acme');
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme.customer4');
SELECT is(pg_temp.comments_until_refused(50), 10, 'without the setting, 10 a minute');
SELECT pg_temp.act('acme.admin');

-- the module switch
SELECT lives_ok($$ SELECT rustok.disable_module('blog') $$, 'blog switched off');
SELECT throws_ok(format('SELECT rustok.add_comment(%L, NULL, ''x'')', pg_temp.id('post')), 'RK010', NULL,
                 'add_comment: MODULE_DISABLED');
SELECT throws_ok(format('SELECT rustok.list_comments(%L)', pg_temp.id('post')), 'RK010', NULL,
                 'list_comments: MODULE_DISABLED');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
