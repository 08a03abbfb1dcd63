'use strict';
// Test harness for Kumo's in-sandbox Kii SDK (crates/kumo-engine/js/sdk/*.js).
//
// The SDK is evaluated with `vm` in a fresh context, the way the engine evaluates it in QuickJS:
// no Node globals, only the synchronous bridge the engine provides:
//   __kii_env    frozen {appID, appKey, baseURL}
//   __kii_http   one Kii REST request (path relative to the API root), done here synchronously
//                with curl against a running Kumo server; the app ID/key headers are added here,
//                as the engine's host adds them
//   __kii_fetch  outbound HTTP for $.ajax, also through curl; throws for refused hosts
// and, like the engine, lazy SDK globals: touching one loads the SDK part that defines it (after
// `core`), each part file being a function called once with the shared `sdk` object, whose
// sdk.need(part) the harness provides (see GLOBAL_PARTS and createSandbox).
//
// The server: KUMO_SITE, KUMO_APP_ID, KUMO_APP_KEY, KUMO_CLIENT_ID and KUMO_CLIENT_SECRET name a
// running one (as for e2e/test); otherwise startServer() starts `kumo serve` (KUMO_BIN, default
// target/debug/kumo) on a free port with a fresh data directory.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const cp = require('node:child_process');

const ROOT = path.resolve(__dirname, '../..');
const SDK_DIR = path.join(ROOT, 'crates/kumo-engine/js/sdk');

// ------------------------------------------------------------------------------------------
// Synchronous HTTP through curl

