-- depends: core_0005_analytics_limits
-- One e-mail rule for functions and tables: rustok.is_email (sql/functions/core/05_input.sql, applied before
-- the migrations). Until now the CHECK took 'a@b' while every function asked for a dot in the domain, so an
-- address written from psql could be one no function would have taken.
alter table users drop constraint users_email_check;
alter table users add constraint users_email_check check (rustok.is_email(email));
