-- depends: core_0007_email_rule
-- Limits on the client roles' sessions, beside the analysts' statement and idle timeouts (core_0005):
-- analytics.connection_limit caps how many connections rustok_analytics may hold at once (its CONNECTION LIMIT),
-- so analysts cannot take the slots the API needs; app.idle_in_transaction_timeout ends a session of rustok_app
-- (the API's role, which psql users may hold too) that sits idle inside a transaction, with whatever locks it
-- holds. `rustok migrate` makes them role settings (sql/functions/core/90_security.sql) and the watchdog holds
-- them for sessions that SET them away (sql/functions/core/91_analytics.sql, 92_app_sessions.sql). Delete a row
-- to lift that limit.
insert into platform_settings (key, value) values
    ('analytics.connection_limit', '10'),
    ('app.idle_in_transaction_timeout', '"1 minute"');
