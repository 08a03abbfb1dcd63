'use strict';
// Shared setup for the end-to-end tests: the real, unmodified Kii JavaScript SDK
// (kii-cloud-sdk 2.4.19) talking to a running Kumo server.
//
// The server under test is given by environment variables (the Rust test harness sets them):
//   KUMO_SITE           base URL, e.g. http://127.0.0.1:18080/api (no trailing slash)
//   KUMO_APP_ID         app ID
//   KUMO_APP_KEY        app key
//   KUMO_CLIENT_ID      app-admin client ID
//   KUMO_CLIENT_SECRET  app-admin client secret
//
// Every test creates its own users and groups with random names, so the same files can run
// against any server (SQLite- or PostgreSQL-backed) in any order.
//
// Note: `node --test e2e/test/` treats every .js file under a `test` directory as a test file,
// this one included. Run on its own, this file checks the environment (see the bottom).

const path = require('node:path');
const crypto = require('node:crypto');
const assert = require('node:assert/strict');
const nodeTest = require('node:test');

// ------------------------------------------------------------------------------------------
// Environment

const ENV_NAMES = ['KUMO_SITE', 'KUMO_APP_ID', 'KUMO_APP_KEY', 'KUMO_CLIENT_ID', 'KUMO_CLIENT_SECRET'];

function missingEnv() {
  return ENV_NAMES.filter((n) => !process.env[n]);
}

function readEnv() {
  const missing = missingEnv();
  if (missing.length > 0) {
    throw new Error(
      `Kumo e2e: missing environment variable(s): ${missing.join(', ')}.\n` +
        'Start a Kumo server and set KUMO_SITE (e.g. http://127.0.0.1:18080/api), KUMO_APP_ID, ' +
        'KUMO_APP_KEY, KUMO_CLIENT_ID and KUMO_CLIENT_SECRET from its <data-dir>/default-app.json.',
    );
  }
  return {
    site: process.env.KUMO_SITE,
    appId: process.env.KUMO_APP_ID,
    appKey: process.env.KUMO_APP_KEY,
    clientId: process.env.KUMO_CLIENT_ID,
    clientSecret: process.env.KUMO_CLIENT_SECRET,
  };
}

// ------------------------------------------------------------------------------------------
// Wire recorder.
//
// The SDK's Node build binds `require('xmlhttprequest').XMLHttpRequest` once, when KiiSDK.js is
// loaded. Before loading it, we replace that export with a subclass that only *records* each
// exchange (method, URL, request headers/body, status, response body) and otherwise behaves
// identically. The SDK itself is not modified and the bytes on the wire are unchanged. The log
// lets tests check things the SDK hides (the HTTP status of a failed call, the body of a token
// request) and is printed when a test fails, so that a failure shows what was sent and received.

const wireLog = [];
const WIRE_LOG_MAX = 200;
let wireSeq = 0;

function installWireRecorder() {
  const sdkDir = path.dirname(require.resolve('kii-cloud-sdk'));
  const xhrModule = require(require.resolve('xmlhttprequest', { paths: [sdkDir] }));
  const Original = xhrModule.XMLHttpRequest;
  if (Original.__kumoRecorder) return;

  function RecordingXMLHttpRequest() {
    Original.call(this);
    const self = this;
    const entry = { seq: 0, method: null, url: null, reqHeaders: {}, reqBody: undefined, status: null, resText: null };
    const open = this.open;
    const setRequestHeader = this.setRequestHeader;
    const send = this.send;
    this.open = function (method, url, ...rest) {
      entry.method = method;
      entry.url = String(url);
      return open.call(this, method, url, ...rest);
    };
    this.setRequestHeader = function (name, value) {
      entry.reqHeaders[String(name).toLowerCase()] = value;
      return setRequestHeader.call(this, name, value);
    };
    this.send = function (data) {
      entry.seq = ++wireSeq;
      entry.reqBody = data;
      wireLog.push(entry);
      if (wireLog.length > WIRE_LOG_MAX) wireLog.shift();
      return send.call(this, data);
    };
    // Listeners run right after the SDK's own onreadystatechange handler, in the same tick,
    // so the entry is complete before any promise continuation of the test runs.
    this.addEventListener('readystatechange', function () {
      if (self.readyState === 4) {
        entry.status = self.status;
        entry.resText = self.responseText;
      }
    });
  }
  RecordingXMLHttpRequest.__kumoRecorder = true;
  xhrModule.XMLHttpRequest = RecordingXMLHttpRequest;
}

