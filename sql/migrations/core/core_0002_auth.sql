-- depends: core_0001_platform
-- Auth: signing a user out everywhere (and deleting a user) finds their refresh tokens by user.
create index auth_refresh_tokens_user on auth_refresh_tokens (tenant_id, user_id);
