-- EXECUTE by allow-list (docs/security.md, point 3), read from the catalog: PUBLIC and the client group run
-- nothing in schema rustok, the analysts' role runs exactly the functions listed below (a new function is
-- refused to analysts until someone adds it to rustok._execute_allow_list on purpose), the application role
-- runs the API but not the operators' helpers, and the pg_catalog functions that take locks, transaction ids
-- or write are closed to every client but the application role. (Database privileges, such as TEMP, are not
-- copied to a clone of the template: tests/py/test_analytics_role.py checks them on a migrated database.)
BEGIN;
SELECT plan(14);

CREATE TEMP VIEW executable AS
SELECT r.rolname AS role, p.oid::regprocedure::text AS fn
FROM pg_proc p CROSS JOIN pg_roles r
WHERE p.pronamespace = 'rustok'::regnamespace AND has_function_privilege(r.oid, p.oid, 'EXECUTE');

-- the list: change it only together with rustok._execute_allow_list()
SELECT is(ARRAY(SELECT fn FROM executable WHERE role = 'rustok_analytics' ORDER BY fn),
          ARRAY['rustok.current_tenant_id()', 'rustok.current_user_id()', 'rustok.current_user_role()',
                'rustok.error_codes()', 'rustok.error_sqlstate(text)', 'rustok.parse_id(text)',
                'rustok.raise(text,text,jsonb)', 'rustok.set_context(uuid,uuid,text)',
                'rustok.tenant_id_by_slug(text)', 'rustok.ulid(uuid)'],
          'the analysts'' role may execute exactly these functions of schema rustok');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p CROSS JOIN aclexplode(p.proacl) a
                WHERE p.pronamespace = 'rustok'::regnamespace AND a.grantee = 0 ORDER BY 1),
          '{}', 'PUBLIC may execute no function of schema rustok');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                WHERE p.pronamespace = 'rustok'::regnamespace AND p.proacl IS NULL ORDER BY 1),
          '{}', 'no function of schema rustok is left with the default privileges (EXECUTE for PUBLIC)');

-- any other client role gets nothing until it is listed
CREATE ROLE test_other_client NOLOGIN IN ROLE rustok_clients;
SELECT is((SELECT count(*) FROM executable WHERE role = 'test_other_client'), 0::bigint,
          'a new member of rustok_clients may execute nothing in schema rustok');

-- a new function: the API gets it, analysts do not
SET LOCAL ROLE rustok_owner;
CREATE FUNCTION rustok.test_new_report() RETURNS int LANGUAGE sql AS 'SELECT 1';
SELECT rustok._grant_api();
RESET ROLE;
SELECT ok(has_function_privilege('rustok_app', 'rustok.test_new_report()', 'EXECUTE'),
          'a function added later is part of the API (rustok_app: ''*'')');
SELECT ok(NOT has_function_privilege('rustok_analytics', 'rustok.test_new_report()', 'EXECUTE'),
          'but analysts may not execute it');

-- a module adds a line by defining rustok._execute_allow_list__<module>()
SET LOCAL ROLE rustok_owner;
CREATE FUNCTION rustok._execute_allow_list__test() RETURNS TABLE (grantee name, function_name name)
    LANGUAGE sql AS $$ VALUES ('rustok_analytics'::name, 'test_new_report'::name) $$;
SELECT rustok._grant_api();
RESET ROLE;
SELECT ok(has_function_privilege('rustok_analytics', 'rustok.test_new_report()', 'EXECUTE'),
          'one line in a module''s allow-list opens a function to analysts');

-- the application role: the API, not the operators' helpers
SELECT is(ARRAY(SELECT fn FROM unnest(ARRAY['rustok._after_migrate()', 'rustok._grant_api()',
                                            'rustok._secure_table(regclass)', 'rustok._register_module(text,text,text,text,text[])',
                                            'rustok.maintain_partitions(timestamp with time zone)',
                                            'rustok._secure_client_roles()', 'rustok._close_catalog_functions()']) fn
                WHERE has_function_privilege('rustok_app', fn, 'EXECUTE')),
          '{}', 'the application role may not execute migration, partition and grant helpers');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                WHERE p.pronamespace = 'rustok'::regnamespace
                  AND (p.prorettype = 'trigger'::regtype OR p.proname LIKE '\_after\_tenant\_import\_\_%')
                  AND has_function_privilege('rustok_app', p.oid, 'EXECUTE') ORDER BY 1),
          '{}', 'nor trigger functions (they fire without EXECUTE) nor tenant import hooks');
SELECT ok(has_function_privilege('rustok_app', 'rustok.create_tenant(text,text,text,text)', 'EXECUTE')
          AND has_function_privilege('rustok_app', 'rustok.enforce_analytics_limits()', 'EXECUTE')
          AND has_function_privilege('rustok_app', 'rustok._index_lock_key(uuid,text,uuid)', 'EXECUTE'),
          'it may execute the API and the helpers the API calls with its rights');

-- pg_catalog: no advisory locks, transaction ids, large objects, WAL messages or pg_notify for clients
CREATE TEMP VIEW guarded AS SELECT fn::text AS fn, for_api FROM rustok._guarded_catalog_functions();
SELECT cmp_ok((SELECT count(*) FROM guarded WHERE fn LIKE 'pg_%advisory%'), '>=', 16::bigint,
              'every advisory lock function is guarded');
SELECT is(ARRAY(SELECT fn FROM guarded
                WHERE has_function_privilege('rustok_analytics', fn::regprocedure, 'EXECUTE')
                   OR has_function_privilege('test_other_client', fn::regprocedure, 'EXECUTE') ORDER BY 1),
          '{}', 'no guarded pg_catalog function is executable by the analysts or another client role');
SELECT is(ARRAY(SELECT fn FROM guarded
                WHERE for_api AND NOT (has_function_privilege('rustok_app', fn::regprocedure, 'EXECUTE')
                                       AND has_function_privilege('rustok_owner', fn::regprocedure, 'EXECUTE'))
                ORDER BY 1),
          '{}', 'the application role and the owner keep the ones the API uses');
SELECT is(ARRAY(SELECT fn FROM guarded
                WHERE NOT for_api AND has_function_privilege('rustok_app', fn::regprocedure, 'EXECUTE') ORDER BY 1),
          '{}', 'large objects and WAL messages are closed to the application role too');

SELECT * FROM finish();
ROLLBACK;
