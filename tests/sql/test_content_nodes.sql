-- Content nodes as the application role: create (slugs, validation, nothing half-written), update, publish
-- now or scheduled (visibility computed when reading), unpublish, delete, read by id and slug, the filtered
-- list; who may do what (anonymous, customer, manager on their own, admin on everything); the events; the
-- weighted search vector in the tenant's language; the module switch.
BEGIN;
SELECT plan(88);

-- two tenants; in acme an admin, two managers (author and writer) and a customer; a page in globex
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
                                                                         CASE r WHEN 'author' THEN 'manager'
                                                                                WHEN 'writer' THEN 'manager' ELSE r END),
                               CASE r WHEN 'author' THEN 'manager' WHEN 'writer' THEN 'manager' ELSE r END
        FROM tenants, unnest('{admin,author,writer,customer}'::text[]) r WHERE id = t;
    END LOOP;
    PERFORM rustok.set_context((SELECT tenant_id FROM ids WHERE name = 'globex'));
    INSERT INTO ids SELECT 'globex.page', tenant_id,
                           rustok.parse_id(rustok.create_node('{"kind": "page", "title": "Elsewhere"}') ->> 'id'), NULL
    FROM ids WHERE name = 'globex';
    INSERT INTO ids SELECT 'globex.category', tenant_id,
                           rustok.parse_id(rustok.create_category('{"name": "Theirs"}') ->> 'id'), NULL
    FROM ids WHERE name = 'globex';
END $$;
CREATE FUNCTION pg_temp.act(who text) RETURNS text LANGUAGE sql AS $$
    /* Acts as a user of the test ('acme.author'), or anonymously in a tenant ('acme'). Returns '' (a line
       the TAP parser skips). */
    SELECT rustok.set_context(i.tenant_id, i.id, i.role) FROM ids i WHERE i.name = who;
    SELECT ''
$$;
CREATE FUNCTION pg_temp.id(who text) RETURNS uuid LANGUAGE sql AS $$ SELECT i.id FROM ids i WHERE i.name = who $$;
CREATE FUNCTION pg_temp.ulid(who text) RETURNS text LANGUAGE sql AS $$ SELECT rustok.ulid(pg_temp.id(who)) $$;
CREATE FUNCTION pg_temp.node(who text) RETURNS jsonb LANGUAGE sql AS $$ SELECT rustok.node_by_id(pg_temp.id(who)) $$;
CREATE FUNCTION pg_temp.listed(filter jsonb DEFAULT NULL) RETURNS text[] LANGUAGE sql AS $$
    /* The titles list_nodes returns (first 100), in order. */
    SELECT coalesce(array_agg(e -> 'node' ->> 'title' ORDER BY i), '{}')
    FROM jsonb_array_elements(rustok.list_nodes(100, NULL, filter) -> 'edges') WITH ORDINALITY AS x (e, i)
