-- NULL-safe access checks, read from the catalog (docs/security.md, point 2): rustok.is_current_user is the
-- one comparison with the signed-in user and is false, never null, when either side is null; no other
-- function compares with rustok.current_user_id() (or copies it into a variable to compare later) or tests
-- ownership with IS NOT DISTINCT FROM (null = null would be "theirs"); and every access predicate answers
-- false, never null, when what it is asked about is all nulls. The checks query pg_proc, so the next module's
-- functions are covered without touching this file; the detector is tried on known bad sources first.
BEGIN;
SELECT plan(16);

CREATE FUNCTION pg_temp.compares_current_user(src text) RETURNS boolean LANGUAGE sql AS $$
    /* Whether code compares with rustok.current_user_id() (=, <>, !=, IS [NOT] DISTINCT FROM, IN), on either
       side, or assigns it (:=) to a variable that is compared later. */
    SELECT test_support.code(src) ~* '(=|<>|!=|\mdistinct\s+from|\min)\s*\(?\s*(select\s+)?rustok\.current_user_id\s*\(\s*\)'
        OR test_support.code(src) ~* 'rustok\.current_user_id\s*\(\s*\)\s*\)?\s*(=|<>|!=|\mis\s+(not\s+)?distinct\M)'
$$;
CREATE FUNCTION pg_temp.owner_not_distinct(src text) RETURNS boolean LANGUAGE sql AS $$
    /* Whether code tests an owner column with IS NOT DISTINCT FROM, on either side. */
    SELECT test_support.code(src) ~* '\m(author_id|customer_id|user_id|owner_id|created_by)\s+is\s+not\s+distinct\s+from'
        OR test_support.code(src) ~* 'is\s+not\s+distinct\s+from\s+[a-z_.]*\m(author_id|customer_id|user_id|owner_id|created_by)\M'
$$;
CREATE FUNCTION pg_temp.is_me(id uuid) RETURNS boolean LANGUAGE plpgsql AS $$
/* rustok.is_current_user(id), called by name: this file still runs (and fails) where the helper is missing. */
DECLARE
    answer boolean;
BEGIN
    EXECUTE 'SELECT rustok.is_current_user($1)' INTO answer USING id;
    RETURN answer;
EXCEPTION WHEN undefined_function THEN
    RETURN NULL;
END
$$;
CREATE TEMP VIEW rustok_functions AS
SELECT p.oid, p.oid::regprocedure::text AS signature, p.proname, p.prosrc
FROM pg_proc p WHERE p.pronamespace = 'rustok'::regnamespace;

-- the helper itself
SELECT is((SELECT proisstrict FROM pg_proc WHERE oid = to_regprocedure('rustok.is_current_user(uuid)')), false,
          'rustok.is_current_user is not STRICT (a STRICT function answers null for a null argument)');
SELECT is((SELECT provolatile FROM pg_proc WHERE oid = to_regprocedure('rustok.is_current_user(uuid)')), 's',
          'rustok.is_current_user is STABLE (inlined; the planner keeps index conditions)');
SELECT test_support.set_settings(rustok.gen_id());  -- by hand: set_context wants a tenant that exists
SELECT is(pg_temp.is_me(NULL), false, 'anonymous, null id: false');
SELECT is(pg_temp.is_me(rustok.gen_id()), false, 'anonymous, an id: false');
SELECT test_support.set_settings(rustok.gen_id(), '00000000-0000-0000-0000-000000000001', 'customer');
SELECT is(pg_temp.is_me(NULL), false, 'signed in, null id (a guest cart, a deleted author): false');
SELECT is(pg_temp.is_me(rustok.gen_id()), false, 'signed in, someone else''s id: false');
SELECT is(pg_temp.is_me('00000000-0000-0000-0000-000000000001'), true, 'signed in, their own id: true');
SELECT rustok.set_context(NULL, NULL, NULL);
SELECT is(pg_temp.is_me(NULL), false, 'no tenant, nobody: false');