/** Parses `curl -i` output: skips 1xx blocks, returns {status, headers (lower-case), body}. */
function parseCurlOutput(buf) {
  let text = buf.toString('utf8');
  for (;;) {
    const end = text.indexOf('\r\n\r\n');
    if (!text.startsWith('HTTP/') || end < 0) throw new Error(`unexpected curl output: ${text.slice(0, 200)}`);
    const lines = text.slice(0, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    text = text.slice(end + 4);
    if (status >= 100 && status < 200) continue;
    const headers = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    return { status, headers, body: text };
  }
}

/** One HTTP exchange, synchronously. Throws when the connection fails (curl exit status). */
function curl(method, url, headers, body) {
  const args = ['-sS', '-i', '--max-time', '30', '-H', 'Expect:'];
  if (method === 'HEAD') args.push('--head');
  else args.push('-X', method);
  for (const [k, v] of Object.entries(headers || {})) args.push('-H', `${k}: ${v}`);
  if (body != null) args.push('--data-binary', '@-');
  args.push(url);
  const out = cp.execFileSync('curl', args, {
    input: body != null ? body : '',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return parseCurlOutput(out);
}

// ------------------------------------------------------------------------------------------
// Server

function envServer() {
  const e = process.env;
  if (!e.KUMO_SITE) return null;
  return {
    site: e.KUMO_SITE,
    appId: e.KUMO_APP_ID,
    appKey: e.KUMO_APP_KEY,
    clientId: e.KUMO_CLIENT_ID,
    clientSecret: e.KUMO_CLIENT_SECRET,
    stop() {},
  };
}

/** Starts `kumo serve` on 127.0.0.1:0 with a fresh data dir, or uses the KUMO_* server. */
async function startServer() {
  const given = envServer();
  if (given) return given;
  const bin = process.env.KUMO_BIN || path.join(ROOT, 'target/debug/kumo');
  if (!fs.existsSync(bin)) throw new Error(`no Kumo binary at ${bin} (build it, or set KUMO_BIN / KUMO_SITE…)`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-sandbox-sdk-'));
  const child = cp.spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUMO_LOG: process.env.KUMO_LOG || 'warn' },
  });
  // Don't leave the server behind if this process ends without calling stop().
  const killChild = () => child.kill('SIGTERM');
  process.once('exit', killChild);
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const creds = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kumo did not print its credentials:\n${out}\n${err}`)), 20000);
    child.on('exit', (code) => reject(new Error(`kumo exited (${code}):\n${out}\n${err}`)));
    child.stdout.on('data', (d) => {
      out += d;
      const start = out.indexOf('{');
      const end = out.indexOf('\n}', start);
      if (start >= 0 && end > start) {
        clearTimeout(timer);
        resolve(JSON.parse(out.slice(start, end + 2)));
      }
    });
  });
  const server = {
    site: creds.siteURL,
    appId: creds.appID,
    appKey: creds.appKey,
    clientId: creds.clientID,
    clientSecret: creds.clientSecret,
    child,
    stop() {
      process.off('exit', killChild);
      child.kill('SIGTERM');
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const health = server.site.replace(/\/api$/, '') + '/health';
  for (let i = 0; ; i++) {
    try {
      if (curl('GET', health, {}).status === 200) break;
    } catch (e) {
      if (i > 100) throw e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return server;
}

// ------------------------------------------------------------------------------------------
// Sandboxes

/** The SDK's parts: name -> {path, source, script}; `core` is loaded before any other. */
const PARTS = {};
for (const name of ['core', 'users', 'groups', 'objects', 'query', 'acl', 'servercode', 'misc', 'jquery']) {
  const file = path.join(SDK_DIR, name + '.js');
  const source = fs.readFileSync(file, 'utf8');
  PARTS[name] = { path: file, source, script: new vm.Script(source, { filename: file }) };
}

/** SDK global name -> the part that defines it (the engine's table). */
const GLOBAL_PARTS = {
  Kii: 'core',
  KiiAnonymousUser: 'core',
  KiiAnyAuthenticatedUser: 'core',
  KiiAppAdminContext: 'core',
  KiiUser: 'users',
  KiiGroup: 'groups',
  KiiBucket: 'objects',
  KiiObject: 'objects',
  KiiQuery: 'query',
  KiiClause: 'query',
  KiiACL: 'acl',
  KiiACLEntry: 'acl',
  KiiACLAction: 'acl',
  KiiServerCodeEntry: 'servercode',
  KiiServerCodeExecResult: 'servercode',
  KiiServerCodeEnvironmentVersion: 'servercode',
  KiiErrorParser: 'misc',
  KiiGeoPoint: 'misc',
  KiiSite: 'misc',
  $: 'jquery',
  jQuery: 'jquery',
};

function checkBridgeCall(method, where, headers, body) {
  if (typeof method !== 'string' || !/^[A-Z]+$/.test(method)) throw new Error(`bridge: bad method ${method}`);
  if (typeof where !== 'string') throw new Error(`bridge: bad path/url ${where}`);
  if (headers == null || typeof headers !== 'object') throw new Error('bridge: headers must be an object');
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v !== 'string') throw new Error(`bridge: header ${k} is not a string (${typeof v})`);
  }
  if (body !== null && typeof body !== 'string') throw new Error(`bridge: body must be a string or null (${typeof body})`);
}

/**
 * A fresh sandbox: a new context with the bridge and the lazy SDK globals.
 * Returns {g (the context's global object: g.Kii, g.KiiUser, …), sdk (the shared object the
 * loaded parts have filled), loads (names of the parts loaded, in order), wire (REST exchanges),
 * fetches (outbound $.ajax requests), admin(token), run(code)}.
 * opts.allowFetch(url) decides which URLs __kii_fetch may reach (default: the Kumo server).
 */
function createSandbox(server, opts = {}) {
  const wire = [];
  const fetches = [];
  const origin = new URL(server.site).origin;
  const allowFetch = opts.allowFetch || ((url) => url.startsWith(origin + '/'));
  const context = vm.createContext({});
  context.__kii_env = Object.freeze({ appID: server.appId, appKey: server.appKey, baseURL: server.site });
  context.__kii_http = function (method, p, headers, body) {
    checkBridgeCall(method, p, headers, body);
    if (!p.startsWith('/')) throw new Error(`bridge: path must start with '/': ${p}`);
    const h = { ...headers, 'x-kii-appid': server.appId, 'x-kii-appkey': server.appKey };
    const res = curl(method, server.site + p, h, body);
    wire.push({ method, path: p, headers: h, body, status: res.status, resHeaders: res.headers, resBody: res.body });
    return res;
  };
  context.__kii_fetch = function (method, url, headers, body) {
    checkBridgeCall(method, url, headers, body);
    const entry = { method, url, headers, body, status: null };
    fetches.push(entry);
    if (!allowFetch(url)) throw new Error(`outbound requests to ${url} are not allowed`);
    const res = curl(method, url, headers, body);
    entry.status = res.status;
    return res;
  };

  // The SDK, as the engine loads it: a part is evaluated (its function called with `sdk`) once,
  // when first needed, `core` before any other. Each global is an accessor that loads its part;
  // once the part is loaded, the global becomes a plain (writable, configurable) property.
  const loads = [];
  const sdk = vm.runInContext('({})', context);
  const accessors = {};
  const define = (name, value) => Object.defineProperty(context, name, { value, writable: true, configurable: true });
  function need(part) {
    if (loads.includes(part)) return sdk;
    if (!PARTS[part]) throw new Error(`no SDK part ${part}`);
    if (part !== 'core') need('core');
    PARTS[part].script.runInContext(context)(sdk);
    loads.push(part);
    for (const name of Object.keys(GLOBAL_PARTS)) {
      const d = GLOBAL_PARTS[name] === part && Object.getOwnPropertyDescriptor(context, name);
      if (d && d.get === accessors[name].get) define(name, sdk[name]);
    }
    return sdk;
  }
  Object.defineProperty(sdk, 'need', { value: need });
  for (const [name, part] of Object.entries(GLOBAL_PARTS)) {
    accessors[name] = {
      get: () => need(part)[name],
      set: (value) => {
        need(part);
        define(name, value);
      },
      configurable: true,
    };
    Object.defineProperty(context, name, accessors[name]);
  }
  return {
    g: context,
    sdk,
    loads,
    wire,
    fetches,
    admin: (token) => need('core').__adminContext(token),
    run: (code) => vm.runInContext(code, context),
    /** The last REST exchange whose method matches and whose path matches `re`. */
    last(method, re) {
      for (let i = wire.length - 1; i >= 0; i--) {
        if (wire[i].method === method && re.test(wire[i].path)) return wire[i];
      }
      return null;
    },
  };
}

/** Describes the last n exchanges of a sandbox (for failure messages). */
function describeWire(sb, n = 6) {
  return sb.wire
    .slice(-n)
    .map((e) => `${e.method} ${e.path} ${e.body ? e.body.slice(0, 300) : ''}\n  -> ${e.status} ${String(e.resBody).slice(0, 300)}`)
    .join('\n');
}

module.exports = { SDK_DIR, PARTS, GLOBAL_PARTS, startServer, createSandbox, describeWire, curl };