$$;
CREATE FUNCTION pg_temp.events(kind text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM event_outbox WHERE type = kind
$$;

GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;

-- creating: slugs from titles, numbered on collision, per kind
SELECT pg_temp.act('acme.author');
INSERT INTO ids SELECT 'draft', NULL, rustok.parse_id(rustok.create_node(
    '{"kind": "post", "title": "Crème Brûlée — Привет!", "excerpt": "Short", "body": "Sweet *caramel*",
      "tags": ["Desserts", "French", "desserts"], "metaTitle": "Brûlée", "metaDescription": "How to",
      "metadata": {"lang": "fr"}}') ->> 'id');
SELECT is(pg_temp.node('draft') ->> 'slug', 'creme-brulee-privet', 'the slug is the title, ASCII-folded and transliterated');
SELECT is((SELECT jsonb_agg(t - 'id' ORDER BY t ->> 'slug') FROM jsonb_array_elements(pg_temp.node('draft') -> 'tags') t),
          '[{"name": "Desserts", "slug": "desserts"}, {"name": "French", "slug": "french"}]',
          'duplicate tag names collapse to one tag');
SELECT is(pg_temp.node('draft') - '{id,tags,createdAt,updatedAt,authorId}'::text[],
          '{"kind": "post", "status": "draft", "isLive": false, "title": "Crème Brûlée — Привет!",
            "slug": "creme-brulee-privet", "excerpt": "Short", "body": "Sweet *caramel*", "format": "markdown",
            "parentId": null, "authorName": null, "categoryId": null, "category": null, "metaTitle": "Brûlée",
            "metaDescription": "How to", "metadata": {"lang": "fr"}, "position": 0, "depth": 0, "replyCount": 0,
            "moderation": null, "publishedAt": null}',
          'the response is the ContentNode shape');
SELECT is(pg_temp.node('draft') ->> 'authorId', pg_temp.ulid('acme.author'), 'the author is the signed-in user');
SELECT is(rustok.create_node('{"kind": "post", "title": "Crème brûlée, Привет"}') ->> 'slug', 'creme-brulee-privet-2',
          'the same slug again is numbered');
SELECT is(rustok.create_node('{"kind": "post", "title": "Crème brûlée, Привет"}') ->> 'slug', 'creme-brulee-privet-3',
          'and numbered on');
SELECT is(rustok.create_node('{"kind": "page", "title": "Crème brûlée — Привет"}') ->> 'slug', 'creme-brulee-privet',
          'slugs are unique per kind: a page may have a post''s slug');
SELECT is(rustok.create_node('{"kind": "page", "title": "!!!"}') ->> 'slug', 'page',
          'a title with nothing sluggable gives the kind as slug');
INSERT INTO ids SELECT 'about', NULL, rustok.parse_id(rustok.create_node(
    '{"kind": "page", "title": "About", "slug": "about-us", "format": "html", "body": "<p>Zebra crossing</p>"}') ->> 'id');
SELECT is(pg_temp.node('about') ->> 'slug', 'about-us', 'an explicit slug is kept');
INSERT INTO ids SELECT 'team', NULL, rustok.parse_id(rustok.create_node(jsonb_build_object(
    'kind', 'page', 'title', 'Team', 'parentId', pg_temp.ulid('about'))) ->> 'id');
SELECT is(pg_temp.node('team') ->> 'depth', '1', 'a child page is one level deeper than its parent');

-- bad input: a clear code each, nothing written
CREATE TEMP TABLE before AS SELECT (SELECT count(*) FROM nodes) AS nodes, (SELECT count(*) FROM tags) AS tags,
                                   (SELECT count(*) FROM event_outbox) AS events;
SELECT lives_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "X", "slug": "about-us", "tags": ["t"]}') $$,
                'an explicit slug only clashes within its kind: a post may take a page''s slug');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "page", "title": "X", "slug": "about-us"}') $$, 'RK004', NULL,
                 'an explicit slug that is taken is CONFLICT');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "X", "slug": "about-us", "tags": ["new"]}') $$,
                 'RK004', NULL, 'the second post with that slug clashes');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "X", "slug": "Not A Slug"}') $$, 'RK002', NULL,
                 'a malformed slug is VALIDATION_FAILED');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "video", "title": "X"}') $$, 'RK002', NULL, 'an unknown kind');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "comment", "title": "X"}') $$, 'RK002', NULL,
                 'comments are not created here');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "X", "status": "live"}') $$, 'RK002', NULL,
                 'an unknown status');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "X", "format": "rtf"}') $$, 'RK002', NULL,
                 'an unknown format');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "X", "colour": "red"}') $$, 'RK002', NULL,
                 'an unknown field');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "  "}') $$, 'RK002', NULL, 'a blank title');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "X", "tags": ["ok", "  "]}') $$, 'RK002', NULL,
                 'a blank tag name');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "X", "publishedAt": "2030-01-01T00:00:00Z"}') $$,
                 'RK002', NULL, 'publishedAt without status published');
SELECT throws_ok(format($$ SELECT rustok.create_node('{"kind": "post", "title": "X", "parentId": "%s"}') $$,
                        pg_temp.ulid('about')), 'RK002', NULL, 'a parent of another kind');
SELECT throws_ok(format($$ SELECT rustok.create_node('{"kind": "page", "title": "X", "parentId": "%s"}') $$,
                        pg_temp.ulid('globex.page')), 'RK003', NULL, 'a parent in another tenant is NOT_FOUND');
