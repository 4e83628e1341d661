-- Categories as the application role: create (slugs), list in tree order, update (rename, move), the
-- no-cycle rule through the function and through a plain UPDATE, delete (children move up, nodes keep no
-- category); content.manage only; a parent in another tenant; the events.
BEGIN;
SELECT plan(26);

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
    PERFORM rustok.set_context((SELECT tenant_id FROM ids WHERE name = 'globex'));
    INSERT INTO ids SELECT 'globex.news', tenant_id, rustok.parse_id(rustok.create_category('{"name": "News"}') ->> 'id'), NULL
    FROM ids WHERE name = 'globex';
END $$;
CREATE FUNCTION pg_temp.act(who text) RETURNS text LANGUAGE sql AS $$
    /* Acts as a user of the test ('acme.admin'), or anonymously in a tenant ('acme'). Returns ''. */
    SELECT rustok.set_context(i.tenant_id, i.id, i.role) FROM ids i WHERE i.name = who;
    SELECT ''
$$;
CREATE FUNCTION pg_temp.id(who text) RETURNS uuid LANGUAGE sql AS $$ SELECT i.id FROM ids i WHERE i.name = who $$;
CREATE FUNCTION pg_temp.ulid(who text) RETURNS text LANGUAGE sql AS $$ SELECT rustok.ulid(pg_temp.id(who)) $$;
CREATE FUNCTION pg_temp.keep(who text, response jsonb) RETURNS text LANGUAGE sql AS $$
    /* Remembers the id of what a function returned under a name. Returns ''. */
    INSERT INTO ids (name, id) VALUES (who, rustok.parse_id(response ->> 'id'));
    SELECT ''
$$;
CREATE FUNCTION pg_temp.tree() RETURNS text[] LANGUAGE sql AS $$
    /* The category list as 'depth:slug' in its order. */
    SELECT coalesce(array_agg((c ->> 'depth') || ':' || (c ->> 'slug') ORDER BY i), '{}')
    FROM jsonb_array_elements(rustok.list_categories()) WITH ORDINALITY AS x (c, i)
$$;

GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;

SELECT pg_temp.act('acme.admin');
SELECT pg_temp.keep('food', rustok.create_category('{"name": "Food & Drink", "description": "All of it"}'));
SELECT pg_temp.keep('desserts', rustok.create_category(jsonb_build_object('name', 'Desserts', 'parentId', pg_temp.ulid('food'))));
SELECT pg_temp.keep('cakes', rustok.create_category(jsonb_build_object('name', 'Cakes', 'parentId', pg_temp.ulid('desserts'))));
SELECT pg_temp.keep('drinks', rustok.create_category(jsonb_build_object('name', 'Drinks', 'parentId', pg_temp.ulid('food'),
                                                                        'position', 1)));
SELECT pg_temp.keep('travel', rustok.create_category('{"name": "Travel"}'));
SELECT is(rustok.create_category('{"name": "Food & drink!"}') ->> 'slug', 'food-drink-2',
          'a slug from the name; numbered when taken');
SELECT is(rustok.create_category(jsonb_build_object('name', 'Tarts', 'parentId', pg_temp.ulid('desserts'))) - '{id,createdAt,updatedAt}'::text[],
          jsonb_build_object('parentId', pg_temp.ulid('desserts'), 'name', 'Tarts', 'slug', 'tarts', 'description', NULL,
                             'position', 0, 'depth', 2),
          'the response is the Category shape, with its depth');
SELECT is(pg_temp.tree(), '{0:food-drink,1:desserts,2:cakes,2:tarts,1:drinks,0:food-drink-2,0:travel}',
          'the list is in tree order: each category after its parent, siblings by position then name');
SELECT pg_temp.act('acme');
SELECT is(cardinality(pg_temp.tree()), 7, 'anonymous readers list categories too');
SELECT pg_temp.act('globex.admin');
SELECT is(pg_temp.tree(), '{0:news}', 'another tenant lists only its own');

-- bad input
SELECT pg_temp.act('acme.admin');
SELECT throws_ok($$ SELECT rustok.create_category('{"name": "Again", "slug": "travel"}') $$, 'RK004', NULL,
                 'an explicit slug that is taken is CONFLICT');
SELECT throws_ok($$ SELECT rustok.create_category('{"name": "Bad", "slug": "Bad Slug"}') $$, 'RK002', NULL,
                 'a malformed slug');
