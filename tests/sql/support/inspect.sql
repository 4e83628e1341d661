-- Shared pgTAP helpers (loaded into the test template by tests/conftest.py): test_support.code(src) is a
-- function's source without its comments, for catalog tests that look for what code does (a docstring may
-- name what the code must not do); test_support.refusal(call) is what a call raises, {code, details}.

create schema if not exists test_support;

create function test_support.code(src text) returns text language sql immutable as $$
    /* A function's source without its comments. */
    select regexp_replace(regexp_replace(src, '/\*.*?\*/', ' ', 'g'), '--[^\n]*', ' ', 'g')
$$;

create function test_support.refusal(call text) returns jsonb language plpgsql as $$
/* What a call raises: {code (the HINT, where a registered error carries its code), details (the DETAIL as
   JSON)}; {code: none} when it succeeds. Rolled back either way (the exception block's subtransaction), so
   each check starts from the same state. */
declare
    hint text;
    detail text;
begin
    execute call;
    raise exception 'succeeded' using hint = 'none';
exception when others then
    get stacked diagnostics hint = pg_exception_hint, detail = pg_exception_detail;
    return jsonb_build_object('code', hint) || coalesce(jsonb_build_object('details', nullif(detail, '')::jsonb), '{}');
end
$$;
