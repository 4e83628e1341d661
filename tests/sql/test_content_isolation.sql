-- Content across tenants, as the application role: another tenant's nodes, comments, bodies, categories, tags
-- and revisions are invisible through every function and every table, cannot be changed or referenced, and
-- plain SQL cannot write into them; nodes and bodies are hash-partitioned by tenant and the partitions are
-- closed to the application; deleting a tenant deletes its content.
BEGIN;
SELECT plan(21);

CREATE TEMP TABLE ids (name text PRIMARY KEY, tenant_id uuid, id uuid, role text);
DO $$
DECLARE
    t uuid;
    post uuid;
BEGIN
    FOREACH t IN ARRAY ARRAY[rustok.parse_id(rustok.create_tenant('acme', 'Acme') ->> 'id'),
                             rustok.parse_id(rustok.create_tenant('globex', 'Globex') ->> 'id')] LOOP
        PERFORM rustok.set_context(t);
        INSERT INTO ids SELECT slug, t, NULL, NULL FROM tenants WHERE id = t;
        INSERT INTO ids SELECT slug || '.admin', t, rustok._insert_user('admin@' || slug || '.test', 'h', 'admin'), 'admin'
        FROM tenants WHERE id = t;
        PERFORM rustok.set_context(t, (SELECT id FROM ids WHERE ids.tenant_id = t AND role = 'admin'), 'admin');
        -- the same slugs in both tenants: keys are per tenant
        PERFORM rustok.create_category('{"name": "News"}');
        post := rustok.parse_id(rustok.create_node('{"kind": "post", "title": "Hello", "body": "v1", "tags": ["x"],
                                                     "status": "published", "categoryId": null}') ->> 'id');
        PERFORM rustok.update_node(post, '{"body": "v2"}');
        INSERT INTO ids SELECT (SELECT slug FROM tenants WHERE id = t) || '.comment', t,
                               rustok.parse_id(rustok.add_comment(post, NULL, 'first') ->> 'id'), NULL;
        INSERT INTO ids SELECT (SELECT slug FROM tenants WHERE id = t) || '.post', t, post, NULL;
    END LOOP;
END $$;
CREATE FUNCTION pg_temp.act(who text) RETURNS text LANGUAGE sql AS $$
    SELECT rustok.set_context(i.tenant_id, i.id, i.role) FROM ids i WHERE i.name = who;
    SELECT ''
$$;
CREATE FUNCTION pg_temp.id(who text) RETURNS uuid LANGUAGE sql AS $$ SELECT i.id FROM ids i WHERE i.name = who $$;
CREATE FUNCTION pg_temp.visible_rows() RETURNS text[] LANGUAGE sql AS $$
    /* 'table:count' of every content table as the current role sees it. */
    SELECT ARRAY['nodes:' || (SELECT count(*) FROM nodes), 'bodies:' || (SELECT count(*) FROM bodies),
                 'categories:' || (SELECT count(*) FROM categories), 'tags:' || (SELECT count(*) FROM tags),
                 'node_tags:' || (SELECT count(*) FROM node_tags),
                 'body_revisions:' || (SELECT count(*) FROM body_revisions)]
$$;
CREATE FUNCTION pg_temp.rows_affected(statement text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE statement;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;

SELECT is(pg_temp.visible_rows(), '{nodes:4,bodies:4,categories:2,tags:2,node_tags:2,body_revisions:2}',
          'the superuser sees both tenants'' content (a post and a comment each)');
SELECT is((SELECT array_agg(DISTINCT n) FROM (SELECT count(DISTINCT tableoid) AS n FROM nodes GROUP BY tenant_id) x),
          '{1}'::bigint[], 'each tenant''s nodes live together in one hash partition');

SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme.admin');
SELECT is(pg_temp.visible_rows(), '{nodes:2,bodies:2,categories:1,tags:1,node_tags:1,body_revisions:1}',
          'acme sees only its own rows in every content table');
SELECT is(rustok.node_by_id(pg_temp.id('globex.post')), NULL, 'node_by_id: globex''s post does not exist for acme');
SELECT is(rustok.node_by_slug('post', 'hello') ->> 'id', rustok.ulid(pg_temp.id('acme.post')),
          'node_by_slug finds acme''s own post of the shared slug');
SELECT is((SELECT array_agg(e #>> '{node,id}') FROM jsonb_array_elements(rustok.list_nodes() -> 'edges') e),
          ARRAY[rustok.ulid(pg_temp.id('acme.post'))], 'list_nodes lists acme''s only');
SELECT throws_ok(format('SELECT rustok.update_node(%L, ''{"title": "Mine"}'')', pg_temp.id('globex.post')), 'RK003', NULL,
                 'update_node on globex''s post: NOT_FOUND');
SELECT throws_ok(format('SELECT rustok.publish_node(%L)', pg_temp.id('globex.post')), 'RK003', NULL, 'publish_node too');
SELECT throws_ok(format('SELECT rustok.delete_node(%L)', pg_temp.id('globex.post')), 'RK003', NULL, 'delete_node too');
SELECT throws_ok(format('SELECT rustok.list_comments(%L)', pg_temp.id('globex.post')), 'RK003', NULL,
                 'list_comments too');
SELECT throws_ok(format('SELECT rustok.add_comment(%L, NULL, ''hi'')', pg_temp.id('globex.post')), 'RK003', NULL,
                 'add_comment too');
SELECT throws_ok(format('SELECT rustok.moderate_comment(%L, ''spam'')', pg_temp.id('globex.comment')), 'RK003', NULL,
                 'moderate_comment too');

-- plain SQL as the application role
SELECT throws_ok(format($$ INSERT INTO nodes (tenant_id, kind, title) VALUES (%L, 'post', 'Intruder') $$,
                        (SELECT tenant_id FROM ids WHERE name = 'globex')),
                 '42501', NULL, 'inserting a node into globex is refused by the policy');
SELECT throws_ok(format($$ INSERT INTO nodes (tenant_id, kind, title, parent_id) VALUES (%L, 'post', 'Child', %L) $$,
                        (SELECT tenant_id FROM ids WHERE name = 'acme'), pg_temp.id('globex.post')),
                 'RK002', NULL, 'a node in acme cannot have a parent in globex');
SELECT is(pg_temp.rows_affected(format('UPDATE nodes SET title = ''x'' WHERE id = %L', pg_temp.id('globex.post'))), 0::bigint,
          'updating globex''s post changes nothing');
SELECT is(pg_temp.rows_affected(format('DELETE FROM bodies WHERE node_id = %L', pg_temp.id('globex.post'))), 0::bigint,
          'deleting its body deletes nothing');
SELECT throws_ok('SELECT count(*) FROM nodes_p0', '42501', NULL, 'a nodes partition cannot be read directly');
SELECT throws_ok('SELECT count(*) FROM bodies_p3', '42501', NULL, 'nor a bodies partition');

SELECT pg_temp.act('acme');
SELECT is(pg_temp.visible_rows(), '{nodes:2,bodies:2,categories:1,tags:1,node_tags:1,body_revisions:1}',
          'anonymous in acme, the tables show acme''s rows: the policy is the tenant, the functions decide the rest');
RESET ROLE;

SELECT is((SELECT count(*) FROM pg_class c
           WHERE c.relname ~ '^(nodes|bodies)_p[0-7]$' AND c.relrowsecurity AND c.relforcerowsecurity), 16::bigint,
          'all 16 partitions have forced row-level security');
DELETE FROM tenants WHERE slug = 'acme';
SELECT is(pg_temp.visible_rows(), '{nodes:2,bodies:2,categories:1,tags:1,node_tags:1,body_revisions:1}',
          'deleting a tenant deletes its content and only its content');

SELECT * FROM finish();
ROLLBACK;
