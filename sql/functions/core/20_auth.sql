-- Auth state and its rules: registration, login throttling, rotating refresh tokens with reuse detection,
-- logout. Passwords are hashed and verified by the API (argon2id in Python); these functions decide who may
-- sign in, how long an account waits after failures and which refresh token is current. Refresh tokens
-- arrive as sha256 digests only. Where a refusal must still change state (a reused token revokes its family)
-- the function returns a status instead of raising, so the change commits; the caller raises after.
-- Events: UserRegistered, UserLoggedIn, UserLoggedOut, UserSessionsRevoked. Throttle counters and token
-- rotation are bookkeeping, not domain events (anonymous callers could otherwise flood the outbox).

create or replace function rustok._auth_tenant() returns uuid
language plpgsql stable as $$
/* The current tenant, for an auth operation. Raises TENANT_REQUIRED without one, NOT_FOUND for an unknown
   tenant, TENANT_INACTIVE for one that is switched off. */
declare
    tenant uuid := rustok.require_tenant();
    active boolean;
begin
    select t.is_active into active from public.tenants t where t.id = tenant;
    if active is null then
        perform rustok.raise('NOT_FOUND', 'no such tenant', jsonb_build_object('field', 'tenant'));
    elsif not active then
        perform rustok.raise('TENANT_INACTIVE', 'the tenant is switched off');
    end if;
    return tenant;
end
$$;

create or replace function rustok._login_delay(failures int) returns interval
language sql immutable parallel safe as $$
    /* How long an account waits after `failures` attempts in a row: five free, then 1 s doubling to 5 min. */
    select case when coalesce(failures, 0) <= 5 then interval '0'
                else least(interval '1 second' * power(2, least(failures - 6, 16)), interval '5 minutes') end
$$;

create or replace function rustok._issue_refresh_token(user_id uuid, family_id uuid, token_hash bytea, ttl interval)
returns void
language plpgsql volatile as $$
/* Stores one refresh token (the sha256 digest of it) in a family of the current tenant. Raises
   VALIDATION_FAILED for a digest that is not 32 bytes or a lifetime that is not positive. */
begin
    if token_hash is null or length(token_hash) <> 32 then
        perform rustok._input_invalid('refreshToken', 'format', 'a refresh token digest is 32 bytes');
    end if;
    if ttl is null or ttl <= interval '0' then
        perform rustok._input_invalid('ttl', 'out_of_range', 'the refresh token lifetime must be positive');
    end if;
    insert into public.auth_refresh_tokens (tenant_id, user_id, family_id, token_hash, expires_at)
    values (rustok.require_tenant(), user_id, family_id, token_hash, now() + ttl);
end
$$;

create or replace function rustok._revoke_refresh_tokens(family_id uuid default null, user_id uuid default null)
returns int
language plpgsql volatile as $$
/* Revokes the live tokens of one family, or of every family of one user, in the current tenant; returns how
   many it revoked. */
declare
    revoked int;
begin
    update public.auth_refresh_tokens r set revoked_at = now()
    where r.tenant_id = rustok.current_tenant_id() and r.revoked_at is null
      and (r.family_id = _revoke_refresh_tokens.family_id or r.user_id = _revoke_refresh_tokens.user_id);
    get diagnostics revoked = row_count;
    return revoked;
end
$$;

create or replace function rustok.register_user(email text, password_hash text, refresh_token_hash bytea,
                                                refresh_ttl interval, display_name text default null) returns jsonb
language plpgsql volatile as $$
/* Self-registration: a customer in the current tenant with the name others see (optional), signed in at once
   (a new refresh-token family). Emits UserRegistered. Returns {"user": UserResponse}. Raises TENANT_REQUIRED,
   NOT_FOUND, TENANT_INACTIVE, VALIDATION_FAILED (email, password, displayName, refreshToken), CONFLICT (email
   taken). */
declare
    user_id uuid;
    new_name text;
    account public.users;
begin
    perform rustok._auth_tenant();
    new_name := rustok._display_name(register_user.display_name);
    user_id := rustok._insert_user(email, password_hash, 'customer');
    perform rustok._issue_refresh_token(user_id, rustok.gen_id(), refresh_token_hash, refresh_ttl);
    update public.users u set display_name = new_name
    where u.tenant_id = rustok.current_tenant_id() and u.id = user_id
    returning * into account;
    return jsonb_build_object('user', rustok._user_json(account));
end
$$;