SELECT throws_ok($$ SELECT rustok.create_category('{"name": ""}') $$, 'RK002', NULL, 'a blank name');
SELECT throws_ok(format($$ SELECT rustok.create_category('{"name": "X", "parentId": "%s"}') $$, pg_temp.ulid('globex.news')),
                 'RK003', NULL, 'a parent in another tenant is NOT_FOUND');

-- moves and the no-cycle rule
SELECT throws_ok(format('SELECT rustok.update_category(%L, ''{"parentId": "%s"}'')', pg_temp.id('food'), pg_temp.ulid('cakes')),
                 'RK200', NULL, 'a category cannot move under its own descendant: CATEGORY_CYCLE');
SELECT throws_ok(format('SELECT rustok.update_category(%L, ''{"parentId": "%s"}'')', pg_temp.id('food'), pg_temp.ulid('food')),
                 'RK200', NULL, 'nor under itself');
SELECT throws_ok(format('UPDATE categories SET parent_id = %L WHERE id = %L', pg_temp.id('cakes'), pg_temp.id('desserts')),
                 'RK200', NULL, 'a plain UPDATE making a cycle is refused too');
SELECT is(rustok.update_category(pg_temp.id('cakes'), jsonb_build_object('parentId', pg_temp.ulid('travel'), 'name', 'Cake trips'))
              ->> 'depth', '1', 'a move elsewhere is fine');
SELECT is(rustok.update_category(pg_temp.id('cakes'), '{"slug": null}') ->> 'slug', 'cake-trips', 'slug null: from the name');
SELECT is(rustok.update_category(pg_temp.id('drinks'), '{"parentId": null}') ->> 'depth', '0', 'parentId null: top level');
SELECT throws_ok(format('SELECT rustok.update_category(%L, ''{"slug": "travel"}'')', pg_temp.id('cakes')), 'RK004', NULL,
                 'renaming to a taken slug is CONFLICT');
SELECT throws_ok(format('SELECT rustok.update_category(%L, ''{"name": "X"}'')', pg_temp.id('globex.news')), 'RK003', NULL,
                 'another tenant''s category is NOT_FOUND');
SELECT is(pg_temp.tree(), '{0:food-drink,1:desserts,2:tarts,0:food-drink-2,0:travel,1:cake-trips,0:drinks}',
          'the tree after the moves');

-- delete: children move up, nodes keep no category
SELECT pg_temp.keep('post', rustok.create_node(jsonb_build_object('kind', 'post', 'title', 'Sweet', 'categoryId', pg_temp.ulid('desserts'))));
SELECT is(rustok.delete_category(pg_temp.id('desserts')), pg_temp.ulid('desserts'), 'delete returns the id');
SELECT is(pg_temp.tree(), '{0:food-drink,1:tarts,0:food-drink-2,0:travel,1:cake-trips,0:drinks}',
          'its child moved up to its parent');
SELECT is(rustok.node_by_id(pg_temp.id('post')) -> 'category', 'null'::jsonb, 'its node has no category now');

-- who may change categories
SELECT pg_temp.act('acme.manager');
SELECT throws_ok($$ SELECT rustok.create_category('{"name": "Mine"}') $$, 'RK005', NULL, 'a manager may not');
SELECT throws_ok(format('SELECT rustok.delete_category(%L)', pg_temp.id('travel')), 'RK005', NULL, 'nor delete one');
SELECT pg_temp.act('acme');
SELECT throws_ok(format('SELECT rustok.update_category(%L, ''{"name": "X"}'')', pg_temp.id('travel')), 'RK006', NULL,
                 'anonymous: UNAUTHENTICATED');

SELECT is((SELECT array_agg(type || ':' || (data ->> 'slug') ORDER BY position) FROM event_outbox
           WHERE type LIKE 'Category%' AND type <> 'CategoryDeleted'),
          '{CategoryCreated:food-drink,CategoryCreated:desserts,CategoryCreated:cakes,'
          'CategoryCreated:drinks,CategoryCreated:travel,CategoryCreated:food-drink-2,CategoryCreated:tarts,'
          'CategoryUpdated:cakes,CategoryUpdated:cake-trips,CategoryUpdated:drinks}',
          'one event per change, refusals none');
SELECT is((SELECT array_agg(data ->> 'category_id') FROM event_outbox WHERE type = 'CategoryDeleted'),
          ARRAY[pg_temp.ulid('desserts')], 'CategoryDeleted');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