function stripCacheBuster(url) {
  return String(url)
    .replace(/([?&])disable_cache=\d+&?/, '$1')
    .replace(/[?&]$/, '');
}

const wire = {
  /** A mark to pass to since(). */
  mark() {
    return wireSeq;
  },
  /** Exchanges sent after the mark, oldest first. */
  since(mark) {
    return wireLog.filter((e) => e.seq > mark);
  },
  /** The latest exchange (optionally after `mark`) whose method matches and path matches `re`. */
  last(method, re, mark = 0) {
    for (let i = wireLog.length - 1; i >= 0; i--) {
      const e = wireLog[i];
      if (e.seq <= mark) break;
      if (e.method === method && re.test(wire.path(e))) return e;
    }
    return null;
  },
  /** URL path (and query, without the SDK's disable_cache) of an exchange. */
  path(e) {
    try {
      const u = new URL(stripCacheBuster(e.url));
      return u.pathname + u.search;
    } catch {
      return stripCacheBuster(e.url);
    }
  },
  /** Parsed JSON request body, or undefined. */
  requestJson(e) {
    try {
      return JSON.parse(e.reqBody);
    } catch {
      return undefined;
    }
  },
  describe(entries) {
    return entries
      .map((e) => {
        const hdrs = Object.entries(e.reqHeaders)
          .filter(([k]) => !['x-kii-appkey', 'x-kii-sdk'].includes(k))
          .map(([k, v]) => `${k}: ${k === 'authorization' ? String(v).replace(/(\S+\s+)(.{6}).*/, '$1$2…') : v}`)
          .join('; ');
        const body = e.reqBody == null || e.reqBody === '' ? '' : `\n      body: ${truncate(String(e.reqBody), 400)}`;
        const status = e.status == null ? '(no response yet)' : e.status;
        const res = e.resText ? ` ${truncate(String(e.resText), 600)}` : '';
        return `  ${e.method} ${stripCacheBuster(e.url)}\n      ${hdrs}${body}\n   -> ${status}${res}`;
      })
      .join('\n');
  },
};

function truncate(s, n) {
  return s.length > n ? s.slice(0, n) + '…' : s;
}

installWireRecorder();
const kiiSdk = require('kii-cloud-sdk');

// ------------------------------------------------------------------------------------------
// SDK namespaces, names, users

/**
 * A fresh, independent SDK namespace (its own current user and settings), initialized against
 * the server under test. One namespace = one simulated client.
 */
function newClient() {
  const env = readEnv();
  const sdk = kiiSdk.create();
  sdk.Kii.initializeWithSite(env.appId, env.appKey, env.site);
  return sdk;
}

/** Random lowercase hex. */
function randomHex(bytes = 5) {
  return crypto.randomBytes(bytes).toString('hex');
}

/** n random decimal digits. */
function randomDigits(n) {
  let s = '';
  while (s.length < n) s += crypto.randomInt(0, 10).toString();
  return s;
}

/** A unique login name valid for the SDK (^[a-zA-Z0-9-_.]{3,64}$). */
function uniqueName(prefix = 'u') {
  return `${prefix}_${Date.now().toString(36)}_${randomHex(4)}`;
}

/** A unique email address. */
function uniqueEmail(prefix = 'mail') {
  return `${prefix}.${Date.now().toString(36)}.${randomHex(4)}@example.com`;
}

/** A unique international phone number: '+8190' + 8 random digits. */
function uniquePhone() {
  return '+8190' + randomDigits(8);
}

const DEFAULT_PASSWORD = 'secret123';

/**
 * Registers a new user with a unique login name in a new namespace and returns
 * { sdk, user, id, token, username, password, email, phone }. `user` is the namespace's current
 * user. Options: prefix, password, email, phone, displayName, fields (custom fields).
 */