create or replace function rustok.begin_login(email text, client text default null) returns jsonb
language plpgsql volatile as $$
/* Step one of a login, before the password is checked. First spends one login from the budgets of the
   tenant and of the client address (rustok.spend_auth_budget: RATE_LIMITED, reason client or tenant, and
   nothing charged to the account). Then charges one attempt to (tenant, email) — known account or not, so
   answers never tell which emails exist — under the row lock, so parallel guesses are counted too;
   complete_login forgives them. Returns {"status": "ok", "passwordHash": …} (null for an unknown or
   disabled account: verify against a dummy) or, while the pair waits after repeated failures,
   {"status": "throttled", "retryAfter": seconds} without charging. Failures are forgotten after an hour
   without attempts. Raises TENANT_REQUIRED, NOT_FOUND, TENANT_INACTIVE, VALIDATION_FAILED (email, client),
   RATE_LIMITED. */
declare
    tenant uuid := rustok._auth_tenant();
    -- any text: a login must not tell which addresses could exist (the e-mail rule is for new accounts)
    normalized text := lower(rustok._input_text(to_jsonb(email), 'email', 255, required => true));
    attempt public.auth_login_attempts;
    in_a_row int;
    stored text;
begin
    perform rustok.spend_auth_budget('login', client);
    insert into public.auth_login_attempts (tenant_id, email) values (tenant, normalized)
    on conflict on constraint auth_login_attempts_pkey do nothing;
    select * into attempt from public.auth_login_attempts a
    where a.tenant_id = tenant and a.email = normalized
    for update;
    if attempt.blocked_until > now() then
        return jsonb_build_object(
            'status', 'throttled',
            'retryAfter', greatest(1, ceil(extract(epoch from attempt.blocked_until - now())))::int);
    end if;
    in_a_row := case when attempt.last_failed_at < now() - interval '1 hour' then 1 else attempt.failures + 1 end;
    update public.auth_login_attempts a
    set failures = in_a_row, last_failed_at = now(),
        blocked_until = case when rustok._login_delay(in_a_row) > interval '0'
                             then now() + rustok._login_delay(in_a_row) end
    where a.tenant_id = tenant and a.email = normalized;

    select u.password_hash into stored from public.users u
    where u.tenant_id = tenant and u.email = normalized and u.status = 'active';
    return jsonb_build_object('status', 'ok', 'passwordHash', stored);
end
$$;

create or replace function rustok.complete_login(email text, verified_hash text, refresh_token_hash bytea,
                                                 refresh_ttl interval, new_password_hash text default null)
returns jsonb
language plpgsql volatile as $$
/* Step two of a login, once the caller has verified the password against `verified_hash` (from begin_login):
   forgives the attempts charged to the account, stores `new_password_hash` when given (rehash on login),
   starts a refresh-token family and emits UserLoggedIn. Returns {"user": UserResponse}. Raises
   INVALID_CREDENTIALS when the account is gone, disabled, or its password changed since begin_login;
   TENANT_REQUIRED, NOT_FOUND, TENANT_INACTIVE, VALIDATION_FAILED. Only the API's role can write the tables. */
declare
    tenant uuid := rustok._auth_tenant();
    normalized text := lower(btrim(coalesce(email, '')));
    account public.users;
begin
    select * into account from public.users u
    where u.tenant_id = tenant and u.email = normalized and u.status = 'active'
      and u.password_hash = complete_login.verified_hash
    for update;
    if not found then
        perform rustok.raise('INVALID_CREDENTIALS', 'email or password is wrong');
    end if;
    delete from public.auth_login_attempts a where a.tenant_id = tenant and a.email = normalized;
    if coalesce(new_password_hash, '') <> '' then
        update public.users u set password_hash = new_password_hash
        where u.tenant_id = tenant and u.id = account.id
        returning * into account;
    end if;
    perform rustok._issue_refresh_token(account.id, rustok.gen_id(), refresh_token_hash, refresh_ttl);
    perform rustok.publish_event('UserLoggedIn', jsonb_build_object('user_id', rustok.ulid(account.id)));
    return jsonb_build_object('user', rustok._user_json(account));
end
$$;

create or replace function rustok._refresh_grace() returns interval
language sql immutable parallel safe as $$
    /* How long a just-rotated refresh token may be presented again without counting as reuse: two requests
       (two tabs) that carried the same expired session at the same moment both get a new token. */
    select interval '30 seconds'
$$;

create or replace function rustok.rotate_refresh_token(token_hash bytea, new_token_hash bytea, refresh_ttl interval)
returns jsonb
language plpgsql volatile as $$
/* Exchanges a refresh token for a new one of the same family: the old one is marked used. A token used less
   than rustok._refresh_grace() ago (and not revoked) is exchanged again, for another new token of the family:
   concurrent refreshes of one session are not an attack. Returns
   {"status": "ok", "user": UserResponse} or a refusal that commits: "invalid" (unknown in this tenant),
   "expired", "reused" (revoked, or used longer ago than the grace: the whole family is revoked,
   UserSessionsRevoked emitted when that changed anything) or "disabled" (the user is switched off: the
   family is revoked too).
   Raises TENANT_REQUIRED, TENANT_INACTIVE, VALIDATION_FAILED (new digest). */
