// The signed-in session: tokens in memory, mirrored to sessionStorage (this tab only, gone when it closes).

const KEY = 'rustok.admin.session';
let current = load();
const listeners = new Set();

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

export function session() {
  return current;
}

/** Keeps a signIn / refreshSession answer ({user, accessToken, refreshToken, expiresIn}) for the tenant. */
export function keep(tenant, payload) {
  current = {
    tenant,
    user: payload.user,
    accessToken: payload.accessToken,
    refreshToken: payload.refreshToken,
    expiresAt: Date.now() + payload.expiresIn * 1000,
  };
  sessionStorage.setItem(KEY, JSON.stringify(current));
  listeners.forEach((fn) => fn(current));
}

export function forget() {
  current = null;
  sessionStorage.removeItem(KEY);
  listeners.forEach((fn) => fn(null));
}

/** Whether the access token expires within the margin (then it is refreshed before use). */
export function expiring(marginMs = 30000) {
  return Boolean(current && current.expiresAt - marginMs < Date.now());
}

export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** What the signed-in role may see in the navigation (the server checks every permission anyway). */
export function isSuperAdmin() {
  return current?.user?.role === 'SUPER_ADMIN';
}
