-- Errors: the project's own SQLSTATE class "RK". The registry below is the one list; docs/error_codes.md
-- and py/rustok/errors.py follow it, and tests fail when they disagree.

create or replace function rustok.error_codes()
returns table (code text, sqlstate text, http_status int, description text)
language sql immutable parallel safe as $$
    /* Every error code the platform raises, its SQLSTATE and the HTTP status the API answers with. */
    values
        ('INVALID_ID',                 'RK001', 400, 'An id is neither a ULID nor a UUID.'),
        ('VALIDATION_FAILED',          'RK002', 422, 'Input breaks a rule (format, range, required field).'),
        ('NOT_FOUND',                  'RK003', 404, 'No such thing in this tenant.'),
        ('CONFLICT',                   'RK004', 409, 'It already exists (a unique key such as a slug or email).'),
        ('FORBIDDEN',                  'RK005', 403, 'The current user may not do this.'),
        ('UNAUTHENTICATED',            'RK006', 401, 'A signed-in user is required.'),
        ('TENANT_REQUIRED',            'RK007', 400, 'No tenant is set for this transaction.'),
        ('TENANT_MISMATCH',            'RK008', 403, 'The token belongs to another tenant than the one named.'),
        ('TENANT_INACTIVE',            'RK009', 403, 'The tenant is switched off.'),
        ('MODULE_DISABLED',            'RK010', 403, 'The module is not enabled for this tenant.'),
        ('MODULE_UNKNOWN',             'RK011', 404, 'No installed module has this slug.'),
        ('MODULE_DEPENDENCY_DISABLED', 'RK012', 409, 'A module it depends on is not enabled.'),
        ('MODULE_REQUIRED',            'RK013', 409, 'An enabled module depends on it.'),
        ('INVALID_STATE',              'RK014', 409, 'The change is not allowed from the current state.'),
        ('RATE_LIMITED',               'RK015', 429, 'Too many attempts; wait and retry.'),
        ('INVALID_CREDENTIALS',        'RK016', 401, 'Email or password is wrong.'),
        ('INTERNAL',                   'RK500', 500, 'Unexpected failure; the response carries a request id.')
$$;

create or replace function rustok.error_sqlstate(code text) returns text
language sql immutable strict parallel safe as $$
    /* The SQLSTATE of a registered error code; null for an unknown code. */
    select e.sqlstate from rustok.error_codes() e where e.code = error_sqlstate.code
$$;

create or replace function rustok.raise(code text, message text default null, detail jsonb default '{}')
returns void
language plpgsql volatile as $$
/* Raises a registered error: SQLSTATE from the registry, the code in HINT, machine-readable DETAIL (json).
   An unregistered code raises INTERNAL, so a typo cannot pass silently. */
declare
    state text := rustok.error_sqlstate(code);
begin
    if state is null then
        raise exception 'unregistered error code %', code using errcode = 'RK500', hint = 'INTERNAL';
    end if;
    raise exception using
        errcode = state,
        message = coalesce(message, code),
        hint = code,
        detail = coalesce(detail, '{}'::jsonb)::text;
end
$$;
