-- Shared pgTAP helper (loaded into the test template by tests/conftest.py): test_support.settle_index() fires
-- the index module's deferred flush now (what COMMIT does), so one test transaction can look at the result.

create schema if not exists test_support;

create function test_support.settle_index() returns void language plpgsql as $$
BEGIN
    SET CONSTRAINTS _700_index_flush IMMEDIATE;
    SET CONSTRAINTS _700_index_flush DEFERRED;
END
$$;