SELECT throws_ok(format($$ SELECT rustok.create_node('{"kind": "page", "title": "X", "categoryId": "%s"}') $$,
                        pg_temp.ulid('globex.category')), 'RK003', NULL, 'a category in another tenant is NOT_FOUND');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "page", "title": "X", "parentId": "nope"}') $$, 'RK001', NULL,
                 'a malformed id is INVALID_ID');
SELECT is((SELECT ARRAY[count(*), (SELECT count(*) FROM tags), (SELECT count(*) FROM event_outbox)] FROM nodes),
          (SELECT ARRAY[nodes + 1, tags + 1, events + 1] FROM before),
          'of all these only the one good request wrote anything (one node, its tag, its event)');

-- who may create
SELECT pg_temp.act('acme.customer');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "X"}') $$, 'RK005', NULL,
                 'a customer may not create content');
SELECT pg_temp.act('acme');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "X"}') $$, 'RK006', NULL,
                 'anonymous: UNAUTHENTICATED');
SELECT is(pg_temp.node('draft'), NULL, 'anonymous readers do not see a draft');
SELECT pg_temp.act('acme.writer');
SELECT is(pg_temp.node('draft'), NULL, 'nor does another manager');
SELECT throws_ok(format('SELECT rustok.update_node(%L, ''{"title": "Mine"}'')', pg_temp.id('draft')), 'RK003', NULL,
                 'another manager cannot change a draft they cannot see: NOT_FOUND');

-- publishing
SELECT pg_temp.act('acme.author');
SELECT is(rustok.publish_node(pg_temp.id('draft')) ->> 'isLive', 'true', 'the author publishes their post');
SELECT is(pg_temp.events('NodePublished'), 1::bigint, 'NodePublished was emitted');
SELECT pg_temp.act('acme');
SELECT is(pg_temp.node('draft') ->> 'title', 'Crème Brûlée — Привет!', 'anonymous readers see it now');
SELECT is(rustok.node_by_slug('post', 'creme-brulee-privet') ->> 'id', pg_temp.ulid('draft'), 'by slug too');
SELECT is(rustok.node_by_slug('page', 'creme-brulee-privet'), NULL, 'but not the draft page of that slug');
SELECT throws_ok($$ SELECT rustok.node_by_slug('video', 'x') $$, 'RK002', NULL, 'node_by_slug refuses an unknown kind');
SELECT pg_temp.act('acme.writer');
SELECT throws_ok(format('SELECT rustok.update_node(%L, ''{"title": "Mine"}'')', pg_temp.id('draft')), 'RK005', NULL,
                 'another manager cannot change a published post: FORBIDDEN');
SELECT throws_ok(format('SELECT rustok.delete_node(%L)', pg_temp.id('draft')), 'RK005', NULL,
                 'nor delete it');
SELECT pg_temp.act('acme.customer');
SELECT throws_ok(format('SELECT rustok.unpublish_node(%L)', pg_temp.id('draft')), 'RK005', NULL,
                 'a customer cannot unpublish it');
SELECT pg_temp.act('acme.admin');
SELECT is(rustok.update_node(pg_temp.id('draft'), '{"excerpt": "Edited by the admin"}') ->> 'excerpt',
          'Edited by the admin', 'an admin changes anyone''s content');

-- scheduled publishing: visible once published_at has passed, with no job
SELECT pg_temp.act('acme.author');
INSERT INTO ids SELECT 'later', NULL, rustok.parse_id(rustok.create_node(
    '{"kind": "post", "title": "Later", "status": "published", "publishedAt": "2999-01-01T00:00:00Z"}') ->> 'id');
SELECT is(pg_temp.node('later') ->> 'isLive', 'false', 'a post scheduled in the future is not live');
SELECT pg_temp.act('acme');
SELECT is(pg_temp.node('later'), NULL, 'anonymous readers do not see it yet');
SELECT ok(NOT ('Later' = ANY (pg_temp.listed())), 'nor in the list');
RESET ROLE;
UPDATE nodes SET published_at = now() - interval '1 second' WHERE id = pg_temp.id('later');  -- time passes
SET LOCAL ROLE rustok_app;
SELECT is(pg_temp.node('later') ->> 'title', 'Later', 'once its time has come it is visible, computed when read');
SELECT pg_temp.act('acme.author');
SELECT is((rustok.publish_node(pg_temp.id('draft'), '2999-06-01T00:00:00Z') ->> 'publishedAt')::timestamptz,
          '2999-06-01T00:00:00Z'::timestamptz, 'publish_node with a time reschedules');
