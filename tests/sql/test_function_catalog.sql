-- Rules every function follows, read from the catalog (pg_proc), so the next module's functions are covered
-- without touching this file: a docstring first; one details shape for VALIDATION_FAILED (raised through
-- rustok._input_invalid only); the id and e-mail grammars written once; every connection's pageInfo from
-- rustok._page_info (one hasPreviousPage rule). Each detector is tried on known bad sources first, so a
-- detector that matches nothing cannot pass for a rule that holds. (Which module's public functions check
-- the module switch needs the files they come from: tests/py/test_module_rules.py.)
BEGIN;
SELECT plan(12);

CREATE FUNCTION pg_temp.has_docstring(src text) RETURNS boolean LANGUAGE sql AS $$
    /* Whether the source begins (after white space) with a block comment. */
    SELECT src ~ '^\s*/\*'
$$;
CREATE FUNCTION pg_temp.raises_validation_itself(src text) RETURNS boolean LANGUAGE sql AS $$
    /* Whether code raises VALIDATION_FAILED by hand, with details of its own making. */
    SELECT test_support.code(src) ~* 'rustok\.raise\s*\(\s*''VALIDATION_FAILED'''
$$;
CREATE FUNCTION pg_temp.spells_grammar(src text) RETURNS boolean LANGUAGE sql AS $$
    /* Whether code spells the ULID alphabet's pattern or an e-mail pattern. */
    SELECT test_support.code(src) ~* '(0-9a-hjkmnp-tv-z|@\[\^@)'
$$;
CREATE FUNCTION pg_temp.pages_by_hand(src text) RETURNS boolean LANGUAGE sql AS $$
    /* Whether code writes a pageInfo key itself instead of calling rustok._page_info. */
    SELECT test_support.code(src) ~ '''has(Next|Previous)Page'''
        OR (test_support.code(src) ~ '''pageInfo''' AND test_support.code(src) !~ 'rustok\._(page_info|connection|page_connection)\(')
$$;
CREATE TEMP VIEW rustok_functions AS
SELECT p.oid::regprocedure::text AS signature, p.proname, p.prosrc
FROM pg_proc p WHERE p.pronamespace = 'rustok'::regnamespace;

-- the detectors catch what they are for, and let the rest through
SELECT is(array(SELECT s FROM unnest(ARRAY[
              E'\n    select 1', E'\ndeclare x int; begin /* late */ return 1; end', E'-- a line comment\nselect 1']) s
                WHERE pg_temp.has_docstring(s)), '{}', 'the docstring detector flags a function without one');
SELECT is(array(SELECT s FROM unnest(ARRAY[
              'perform rustok.raise(''VALIDATION_FAILED'', ''too long'', jsonb_build_object(''field'', ''x''))',
              'perform rustok.raise( ''VALIDATION_FAILED'' )']) s
                WHERE NOT pg_temp.raises_validation_itself(s)), '{}', 'the hand-made refusal detector flags them');
SELECT is(array(SELECT s FROM unnest(ARRAY[
              '/* raise(''VALIDATION_FAILED'') is made by _input_invalid */ perform rustok._input_invalid(f, r, m)',
              'exception when sqlstate ''RK002'' then null;']) s
                WHERE pg_temp.raises_validation_itself(s)), '{}', 'and lets the one helper''s callers through');
SELECT is(array(SELECT s FROM unnest(ARRAY[
              'if v !~* ''^[0-7][0-9a-hjkmnp-tv-z]{25}$'' then', 'if v !~ ''^[^@\s]+@[^@\s]+$'' then']) s
                WHERE NOT pg_temp.spells_grammar(s)), '{}', 'the grammar detector flags a ULID or e-mail pattern');
SELECT is(array(SELECT s FROM unnest(ARRAY[
              'jsonb_build_object(''pageInfo'', jsonb_build_object(''hasNextPage'', n > page))',
              '''hasPreviousPage'', k is not null', '''pageInfo'', jsonb_build_object(''endCursor'', c)']) s
                WHERE NOT pg_temp.pages_by_hand(s)), '{}', 'the pageInfo detector flags one written by hand');
SELECT is(array(SELECT s FROM unnest(ARRAY[
              '''pageInfo'', rustok._page_info(n > page, after, a, b)',
              'return rustok._page_connection(nodes, page, after);']) s
                WHERE pg_temp.pages_by_hand(s)), '{}', 'and lets rustok._page_info''s callers through');

-- the rules, over every function in schema rustok
SELECT is(array(SELECT signature FROM rustok_functions WHERE NOT pg_temp.has_docstring(prosrc) ORDER BY 1), '{}',
          'every function begins with a /* docstring */');
SELECT is(array(SELECT signature FROM rustok_functions
                WHERE proname <> '_input_invalid' AND pg_temp.raises_validation_itself(prosrc) ORDER BY 1), '{}',
          'VALIDATION_FAILED is raised through rustok._input_invalid only (one details shape: field, reason, …)');
SELECT is(array(SELECT signature FROM rustok_functions
                WHERE proname NOT IN ('_id_of_text', 'is_email') AND pg_temp.spells_grammar(prosrc) ORDER BY 1), '{}',
          'the id grammar is written once (rustok._id_of_text), the e-mail rule once (rustok.is_email)');
SELECT is(array(SELECT signature FROM rustok_functions
                WHERE proname <> '_page_info' AND pg_temp.pages_by_hand(prosrc) ORDER BY 1), '{}',
          'every connection''s pageInfo comes from rustok._page_info');
SELECT is(array(SELECT proname::text FROM rustok_functions WHERE test_support.code(prosrc) ~ '''hasPreviousPage''' ORDER BY 1),
          '{_page_info}', 'hasPreviousPage is decided in one place');
SELECT cmp_ok((SELECT count(*) FROM rustok_functions
               WHERE test_support.code(prosrc) ~ 'rustok\._(page_info|connection|page_connection)\('), '>=', 10::bigint,
              'the rule is found where it is used (the lists of users, nodes, revisions, comments, products, orders, '
              'deliveries, search)');

SELECT * FROM finish();
ROLLBACK;
