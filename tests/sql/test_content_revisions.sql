-- Body revisions as the application role: every change of body or format keeps the version it replaced
-- (through update_node and through a plain UPDATE), listed newest first to whoever may change the node,
-- restored (which keeps the replaced body too), with RevisionRestored; others' and other nodes' revisions.
BEGIN;
SELECT plan(19);

CREATE TEMP TABLE ids (name text PRIMARY KEY, tenant_id uuid, id uuid, role text);
DO $$
DECLARE
    t uuid;
BEGIN
    FOREACH t IN ARRAY ARRAY[rustok.parse_id(rustok.create_tenant('acme', 'Acme') ->> 'id'),
                             rustok.parse_id(rustok.create_tenant('globex', 'Globex') ->> 'id')] LOOP
        PERFORM rustok.set_context(t);
        INSERT INTO ids SELECT slug, t, NULL, NULL FROM tenants WHERE id = t;
        INSERT INTO ids SELECT slug || '.' || r, t, rustok._insert_user(r || '@' || slug || '.test', 'h', r), r
        FROM tenants, unnest('{admin,manager,customer}'::text[]) r WHERE id = t;
    END LOOP;
END $$;
CREATE FUNCTION pg_temp.act(who text) RETURNS text LANGUAGE sql AS $$
    /* Acts as a user of the test ('acme.admin'), or anonymously in a tenant ('acme'). Returns ''. */
    SELECT rustok.set_context(i.tenant_id, i.id, i.role) FROM ids i WHERE i.name = who;
    SELECT ''
$$;
CREATE FUNCTION pg_temp.id(who text) RETURNS uuid LANGUAGE sql AS $$ SELECT i.id FROM ids i WHERE i.name = who $$;
CREATE FUNCTION pg_temp.keep(who text, response jsonb) RETURNS text LANGUAGE sql AS $$
    INSERT INTO ids (name, id) VALUES (who, rustok.parse_id(response ->> 'id'));
    SELECT ''
$$;
CREATE FUNCTION pg_temp.revisions(who text, first int DEFAULT 20, after text DEFAULT NULL) RETURNS text[] LANGUAGE sql AS $$
    /* 'number:body' of a node's revisions as list_node_revisions returns them. */
    SELECT coalesce(array_agg((e #>> '{node,number}') || ':' || (e #>> '{node,body}') ORDER BY i), '{}')
    FROM jsonb_array_elements(rustok.list_node_revisions(pg_temp.id(who), first, after) -> 'edges') WITH ORDINALITY AS x (e, i)
$$;

GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;

SELECT pg_temp.act('acme.manager');
SELECT pg_temp.keep('post', rustok.create_node('{"kind": "post", "title": "Draft", "body": "one", "status": "published"}'));
SELECT pg_temp.keep('other', rustok.create_node('{"kind": "post", "title": "Other", "body": "x"}'));
SELECT is(pg_temp.revisions('post'), '{}', 'a new node has no revisions');
SELECT lives_ok(format('SELECT rustok.update_node(%L, ''{"body": "two"}'')', pg_temp.id('post')), 'a body change');
SELECT lives_ok(format('SELECT rustok.update_node(%L, ''{"title": "Title only"}'')', pg_temp.id('post')),
                'a title change (not a body change)');
SELECT lives_ok(format('SELECT rustok.update_node(%L, ''{"format": "html"}'')', pg_temp.id('post')), 'a format change');
SELECT lives_ok(format('UPDATE bodies SET body = %L WHERE node_id = %L', 'four', pg_temp.id('post')),
                'a plain UPDATE of the body (as psql would)');
SELECT is(pg_temp.revisions('post'), '{3:two,2:two,1:one}', 'each body or format change kept the replaced version');
SELECT is((SELECT array_agg(format ORDER BY number) FROM body_revisions WHERE node_id = pg_temp.id('post')),
          '{markdown,markdown,html}', 'with its format');
SELECT is((SELECT array_agg(DISTINCT replaced_by) FROM body_revisions WHERE node_id = pg_temp.id('post')),
          ARRAY[pg_temp.id('acme.manager')], 'and who replaced it');
SELECT is(pg_temp.revisions('post', 2, rustok.list_node_revisions(pg_temp.id('post'), 1) #>> '{pageInfo,endCursor}'),
          '{2:two,1:one}', 'the list pages by cursor');

SELECT is(rustok.restore_revision(pg_temp.id('post'), (SELECT id FROM body_revisions WHERE node_id = pg_temp.id('post') AND number = 1))
              - '{id,createdAt,updatedAt,authorId,publishedAt,tags}'::text[] @> '{"body": "one", "format": "markdown"}',
          true, 'restoring revision 1 brings back its body and format');
SELECT is(pg_temp.revisions('post', 1), '{4:four}', 'and keeps the body it replaced as revision 4');
SELECT is((SELECT array_agg(type ORDER BY position) FROM event_outbox WHERE type IN ('RevisionRestored', 'NodeUpdated')
           AND position > (SELECT max(position) FROM event_outbox WHERE type = 'NodeUpdated') - 2),
          '{RevisionRestored,NodeUpdated}', 'RevisionRestored and NodeUpdated were emitted');
SELECT throws_ok(format('SELECT rustok.restore_revision(%L, %L)', pg_temp.id('other'),
                        (SELECT id FROM body_revisions WHERE node_id = pg_temp.id('post') AND number = 1)),
                 'RK003', NULL, 'a revision of another node is NOT_FOUND');

-- who may see and restore revisions
SELECT pg_temp.act('acme.customer');
SELECT throws_ok(format('SELECT rustok.list_node_revisions(%L)', pg_temp.id('post')), 'RK005', NULL,
                 'a customer may not list them');
SELECT pg_temp.act('acme');
SELECT throws_ok(format('SELECT rustok.list_node_revisions(%L)', pg_temp.id('post')), 'RK006', NULL,
                 'nor may anonymous readers');
SELECT pg_temp.act('acme.admin');
SELECT is(cardinality(pg_temp.revisions('post')), 4, 'an admin lists anyone''s revisions');
SELECT pg_temp.act('globex.admin');
SELECT throws_ok(format('SELECT rustok.list_node_revisions(%L)', pg_temp.id('post')), 'RK003', NULL,
                 'another tenant''s admin: NOT_FOUND');
SELECT throws_ok(format('SELECT rustok.restore_revision(%L, %L)', pg_temp.id('post'),
                        (SELECT id FROM body_revisions WHERE node_id = pg_temp.id('post') AND number = 1)),
                 'RK003', NULL, 'and cannot restore');
SELECT is((SELECT count(*) FROM body_revisions), 0::bigint, 'nor see a single revision row');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