SELECT is(rustok.publish_node(pg_temp.id('draft')) ->> 'isLive', 'true', 'and without one publishes now');
SELECT is((SELECT count(*) FROM event_outbox WHERE type = 'NodePublished' AND data ->> 'node_id' = pg_temp.ulid('draft')),
          3::bigint, 'each change of publication emitted NodePublished');
SELECT lives_ok(format('SELECT rustok.publish_node(%L)', pg_temp.id('draft')), 'publishing a live post again');
SELECT is((SELECT count(*) FROM event_outbox WHERE type = 'NodePublished' AND data ->> 'node_id' = pg_temp.ulid('draft')),
          3::bigint, 'changes nothing and emits nothing');
SELECT ok(rustok.unpublish_node(pg_temp.id('later')) @> '{"status": "draft", "publishedAt": null, "isLive": false}',
          'unpublish takes it back to draft');
SELECT pg_temp.act('acme');
SELECT is(pg_temp.node('later'), NULL, 'and readers no longer see it');

-- the list
SELECT pg_temp.act('acme');
SELECT is(pg_temp.listed(), ARRAY['Crème Brûlée — Привет!'], 'anonymous: the published post only');
SELECT pg_temp.act('acme.author');
SELECT is(cardinality(pg_temp.listed()), 9, 'the author: the published post and their own drafts');
SELECT pg_temp.act('acme.writer');
SELECT is(pg_temp.listed(), ARRAY['Crème Brûlée — Привет!'], 'another manager: only what is published');
SELECT pg_temp.act('acme.admin');
SELECT is(pg_temp.listed('{"kind": "page"}'), ARRAY['Team', 'About', '!!!', 'Crème brûlée — Привет'],
          'filter by kind, newest first');