declare
    tenant uuid := rustok.require_tenant();
    presented public.auth_refresh_tokens;
    account public.users;
    refusal text;
begin
    select * into presented from public.auth_refresh_tokens r
    where r.tenant_id = tenant and r.token_hash = rotate_refresh_token.token_hash
    for update;
    if not found then
        return jsonb_build_object('status', 'invalid');
    end if;
    perform rustok._auth_tenant();
    select * into account from public.users u where u.tenant_id = tenant and u.id = presented.user_id;
    refusal := case when presented.revoked_at is not null then 'reused'
                    when presented.used_at < now() - rustok._refresh_grace() then 'reused'
                    when account.status is distinct from 'active' then 'disabled'
                    when presented.expires_at <= now() then 'expired' end;
    if refusal in ('reused', 'disabled') then
        if rustok._revoke_refresh_tokens(family_id => presented.family_id) > 0 then
            perform rustok.publish_event('UserSessionsRevoked', jsonb_build_object(
                'user_id', rustok.ulid(presented.user_id), 'reason', refusal));
        end if;
    end if;
    if refusal is not null then
        return jsonb_build_object('status', refusal);
    end if;
    update public.auth_refresh_tokens r set used_at = coalesce(r.used_at, now())  -- the grace does not slide
    where r.tenant_id = tenant and r.id = presented.id;
    perform rustok._issue_refresh_token(account.id, presented.family_id, new_token_hash, refresh_ttl);
    return jsonb_build_object('status', 'ok', 'user', rustok._user_json(account));
end
$$;

create or replace function rustok.revoke_refresh_token(token_hash bytea) returns boolean
language plpgsql volatile as $$
/* Logout with a refresh token: revokes its whole family (the session that grew from one login) and emits
   UserLoggedOut when that changed anything. Holding the token is the authority; no sign-in needed. Returns
   false when the token is unknown in this tenant. Raises TENANT_REQUIRED. */
declare
    tenant uuid := rustok.require_tenant();
    presented public.auth_refresh_tokens;
begin
    select * into presented from public.auth_refresh_tokens r
    where r.tenant_id = tenant and r.token_hash = revoke_refresh_token.token_hash;
    if not found then
        return false;
    end if;
    if rustok._revoke_refresh_tokens(family_id => presented.family_id) > 0 then
        perform rustok.publish_event('UserLoggedOut', jsonb_build_object(
            'user_id', rustok.ulid(presented.user_id), 'everywhere', false));
    end if;
    return true;
end
$$;

create or replace function rustok.revoke_user_sessions(user_id uuid default null) returns int
language plpgsql volatile as $$
/* Signs a user out everywhere: revokes every refresh token of theirs (access tokens lapse within their short
   lifetime). Without user_id: the signed-in user, emitting UserLoggedOut. Another user needs users.manage and
   emits UserSessionsRevoked (reason "admin"). Returns how many tokens were revoked. Raises TENANT_REQUIRED,
   UNAUTHENTICATED, FORBIDDEN, NOT_FOUND. */
declare
    tenant uuid := rustok.require_tenant();
    target uuid := coalesce(revoke_user_sessions.user_id, rustok.current_user_id());
    own boolean := rustok.is_current_user(target);
    revoked int;
begin
    if target is null then
        perform rustok.raise('UNAUTHENTICATED', 'sign in first');
    end if;
    if not own then
        perform rustok.require_permission('users.manage');
    end if;
    if not exists (select 1 from public.users u where u.tenant_id = tenant and u.id = target) then
        perform rustok.raise('NOT_FOUND', 'no such user', jsonb_build_object('userId', rustok.ulid(target)));
    end if;
    revoked := rustok._revoke_refresh_tokens(user_id => target);
    if revoked > 0 and own then
        perform rustok.publish_event('UserLoggedOut',
                                     jsonb_build_object('user_id', rustok.ulid(target), 'everywhere', true));
    elsif revoked > 0 then
        perform rustok.publish_event('UserSessionsRevoked',
                                     jsonb_build_object('user_id', rustok.ulid(target), 'reason', 'admin'));
    end if;
    return revoked;
end
$$;

create or replace function rustok.purge_auth_state() returns int
language plpgsql volatile as $$
/* Housekeeping (schedule it with `rustok maintain`): deletes expired refresh tokens and login counters idle
   for a day, in the tenants the caller sees (an operator: all), and sign-in budgets not spent for a day
   (rustok._purge_auth_budgets, every tenant's). Returns how many rows it deleted. */
declare
    tokens int;
    attempts int;
begin
    delete from public.auth_refresh_tokens r where r.expires_at < now();
    get diagnostics tokens = row_count;
    delete from public.auth_login_attempts a
    where a.last_failed_at < now() - interval '1 day' and (a.blocked_until is null or a.blocked_until < now());
    get diagnostics attempts = row_count;
    return tokens + attempts + rustok._purge_auth_budgets();
end
$$;
