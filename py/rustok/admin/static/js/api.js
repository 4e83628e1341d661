// The GraphQL client: POST /graphql with the tenant and the access token, refreshing the session before it
// expires (and once more when the server says UNAUTHENTICATED). Errors become ApiError (code + words).

import {ApiError} from './errors.js';
import {expiring, forget, keep, session} from './session.js';

const ENDPOINT = '/graphql';
const AUTH_FIELDS = /* GraphQL */ `fragment SessionFields on AuthPayload { user { id email role displayName } accessToken refreshToken expiresIn }`;
let refreshing = null;

async function post(query, variables, {tenant, token} = {}) {
  const headers = {'content-type': 'application/json'};
  if (tenant) headers['x-tenant'] = tenant;
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(ENDPOINT, {method: 'POST', headers, body: JSON.stringify({query, variables})});
  } catch (error) {
    throw new ApiError('NETWORK', String(error));
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(response.status >= 500 ? 'UNAVAILABLE' : 'BAD_REQUEST', `HTTP ${response.status}`);
  }
  if (body.errors && body.errors.length) throw ApiError.from(body.errors[0]);
  return body.data;
}

/** Runs a query or mutation as the signed-in user; returns `data`. */
export async function gql(query, variables = {}) {
  const current = session();
  if (!current) return post(query, variables);
  if (expiring()) await refresh();
  try {
    return await post(query, variables, {tenant: session().tenant, token: session().accessToken});
  } catch (error) {
    if (error.code !== 'UNAUTHENTICATED' || !session()) throw error;
    await refresh();  // the token may have expired in between: one retry with a fresh one
    return post(query, variables, {tenant: session().tenant, token: session().accessToken});
  }
}

export async function signIn(tenant, email, password) {
  const data = await post(
    /* GraphQL */ `mutation SignIn($email: String!, $password: String!) { signIn(email: $email, password: $password) { ...SessionFields } } ${AUTH_FIELDS}`,
    {email, password}, {tenant});
  keep(tenant, data.signIn);
  return data.signIn;
}

/** A new token pair; concurrent callers share one refresh (a refresh token is single use). */
export function refresh() {
  if (!refreshing) {
    const current = session();
    refreshing = post(
      /* GraphQL */ `mutation RefreshSession($token: String!) { refreshSession(refreshToken: $token) { ...SessionFields } } ${AUTH_FIELDS}`,
      {token: current?.refreshToken}, {tenant: current?.tenant})
      .then((data) => keep(current.tenant, data.refreshSession))
      .catch((error) => {
        forget();
        throw error;
      })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

export async function signOut() {
  const current = session();
  forget();
  if (current) {
    await post(/* GraphQL */ `mutation SignOut($token: String!) { signOut(refreshToken: $token) }`, {token: current.refreshToken},
      {tenant: current.tenant}).catch(() => undefined);
  }
}