-- the detectors catch what they are for, and leave values and null tests alone
SELECT is(array(SELECT s FROM unnest(ARRAY[
              'select x from t where t.author_id = rustok.current_user_id()',
              'if o.customer_id <> rustok.current_user_id() then',
              'if rustok.current_user_id() = n.author_id then',
              'if n.author_id is distinct from rustok.current_user_id() then',
              'own := rustok.current_user_id() is not distinct from target;',
              'where u.id = (select rustok.current_user_id())',
              'where u.id in (rustok.current_user_id())',
              'declare me uuid := rustok.current_user_id(); begin']) s
          WHERE NOT pg_temp.compares_current_user(s)), '{}',
          'the detector flags every way of comparing with current_user_id()');
SELECT is(array(SELECT s FROM unnest(ARRAY[
              'values (tenant, rustok.current_user_id(), now())',
              'if rustok.current_user_id() is null then',
              'target uuid := coalesce(user_id, rustok.current_user_id());',
              '/* never x = rustok.current_user_id() */ select rustok.is_current_user(x)',
              'perform rustok.set_context(t, rustok.current_user_id(), r)']) s
          WHERE pg_temp.compares_current_user(s)), '{}',
          'and lets values, null tests and comments through');
SELECT is(array(SELECT s FROM unnest(ARRAY['if post.author_id is not distinct from me then',
                                          'own := target is not distinct from c.customer_id']) s
                WHERE NOT pg_temp.owner_not_distinct(s)), '{}',
          'the second detector flags ownership by IS NOT DISTINCT FROM');

-- the rules, over every function in schema rustok
SELECT is(array(SELECT signature FROM rustok_functions
                WHERE proname <> 'is_current_user' AND pg_temp.compares_current_user(prosrc) ORDER BY 1), '{}',
          'no function but rustok.is_current_user compares with rustok.current_user_id()');
SELECT is(array(SELECT signature FROM rustok_functions WHERE pg_temp.owner_not_distinct(prosrc) ORDER BY 1), '{}',
          'no function tests ownership with IS NOT DISTINCT FROM');

-- every access predicate answers false for all-null input, anonymous and signed in
CREATE TEMP VIEW access_predicates AS
SELECT p.oid, p.oid::regproc::text AS name, p.oid::regprocedure::text AS signature,
       (SELECT string_agg(format('NULL::%s', t::regtype), ', ' ORDER BY i)
        FROM unnest(p.proargtypes) WITH ORDINALITY AS a (t, i)) AS null_args
FROM pg_proc p
WHERE p.pronamespace = 'rustok'::regnamespace AND p.prorettype = 'boolean'::regtype AND p.provolatile <> 'v'
  AND p.proname ~ '^(is_|has_)|visible|shown|readable|is_live|sees_';
CREATE FUNCTION pg_temp.not_false_on_nulls() RETURNS text[] LANGUAGE plpgsql AS $$
/* The access predicates that answer anything but false when every argument is null. */
DECLARE
    p record;
    answer boolean;
    wrong text[] := '{}';
BEGIN
    FOR p IN SELECT * FROM access_predicates ORDER BY signature LOOP
        EXECUTE format('SELECT %s(%s)', p.name, coalesce(p.null_args, '')) INTO answer;
        IF answer IS DISTINCT FROM false THEN
            wrong := wrong || format('%s = %s', p.signature, coalesce(answer::text, 'null'));
        END IF;
    END LOOP;
    RETURN wrong;
END
$$;
SELECT cmp_ok((SELECT count(*) FROM access_predicates WHERE signature IN (
                  'rustok._commerce_cart_visible(commerce_carts)', 'rustok._commerce_order_visible(commerce_orders)',
                  'rustok._node_visible(nodes)', 'rustok._comment_shown(text,uuid,boolean)',
                  'rustok.is_current_user(uuid)', 'rustok.has_permission(text)')), '=', 6::bigint,
              'the predicates are found by name: carts, orders, nodes, comments, users, permissions');
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;
SELECT test_support.set_settings(rustok.gen_id());
SELECT is(pg_temp.not_false_on_nulls(), '{}', 'anonymous: every access predicate answers false for nulls');
SELECT test_support.set_settings(rustok.gen_id(), rustok.gen_id(), 'customer');
SELECT is(pg_temp.not_false_on_nulls(), '{}', 'a signed-in customer: every access predicate answers false for nulls');

SELECT * FROM finish();
ROLLBACK;