SELECT is(pg_temp.listed('{"kind": "post", "status": "published"}'), ARRAY['Crème Brûlée — Привет!'], 'by status');
SELECT is(pg_temp.listed('{"tag": "DESSERTS"}'), ARRAY['Crème Brûlée — Привет!'], 'by tag (name or slug)');
SELECT is(pg_temp.listed(jsonb_build_object('authorId', pg_temp.ulid('acme.writer'))), '{}', 'by author');
SELECT is(rustok.list_nodes(2) #>> '{pageInfo,hasNextPage}', 'true', 'pages: hasNextPage');
SELECT is((SELECT array_agg(e -> 'node' ->> 'id')
           FROM jsonb_array_elements(rustok.list_nodes(2, rustok.list_nodes(2) #>> '{pageInfo,endCursor}') -> 'edges') e),
          (SELECT array_agg(e -> 'node' ->> 'id' ORDER BY i) FROM jsonb_array_elements(rustok.list_nodes(4) -> 'edges')
               WITH ORDINALITY AS x (e, i) WHERE i > 2),
          'the second page starts after the first page''s end cursor');
SELECT throws_ok($$ SELECT rustok.list_nodes(10, NULL, '{"colour": "red"}') $$, 'RK002', NULL, 'unknown filter field');
SELECT throws_ok($$ SELECT rustok.list_nodes(10, NULL, '{"status": "gone"}') $$, 'RK002', NULL, 'unknown status');
SELECT throws_ok($$ SELECT rustok.list_nodes(10, 'not-a-cursor') $$, 'RK001', NULL, 'a bad cursor');
SELECT throws_ok($$ SELECT rustok.list_nodes(0) $$, 'RK002', NULL, 'a bad page size');

-- updating
SELECT pg_temp.act('acme.author');
SELECT is(rustok.update_node(pg_temp.id('about'), '{"title": "About us"}') ->> 'slug', 'about-us',
          'a new title keeps the slug (links stay valid)');
SELECT is(rustok.update_node(pg_temp.id('about'), '{"slug": null}') ->> 'slug', 'about-us',
          'slug null makes it from the title again');
SELECT throws_ok(format('SELECT rustok.update_node(%L, ''{"slug": "team"}'')', pg_temp.id('about')), 'RK004', NULL,
                 'a slug taken by another page is CONFLICT');
SELECT throws_ok(format('SELECT rustok.update_node(%L, ''{"status": "nope"}'')', pg_temp.id('about')), 'RK002', NULL,
                 'an unknown status');
SELECT throws_ok(format('SELECT rustok.update_node(%L, ''{"parentId": null}'')', pg_temp.id('team')), 'RK002', NULL,
                 'the parent is not an updatable field');
CREATE TEMP TABLE updated_before AS SELECT pg_temp.events('NodeUpdated') AS n;
SELECT is(rustok.update_node(pg_temp.id('about'), '{"categoryId": null, "tags": ["a", "b"], "body": "<p>Lion</p>"}')
              -> 'tags' -> 1 ->> 'slug', 'b', 'tags replaced');
SELECT is(pg_temp.events('NodeUpdated'), (SELECT n + 1 FROM updated_before), 'one NodeUpdated per change');
SELECT lives_ok(format('SELECT rustok.update_node(%L, ''{"tags": ["b", "a"], "body": "<p>Lion</p>"}'')', pg_temp.id('about')),
                'an update that changes nothing');
SELECT is(pg_temp.events('NodeUpdated'), (SELECT n + 1 FROM updated_before), 'emits nothing');

-- the search vector: title A, excerpt B, body C; HTML tags dropped; the tenant's language
RESET ROLE;
SELECT is((SELECT ARRAY[search_vector @@ 'brulee:A'::tsquery OR search_vector @@ 'brûlée:A'::tsquery,
                        search_vector @@ 'edited:B'::tsquery, search_vector @@ 'caramel:C'::tsquery]
           FROM bodies WHERE node_id = pg_temp.id('draft')),
          '{t,t,t}', 'title weighs A, excerpt B, body C');
SELECT is((SELECT ARRAY[search_vector @@ 'lion'::tsquery, search_vector @@ 'p'::tsquery]
           FROM bodies WHERE node_id = pg_temp.id('about')), '{t,f}', 'an HTML body is searched without its tags');
UPDATE tenants SET settings = '{"search_language": "english"}' WHERE slug = 'acme';
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme.author');
SELECT is(rustok.update_node(pg_temp.id('about'), '{"title": "Running teams"}') ->> 'title', 'Running teams',
          'a title change');
SELECT is((SELECT search_vector @@ to_tsquery('english', 'run:A') FROM bodies WHERE node_id = pg_temp.id('about')),
          true, 'recomputes the vector, in the tenant''s search_language (English stems)');

-- deleting
SELECT throws_ok(format('SELECT rustok.delete_node(%L)', pg_temp.id('about')), 'RK014', NULL,
                 'a page with child pages is not deleted: INVALID_STATE');
SELECT is(rustok.delete_node(pg_temp.id('team')), pg_temp.ulid('team'), 'the child page is deleted');
SELECT lives_ok(format('SELECT rustok.delete_node(%L)', pg_temp.id('about')), 'then its parent');
SELECT is((SELECT count(*) FROM bodies WHERE node_id IN (pg_temp.id('about'), pg_temp.id('team')))
          + (SELECT count(*) FROM body_revisions WHERE node_id = pg_temp.id('about'))
          + (SELECT count(*) FROM node_tags WHERE node_id = pg_temp.id('about')), 0::bigint,
          'their bodies, revisions and tag links are gone');
SELECT is((SELECT array_agg(data ->> 'kind') FROM event_outbox WHERE type = 'NodeDeleted'), '{page,page}',
          'NodeDeleted for each');

-- the module switch
SELECT pg_temp.act('acme.admin');
SELECT lives_ok($$ SELECT rustok.disable_module('blog'), rustok.disable_module('index'), rustok.disable_module('content') $$, 'content switched off');
SELECT throws_ok($$ SELECT rustok.create_node('{"kind": "post", "title": "X"}') $$, 'RK010', NULL,
                 'create_node: MODULE_DISABLED');
SELECT throws_ok(format('SELECT rustok.node_by_id(%L)', pg_temp.id('draft')), 'RK010', NULL,
                 'node_by_id: MODULE_DISABLED');
SELECT throws_ok($$ SELECT rustok.list_nodes() $$, 'RK010', NULL, 'list_nodes: MODULE_DISABLED');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
