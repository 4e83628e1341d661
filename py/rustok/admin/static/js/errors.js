// API errors in words: every GraphQL error carries extensions.code; the person sees words and the code.

const WORDS = {
  INVALID_ID: 'That id is not valid',
  VALIDATION_FAILED: 'Some input is not valid',
  NOT_FOUND: 'It does not exist (or is not visible to you)',
  CONFLICT: 'That is already taken',
  FORBIDDEN: 'You are not allowed to do this',
  UNAUTHENTICATED: 'Please sign in again',
  TENANT_REQUIRED: 'Name the tenant to sign in to',
  TENANT_MISMATCH: 'This session belongs to another tenant',
  TENANT_INACTIVE: 'This tenant is switched off',
  MODULE_DISABLED: 'That module is switched off for this tenant',
  MODULE_UNKNOWN: 'No such module is installed',
  MODULE_DEPENDENCY_DISABLED: 'A module it needs is switched off',
  MODULE_REQUIRED: 'Another enabled module needs it',
  INVALID_STATE: 'That change is not possible from the current state',
  RATE_LIMITED: 'Too many attempts; wait a moment and retry',
  INVALID_CREDENTIALS: 'Email or password is wrong',
  BAD_REQUEST: 'The request was malformed',
  PAYLOAD_TOO_LARGE: 'That is too large to send',
  TIMEOUT: 'The server took too long; retry',
  WEBHOOK_TARGET_FORBIDDEN: 'Webhooks cannot target private or local addresses',
  CATEGORY_CYCLE: 'A category cannot go under itself or its descendants',
  NOT_PUBLISHED: 'It is not published (yet)',
  INSUFFICIENT_STOCK: 'Not enough stock',
  DISCOUNT_INVALID: 'That discount code cannot be used',
  PRICE_NOT_FOUND: 'No price in that currency',
  CURRENCY_UNKNOWN: 'Not a currency code (use ISO 4217, such as EUR)',
  INTERNAL: 'Something went wrong on the server',
  UNAVAILABLE: 'The server is busy or unreachable; retry',
  NETWORK: 'The server could not be reached',
};

export class ApiError extends Error {
  constructor(code, message, details = {}, requestId = null) {
    super(message || code);
    this.code = code;
    this.details = details || {};
    this.requestId = requestId;
    const field = this.details.field ? `: ${this.details.field}` : '';
    this.words = `${WORDS[code] || message || 'Request failed'}${field}`;
  }

  static from(graphqlError) {
    const ext = graphqlError.extensions || {};
    return new ApiError(ext.code || 'INTERNAL', graphqlError.message, ext.details || detailsOf(ext), ext.requestId);
  }
}

function detailsOf(extensions) {
  const {code, requestId, ...rest} = extensions;
  return rest;
}
