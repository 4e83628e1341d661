-- Ids: ULIDs stored as uuid, time-ordered, parsed from ULID or UUID text, anything else INVALID_ID.
BEGIN;
SELECT plan(11);

SELECT ok(rustok.gen_id() IS NOT NULL, 'gen_id makes an id');
SELECT is(length(rustok.ulid(rustok.gen_id())), 26, 'the text form has 26 characters');
SELECT is(rustok.ulid('00000000-0000-0000-0000-000000000000'), '00000000000000000000000000', 'zero id');
SELECT is(rustok.ulid('ffffffff-ffff-ffff-ffff-ffffffffffff'), '7ZZZZZZZZZZZZZZZZZZZZZZZZZ', 'largest id');
SELECT is(rustok.parse_id('01ARZ3NDEKTSV4RRFFQ69G5FAV'), '01563e3a-b5d3-d676-4c61-efb99302bd5b'::uuid,
          'parses a ULID (the same uuid python-ulid gives)');
SELECT is(rustok.parse_id('01arz3ndektsv4rrffq69g5fav'), rustok.parse_id('01ARZ3NDEKTSV4RRFFQ69G5FAV'),
          'ULIDs parse in any case');
SELECT is(rustok.parse_id('01563df3-6e4e-f7a1-ace7-b5e5b75cd1e0'), '01563df3-6e4e-f7a1-ace7-b5e5b75cd1e0'::uuid,
          'parses a UUID');
SELECT throws_ok($$ SELECT rustok.parse_id('not-an-id') $$, 'RK001', NULL, 'garbage is INVALID_ID');
SELECT throws_ok($$ SELECT rustok.parse_id('81ARZ3NDEKTSV4RRFFQ69G5FAV') $$, 'RK001', NULL,
                 'a ULID beyond 128 bits is INVALID_ID');

-- time order: ids made 2 ms apart sort in the order they were made
CREATE TEMP TABLE made (n int, id uuid);
DO $$
BEGIN
    FOR i IN 1..5 LOOP
        INSERT INTO made VALUES (i, rustok.gen_id());
        PERFORM pg_sleep(0.002);
    END LOOP;
END $$;
SELECT is((SELECT array_agg(n ORDER BY id) FROM made), ARRAY[1, 2, 3, 4, 5], 'ids sort by creation time');
SELECT is((SELECT count(DISTINCT rustok.ulid(id)) FROM made), 5::bigint, 'and are distinct');

SELECT * FROM finish();
ROLLBACK;
