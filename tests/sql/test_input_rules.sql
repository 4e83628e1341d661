-- The one input vocabulary (sql/functions/core/05_input.sql), seen through the modules' own functions: every
-- refusal is VALIDATION_FAILED (INVALID_ID for an id) with details {field, reason, ...the rule's keys} named
-- alike in content, blog, commerce, search and the core; fields are paths (variants[0].sku, filter.kind);
-- trimmed text that is empty is absent (null) in every module, a required one refused; ids go through one
-- grammar; an instant is ISO 8601 with an offset, class 22 caught with the field named; one e-mail rule in
-- functions and table CHECKs; every connection answers hasPreviousPage by one rule.
BEGIN;
SELECT plan(42);

DO $$ BEGIN PERFORM test_support.two_tenants(); END $$;
GRANT USAGE ON SCHEMA tap TO rustok_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pg_temp TO rustok_app;
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');

-- what each call raises: {code, details}, in content, blog, commerce, search and the core alike
SELECT is(test_support.refusal(call), jsonb_build_object('code', code, 'details', details::jsonb), description)
FROM (VALUES
    -- one details shape, one set of keys
    ($$ SELECT rustok.create_node(jsonb_build_object('kind', 'page', 'title', repeat('t', 256))) $$,
     'VALIDATION_FAILED', '{"field": "title", "reason": "too_long", "maxLength": 255}',
     'content: a title too long names the field, the reason and maxLength'),
    ($$ SELECT rustok.create_product(jsonb_build_object('title', repeat('t', 256))) $$,
     'VALIDATION_FAILED', '{"field": "title", "reason": "too_long", "maxLength": 255}',
     'commerce: the same refusal with the same keys (details.max before)'),
    ($$ SELECT rustok.create_node('{"kind": "page", "title": 7}') $$,
     'VALIDATION_FAILED', '{"field": "title", "reason": "type", "expected": "string"}', 'content: not a string'),
    ($$ SELECT rustok.create_product('{"title": 7}') $$,
     'VALIDATION_FAILED', '{"field": "title", "reason": "type", "expected": "string"}',
     'commerce: not a string, in the same words'),
    ($$ SELECT rustok.create_node('{"kind": "page", "title": "   "}') $$,
     'VALIDATION_FAILED', '{"field": "title", "reason": "required"}', 'content: a blank required field'),
    ($$ SELECT rustok.add_comment(rustok.gen_id(), NULL, '  ') $$,
     'VALIDATION_FAILED', '{"field": "body", "reason": "required"}', 'blog: a blank comment'),
    ($$ SELECT rustok.create_node('{"kind": "essay", "title": "T"}') $$,
     'VALIDATION_FAILED', '{"field": "kind", "reason": "not_allowed", "allowed": ["page", "post"]}',
     'content: a value not allowed lists the allowed ones'),
    ($$ SELECT rustok.create_product('{"title": "T", "status": "gone"}') $$,
     'VALIDATION_FAILED', '{"field": "status", "reason": "not_allowed", "allowed": ["draft", "published", "archived"]}',
     'commerce: the same'),
    ($$ SELECT rustok.moderate_comment(rustok.gen_id(), 'deleted') $$,
     'VALIDATION_FAILED', '{"field": "status", "reason": "not_allowed", "allowed": ["pending", "approved", "spam"]}',
     'blog: the same'),
    ($$ SELECT rustok.set_user_status(rustok.gen_id(), 'asleep') $$,
     'VALIDATION_FAILED', '{"field": "status", "reason": "not_allowed", "allowed": ["active", "disabled"]}',
     'core: the same'),
    ($$ SELECT rustok.create_node('{"kind": "page", "title": "T", "position": -1}') $$,
     'VALIDATION_FAILED', '{"field": "position", "reason": "out_of_range", "min": 0, "max": 2147483647}',
     'content: an integer out of range gives min and max'),
    ($$ SELECT rustok.create_node('{"kind": "page", "title": "T", "colour": "red"}') $$,
     'VALIDATION_FAILED', '{"field": "colour", "reason": "unknown"}', 'content: a key the request does not take'),
    ($$ SELECT rustok.create_product(jsonb_build_object('title', 'T', 'tags', to_jsonb(array(SELECT generate_series(1, 51)::text)))) $$,
     'VALIDATION_FAILED', '{"field": "tags", "reason": "too_many", "maxItems": 50}',
     'commerce: a list too long gives maxItems (details.max before)'),
    ($$ SELECT rustok.create_node('{"kind": "post", "title": "T", "tags": ["ok", "!!"]}') $$,
     'VALIDATION_FAILED', '{"field": "tags[1]", "reason": "format"}', 'content: a tag named by its place in the list'),
    ($$ SELECT rustok.create_product('{"title": "T", "variants": [{"sku": "A"}, {"sku": 5}]}') $$,
     'VALIDATION_FAILED', '{"field": "variants[1].sku", "reason": "type", "expected": "string"}',
     'commerce: nested paths'),
    ($$ SELECT rustok.list_nodes(20, NULL, '{"kind": "essay"}') $$,
     'VALIDATION_FAILED', '{"field": "filter.kind", "reason": "not_allowed", "allowed": ["page", "post", "comment"]}',
     'content: a filter''s field is named under filter, as commerce names it (kind before)'),
    ($$ SELECT rustok.list_products(20, NULL, '{"status": "gone"}') $$,
     'VALIDATION_FAILED', '{"field": "filter.status", "reason": "not_allowed", "allowed": ["draft", "published", "archived"]}',
     'commerce: filter.status'),
    ($$ SELECT rustok.search_products(NULL, '{"inStock": "yes"}') $$,
     'VALIDATION_FAILED', '{"field": "filter.inStock", "reason": "type", "expected": "boolean"}',
     'search: its filters by the same rules (a cast error that named no field before)'),
    ($$ SELECT rustok.search_products(NULL, '{"minPrice": "cheap"}') $$,
     'VALIDATION_FAILED', '{"field": "filter.minPrice", "reason": "type", "expected": "integer"}',
     'search: a price is an integer'),
    ($$ SELECT rustok.search_products(NULL, '{"currency": "xyz"}') $$,
     'CURRENCY_UNKNOWN', '{"field": "filter.currency", "currencyCode": "XYZ"}',
     'search: a currency by the commerce rule (VALIDATION_FAILED before)'),
    -- ids: one grammar, the field named
    ($$ SELECT rustok.list_nodes(20, NULL, '{"authorId": "nope"}') $$,
     'INVALID_ID', '{"field": "filter.authorId"}', 'content: a bad id names its field'),
    ($$ SELECT rustok.create_product('{"title": "T", "categoryIds": ["nope"]}') $$,
     'INVALID_ID', '{"field": "categoryIds[0]"}', 'commerce: by its place in the list'),
    ($$ SELECT rustok.create_product('{"title": "T", "categoryIds": [5]}') $$,
     'INVALID_ID', '{"field": "categoryIds[0]"}', 'a number is no id either'),
    ($$ SELECT rustok.list_users(20, 'nope') $$,
     'INVALID_ID', '{"field": "after"}', 'a list''s cursor: field after (details.value before)'),
    -- an instant: ISO 8601 with its offset; the calendar's errors (class 22) named too
    ($$ SELECT rustok.create_price_list('{"title": "Sale", "startsAt": "2030-13-01T00:00:00Z"}') $$,
     'VALIDATION_FAILED', '{"field": "startsAt", "reason": "format"}',
     'commerce: month 13 names startsAt (a bare data exception before)'),
    ($$ SELECT rustok.create_discount('{"code": "X", "kind": "percentage", "value": 5, "endsAt": "tomorrow"}') $$,
     'VALIDATION_FAILED', '{"field": "endsAt", "reason": "format"}', 'commerce: PostgreSQL''s own words are no instants'),
    ($$ SELECT rustok.create_node('{"kind": "post", "title": "T", "status": "published",
                                    "publishedAt": "2030-01-01T09:00:00+99:00"}') $$,
     'VALIDATION_FAILED', '{"field": "publishedAt", "reason": "format"}', 'content: an offset out of range')
) AS t (call, code, details, description);
SELECT is(test_support.refusal($$ SELECT rustok.start_checkout(rustok.parse_id(rustok.create_cart('{"currencyCode": "EUR"}') ->> 'id'), 5) $$),
          '{"code": "VALIDATION_FAILED", "details": {"field": "ttlSeconds", "reason": "out_of_range", "min": 60, "max": 86400}}',
          'commerce: a scalar argument by the same rule');

-- empty text is absent in every module
SELECT is(rustok.create_node('{"kind": "page", "title": "Empty", "excerpt": "", "metaTitle": "  ", "slug": ""}')
          - '{id,createdAt,updatedAt,publishedAt,authorId,authorName}'::text[]
          @> '{"excerpt": null, "metaTitle": null, "slug": "empty"}', true,
          'content: "" is null, and a slug sent empty is made from the title (kept as "" or refused before)');
SELECT is(rustok.create_product('{"title": "Empty", "subtitle": ""}') -> 'subtitle', 'null',
          'commerce: "" is null (as before)');
SELECT is(rustok.update_node(rustok.parse_id(rustok.create_node('{"kind": "page", "title": "Body", "body": "# Hi"}') ->> 'id'),
                             '{"body": ""}') ->> 'body', '',
          'verbatim text (a body) keeps "": an empty body');

-- choices in any case, answered as stored
SELECT is(rustok.create_node('{"kind": "PAGE", "title": "Upper", "status": "DRAFT"}') ->> 'kind', 'page',
          'content takes an enum value in upper case, as commerce did');

-- one e-mail rule: functions and table CHECKs agree
RESET ROLE;
SELECT is(test_support.refusal($$ SELECT rustok._insert_user('ada@localhost', 'hash', 'customer') $$) -> 'details',
          '{"field": "email", "reason": "format"}', 'a function refuses an address without a dot in its domain');
SELECT throws_ok($$ INSERT INTO users (tenant_id, email, password_hash)
                    VALUES (pg_temp.tenant('acme'), 'ada@localhost', 'h') $$,
                 '23514', NULL, 'and so does the users table''s CHECK (it took a@b)');
SELECT throws_ok($$ INSERT INTO commerce_carts (tenant_id, email, currency_code)
                    VALUES (pg_temp.tenant('acme'), 'ada@localhost', 'EUR') $$,
                 '23514', NULL, 'and the carts table''s');
SELECT ok(rustok.is_email('ada@example.test') AND NOT rustok.is_email('Ada@example.test')
          AND NOT rustok.is_email('ada@localhost') AND NOT rustok.is_email('a b@example.test')
          AND rustok.is_email(NULL) IS FALSE, 'rustok.is_email: lower case, a dot in the domain, no spaces; false for null');
SELECT is((SELECT array_agg(c.conrelid::regclass::text ORDER BY c.conrelid::regclass::text) FROM pg_constraint c
           WHERE c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%rustok.is_email(%'
             AND c.conrelid IN ('users'::regclass, 'commerce_carts'::regclass, 'commerce_orders'::regclass)),
          '{commerce_carts,commerce_orders,users}', 'the CHECKs of every e-mail column call rustok.is_email (orders had none)');
SELECT is((SELECT count(*) FROM pg_constraint c WHERE pg_get_constraintdef(c.oid) ~ '@\[\^@'), 0::bigint,
          'no CHECK spells an e-mail pattern of its own');

-- one hasPreviousPage rule for every connection: a page after a cursor has one before it
SET LOCAL ROLE rustok_app;
SELECT pg_temp.act('acme', 'admin');
SELECT is(rustok.list_users(1) #> '{pageInfo,hasPreviousPage}', 'false', 'users, first page: no previous page');
SELECT is(rustok.list_users(1, rustok.list_users(1) #>> '{pageInfo,endCursor}') #> '{pageInfo,hasPreviousPage}', 'true',
          'users, after a cursor: a previous page (false before, whatever the cursor)');
SELECT is(rustok.list_nodes(1, rustok.list_nodes(1) #>> '{pageInfo,endCursor}') #> '{pageInfo,hasPreviousPage}', 'true',
          'content nodes: the same rule');
SELECT is(rustok.list_products(1, rustok.list_products(1) #>> '{pageInfo,endCursor}') #> '{pageInfo,hasPreviousPage}',
          'true', 'commerce products: the same rule');

SELECT * FROM finish();
ROLLBACK;
