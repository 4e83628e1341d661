-- depends: core_0003_webhooks
-- Limits of the analysts' role rustok_analytics (sql/functions/core/91_analytics.sql): `rustok migrate` makes
-- them the role's settings in this database, and the watchdog (rustok.enforce_analytics_limits) holds them for
-- sessions that SET them away. Delete a row to lift that limit.
insert into platform_settings (key, value) values
    ('analytics.statement_timeout', '"5 minutes"'),
    ('analytics.idle_in_transaction_timeout', '"1 minute"'),
    ('analytics.temp_file_limit', '"10GB"');
