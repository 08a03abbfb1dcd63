// Calls to Kumo's REST API: the same public and admin calls any client makes.

// The API lives beside the console on the same origin: /console/ → /api/.
const BASE = new URL('../api/', document.baseURI);

/** A failed call: its HTTP status and the server's error body (Kii's {errorCode, message}). */
export class ApiError extends Error {
  constructor(status, body, headers = null) {
    const message = body && typeof body === 'object' && body.message
      ? `${body.errorCode || status}: ${body.message}`
      : `HTTP ${status}`;
    super(message);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** `/apps/{appID}` followed by `rest`, with the app ID escaped. */
export function appPath(appID, rest) {
  return `apps/${encodeURIComponent(appID)}${rest}`;
}

/**
 * One request. Options: token (Bearer), json (a body sent as JSON), body (a raw body),
 * contentType (the body's type, also overriding JSON's), headers (more request headers), text
 * (read the answer as text). Resolves to { status, headers, body, ms } for 2xx; rejects with
 * ApiError otherwise, or with a TypeError when the server cannot be reached.
 */
export async function call(method, path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  if (options.contentType) headers['Content-Type'] = options.contentType;
  const started = performance.now();
  const res = await fetch(new URL(path, BASE), { method, headers, body, cache: 'no-store' });
  const raw = await res.text();
  const ms = performance.now() - started;
  let parsed = raw;
  if (!options.text || !res.ok) {
    try {
      parsed = raw === '' ? null : JSON.parse(raw);
    } catch {
      parsed = raw;
    }
  }
  if (!res.ok) throw new ApiError(res.status, parsed, res.headers);
  return { status: res.status, headers: res.headers, body: parsed, ms };
}

/**
 * Opens a streamed response (e.g. an event stream) and resolves to the fetch Response once
 * its headers arrived with a 2xx; rejects with ApiError (the server's error body) otherwise.
 */
export async function openStream(path, { token, signal, headers = {} } = {}) {
  const all = { ...headers };
  if (token) all.Authorization = `Bearer ${token}`;
  const res = await fetch(new URL(path, BASE), { headers: all, signal, cache: 'no-store' });
  if (!res.ok) {
    const raw = await res.text();
    let parsed = raw;
    try {
      parsed = raw === '' ? null : JSON.parse(raw);
    } catch {
      /* not JSON: kept as text */
    }
    throw new ApiError(res.status, parsed, res.headers);
  }
  return res;
}

/** An app-admin token from the app's client ID and secret. */
export async function adminToken(appID, clientID, clientSecret) {
  const res = await call('POST', appPath(appID, '/oauth2/token'), {
    json: { grant_type: 'client_credentials', client_id: clientID, client_secret: clientSecret },
  });
  const token = res.body && res.body.access_token;
  if (typeof token !== 'string') throw new Error('the server answered without an access token');
  return token;
}

/** The app's server-code versions, newest first. Needs an admin token. */
export async function listVersions(app) {
  const res = await call('GET', appPath(app.appID, '/server-code/versions'), { token: app.token });
  const versions = Array.isArray(res.body && res.body.versions) ? res.body.versions : [];
  return versions.slice().sort((a, b) => (b.createdAt || 0) - (a.createdAt || 0));
}

/** A short, human line for any failure. */
export function describe(error) {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return `Cannot reach the server (${error.message})`;
  return String((error && error.message) || error);
}
