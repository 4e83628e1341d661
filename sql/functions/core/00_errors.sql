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
        ('COMMIT_ORDER_EARLY',         'RK017', 409, 'An event-writing transaction of a client role may not take its commit number before COMMIT (SET CONSTRAINTS ... IMMEDIATE).'),
        ('BAD_REQUEST',                'RK100', 400, 'The request is malformed (JSON, GraphQL syntax, parameters).'),
        ('PAYLOAD_TOO_LARGE',          'RK101', 413, 'The request body is larger than allowed.'),
        ('QUERY_TOO_DEEP',             'RK102', 400, 'The GraphQL operation nests deeper than allowed.'),
        ('QUERY_TOO_COMPLEX',          'RK103', 400, 'The GraphQL operation costs more than allowed.'),
        ('TOO_MANY_ALIASES',           'RK104', 400, 'The GraphQL operation uses more aliases than allowed.'),
        ('TOO_MANY_OPERATIONS',        'RK105', 400, 'The request batches more operations than allowed.'),
        ('TOO_MANY_TOKENS',            'RK106', 400, 'The GraphQL document has more tokens than allowed.'),
        ('TIMEOUT',                    'RK107', 504, 'The operation ran longer than allowed.'),
        ('PERSISTED_QUERY_NOT_FOUND',  'RK108', 400, 'No persisted query has this hash; send the query with it.'),
        ('INTROSPECTION_DISABLED',     'RK109', 400, 'Introspection is switched off on this server.'),
        ('GRAPHQL_VALIDATION_FAILED',  'RK110', 400, 'The GraphQL operation does not match the schema.'),
        ('JSON_TOO_DEEP',              'RK111', 422, 'A JSON value nests deeper than allowed (32 levels).'),
        ('WEBHOOK_TARGET_FORBIDDEN',   'RK120', 422, 'Webhooks may only target globally routable addresses.'),
        ('CATEGORY_CYCLE',             'RK200', 422, 'A category cannot be placed under itself or one of its descendants.'),
        ('NOT_PUBLISHED',              'RK201', 409, 'The content is not published (or its publication time is still ahead).'),
        ('INSUFFICIENT_STOCK',         'RK220', 409, 'Not enough stock for the quantity asked.'),
        ('DISCOUNT_INVALID',           'RK221', 422, 'The discount code cannot be used (unknown, expired, used up, ...).'),
        ('PRICE_NOT_FOUND',            'RK222', 422, 'The variant has no price in this currency.'),
        ('CURRENCY_UNKNOWN',           'RK223', 422, 'Not an ISO 4217 currency code.'),
        ('REGION_CURRENCY_MISMATCH',   'RK224', 422, 'The region that ships to this country uses another currency than the cart.'),
        ('INTERNAL',                   'RK500', 500, 'Unexpected failure; the response carries a request id.'),
        ('UNAVAILABLE',                'RK503', 503, 'The database is not reachable or busy right now; retry.')
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