async function registerUser(opts = {}) {
  const sdk = newClient();
  const username = opts.username || uniqueName(opts.prefix || 'user');
  const password = opts.password || DEFAULT_PASSWORD;
  // The SDK's factories validate every identifier they are given, so pick the one that matches.
  let user;
  if (opts.email && opts.phone) {
    user = sdk.KiiUser.userWithCredentials(opts.email, opts.phone, username, password);
  } else if (opts.email) {
    user = sdk.KiiUser.userWithEmailAddressAndUsername(opts.email, username, password);
  } else if (opts.phone) {
    user = sdk.KiiUser.userWithPhoneNumberAndUsername(opts.phone, username, password);
  } else {
    user = sdk.KiiUser.userWithUsername(username, password);
  }
  if (opts.displayName) user.setDisplayName(opts.displayName);
  for (const [k, v] of Object.entries(opts.fields || {})) user.set(k, v);
  await user.register();
  const current = sdk.KiiUser.getCurrentUser();
  assert.ok(current, 'register() resolved but the namespace has no current user');
  assert.ok(current.getID(), 'registered user has no ID');
  assert.ok(current.getAccessToken(), 'registered user has no access token');
  return {
    sdk,
    user: current,
    id: current.getID(),
    token: current.getAccessToken(),
    username,
    password,
    email: opts.email || null,
    phone: opts.phone || null,
  };
}

// ------------------------------------------------------------------------------------------
// Errors

const parser = kiiSdk.create().KiiErrorParser;

/** KiiErrorParser.parse(message): { status, code, message }. */
function parseError(errOrMessage) {
  const message = typeof errOrMessage === 'string' ? errOrMessage : errOrMessage && errOrMessage.message;
  return parser.parse(String(message));
}

/**
 * Asserts that `promise` rejects and returns
 * { error, raw, status, code, message } where raw is the SDK's error message and
 * status/code/message come from KiiErrorParser.parse(raw).
 */
async function expectReject(promise, what = 'the call') {
  let value;
  try {
    value = await promise;
  } catch (error) {
    const raw = error && error.message !== undefined ? String(error.message) : String(error);
    const parsed = parser.parse(raw) || { status: null, code: null, message: raw };
    return { error, raw, status: parsed.status, code: parsed.code, message: parsed.message };
  }
  let shown;
  try {
    shown = value && typeof value === 'object' && typeof value.getID === 'function' ? `object with ID ${value.getID()}` : String(value);
  } catch {
    shown = '(unprintable)';
  }
  assert.fail(`expected ${what} to be rejected, but it resolved (${shown})`);
}

/** Asserts a KiiErrorParser result has the given code (and status, if given). */
function assertKiiError(result, code, status) {
  assert.equal(result.code, code, `expected error code ${code}, got ${result.code} (SDK message: ${result.raw})`);
  if (status !== undefined) {
    assert.equal(result.status, status, `expected KiiErrorParser status ${status} for ${code}, got ${result.status} (SDK message: ${result.raw})`);
  }
}

// ------------------------------------------------------------------------------------------
// Tests

const TEST_TIMEOUT_MS = 30000;

/**
 * node:test's test() with a timeout (an SDK promise can stay pending forever, e.g. on an
 * unexpected 3xx) and, on failure, the HTTP exchanges of that test appended to the error.
 */
function kumoTest(name, fn) {
  return nodeTest.test(name, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const mark = wire.mark();
    try {
      await fn(t);
    } catch (err) {
      const exchanges = wire.since(mark).slice(-8);
      if (exchanges.length > 0 && err && typeof err === 'object') {
        const extra = `\n--- last HTTP exchanges of this test (oldest first) ---\n${wire.describe(exchanges)}`;
        try {
          err.message = `${err.message}${extra}`;
          if (typeof err.stack === 'string') err.stack = `${err.message}\n${err.stack.split('\n').slice(1).join('\n')}`;
        } catch {
          /* some errors have read-only messages */
        }
      }
      throw err;
    }
  });
}

/** IDs of an array of SDK objects (users, groups). */
function ids(list) {
  return Array.from(list || [], (x) => x.getID());
}

module.exports = {
  readEnv,
  newClient,
  randomHex,
  randomDigits,
  uniqueName,
  uniqueEmail,
  uniquePhone,
  registerUser,
  DEFAULT_PASSWORD,
  parseError,
  expectReject,
  assertKiiError,
  kumoTest,
  ids,
  wire,
};

// Run directly (as `node --test e2e/test/` does with every .js file under test/), this module
// checks the environment the other files need.
if (require.main === module) {
  nodeTest.test('environment: KUMO_* variables are set and KUMO_SITE is a base URL without a trailing slash', () => {
    const missing = missingEnv();
    assert.deepEqual(missing, [], `missing environment variable(s): ${missing.join(', ')}`);
    const site = process.env.KUMO_SITE;
    assert.match(site, /^https?:\/\/[^/]+/, `KUMO_SITE is not an http(s) URL: ${site}`);
    assert.ok(!site.endsWith('/'), `KUMO_SITE must not end with '/': ${site}`);
  });
}
