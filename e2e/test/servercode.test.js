'use strict';
// Server Code: deploy (raw and multipart), versions and the current pointer, running endpoints
// from the real SDK (Kii.serverCodeEntry(...).execute), return values, timeouts and
// _timeoutResponse, the caller's identity inside the sandbox, server code calling server code,
// run failures, and the developer log.
// Behaviour: shared/spec/kii-servercode.md §2, §4, §5, §8; seeds 001 (manual execution) and
// 003 (syntax) in shared/seeds/.
//
// The management API has no SDK counterpart (Kii's own tools use REST with an app-admin token),
// so deploys, version management and the developer log go through Node's fetch; every run that
// a client app would make goes through the SDK.
//
// The current-version pointer is app-wide: the tests of this file set it in turn and run one
// after another (node:test runs a file's top-level tests sequentially). Other test files never
// touch server code.

const assert = require('node:assert/strict');
const {
  readEnv,
  newClient,
  uniqueName,
  randomHex,
  registerUser,
  parseError,
  expectReject,
  kumoTest: test,
  wire,
} = require('./helpers');

const env = readEnv(); // fail the whole file at once, with a clear message, if the server is not configured

// ------------------------------------------------------------------------------------------
// Local helpers: REST with fetch

let adminTokenPromise = null;

/** An app-admin token: POST /oauth2/token {client_id, client_secret} (spec §5.2, §9.1). */
function adminToken() {
  if (!adminTokenPromise) {
    adminTokenPromise = (async () => {
      const res = await fetch(`${env.site}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-kii-appid': env.appId, 'x-kii-appkey': env.appKey },
        body: JSON.stringify({ client_id: env.clientId, client_secret: env.clientSecret }),
      });
      const text = await res.text();
      assert.equal(res.status, 200, `admin token request failed: ${res.status} ${text}`);
      const token = JSON.parse(text).access_token;
      assert.equal(typeof token, 'string', `no access_token in ${text}`);
      return token;
    })();
    adminTokenPromise.catch(() => {
      adminTokenPromise = null;
    });
  }
  return adminTokenPromise;
}

/**
 * One request to `${KUMO_SITE}/apps/${appID}${path}` with the app headers the official tools
 * send. o: {token ('admin' for the admin token, a user token, or none), body (string, Buffer,
 * FormData or a value to send as JSON), type (content type)}. Resolves with
 * {status, headers, text, bytes, json, describe}.
 */
async function api(method, path, o = {}) {
  const headers = { 'x-kii-appid': env.appId, 'x-kii-appkey': env.appKey };
  const token = o.token === 'admin' ? await adminToken() : o.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body;
  if (o.body !== undefined) {
    if (typeof o.body === 'string' || Buffer.isBuffer(o.body) || o.body instanceof FormData) {
      body = o.body;
    } else {
      body = JSON.stringify(o.body);
    }
    if (o.type) headers['content-type'] = o.type;
    else if (!(o.body instanceof FormData)) headers['content-type'] = 'application/json';
  }
  const url = `${env.site}/apps/${env.appId}${path}`;
  const res = await fetch(url, { method, headers, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const shownBody = typeof body === 'string' ? ` ${body.length > 300 ? body.slice(0, 300) + '…' : body}` : '';
  return {
    status: res.status,
    headers: res.headers,
    text,
    bytes,
    json,
    describe: `${method} ${url}${shownBody}\n   -> ${res.status} ${text.length > 600 ? text.slice(0, 600) + '…' : text}`,
  };
}

/** Asserts the status of an api() result, showing the exchange on failure. */
function expectStatus(res, status, what) {
  assert.equal(res.status, status, `${what}: expected HTTP ${status}\n  ${res.describe}`);
}

/** Asserts a Kii error body {errorCode, ...} with the given status and code. */
function expectError(res, status, code, what) {
  expectStatus(res, status, what);
  assert.ok(res.json && typeof res.json === 'object', `${what}: the error body is not JSON\n  ${res.describe}`);
  assert.equal(res.json.errorCode, code, `${what}: expected errorCode ${code}\n  ${res.describe}`);
  assert.equal(typeof res.json.message, 'string', `${what}: the error has no message\n  ${res.describe}`);
}

/** Deploys `source` as raw JavaScript (spec §5.1 #1); resolves with the versionID. */
async function deploy(source) {
  const res = await api('POST', '/server-code', { token: 'admin', body: source, type: 'application/javascript' });
  expectStatus(res, 201, 'deploying server code');
  const id = res.json && res.json.versionID;
  assert.equal(typeof id, 'string', `deploy answered without a versionID\n  ${res.describe}`);
  return id;
}

/** Deploys `source` as multipart with metadata {"environmentVersion": env} (spec §5.1 #1b). */
async function deployMultipart(source, environmentVersion) {
  const form = new FormData();
  form.append(
    'metadata',
    new Blob([JSON.stringify({ environmentVersion })], { type: 'application/vnd.kii.ServerCodeMetadataRequest+json' }),
  );
  form.append('server-code', new Blob([source], { type: 'application/javascript' }), 'server-code.js');
  const res = await api('POST', '/server-code', { token: 'admin', body: form });
  expectStatus(res, 201, `deploying server code as multipart with environmentVersion ${environmentVersion}`);
  assert.equal(typeof res.json.versionID, 'string', `multipart deploy answered without a versionID\n  ${res.describe}`);
  return res.json.versionID;
}

/** PUT …/versions/current with the versionID as text/plain (spec §5.1 #6). */
async function setCurrent(versionID) {
  const res = await api('PUT', '/server-code/versions/current', { token: 'admin', body: versionID, type: 'text/plain' });
  expectStatus(res, 204, `setting ${versionID} current`);
}

/** GET …/server-code/versions: the versions array. */
async function listVersions() {
  const res = await api('GET', '/server-code/versions', { token: 'admin' });
  expectStatus(res, 200, 'listing server code versions');
  assert.ok(res.json && Array.isArray(res.json.versions), `the list has no versions array\n  ${res.describe}`);
  return res.json.versions;
}

async function versionInfo(versionID) {
  const found = (await listVersions()).find((v) => v.versionID === versionID);
  assert.ok(found, `version ${versionID} is not in the version list`);
  return found;
}

/** POST …/versions/{version}/{endpoint}[?query] with a raw body (anonymous unless o.token). */
function run(version, endpoint, body = {}, o = {}) {
  return api('POST', `/server-code/versions/${version}/${endpoint}${o.query || ''}`, { ...o, body });
}

/** GET /developer-log with the given query parameters: the records array. */
async function devLog(query = {}) {
  const qs = new URLSearchParams({ limit: '1500', ...query }).toString();
  const res = await api('GET', `/developer-log?${qs}`, { token: 'admin' });
  expectStatus(res, 200, 'reading the developer log');
  assert.ok(res.json && Array.isArray(res.json.records), `the developer log has no records array\n  ${res.describe}`);
  return res.json.records;
}

/**
 * Polls the developer log (records are written asynchronously) until `pick(records)` returns a
 * non-empty array, or ~5 s passed; resolves with that array (possibly empty).
 */
async function waitForLog(query, pick) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = pick(await devLog(query));
    if ((found && found.length > 0) || Date.now() > deadline) return found || [];
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ------------------------------------------------------------------------------------------
// Local helpers: the SDK

/**
 * entry.execute(argument, {success, failure}) as the docs show it, settled into
 * {ok, entry, argument, result, error} (the promise execute() also returns is only observed).
 */
function executeWithCallbacks(entry, argument) {
  return new Promise((resolve) => {
    const promise = entry.execute(argument, {
      success(e, a, execResult) {
        resolve({ ok: true, entry: e, argument: a, result: execResult, calls: arguments.length });
      },
      failure(e, a, execResult, errorString) {
        resolve({ ok: false, entry: e, argument: a, result: execResult, error: errorString, calls: arguments.length });
      },
    });
    promise.catch(() => {}); // reported through the failure callback
  });
}

/** Runs an entry in Promise form and returns the KiiServerCodeExecResult. */
async function execute(entry, argument) {
  const params = await entry.execute(argument);
  assert.equal(params[0], entry, 'params[0] is the entry');
  return params[2];
}

/** The returnedValue of a Promise-form run. */
async function returned(entry, argument) {
  const result = await execute(entry, argument);
  const value = result.getReturnedValue();
  assert.ok(value && typeof value === 'object', `getReturnedValue() should be the response object, got ${JSON.stringify(value)}`);
  return value.returnedValue;
}

/** A unique bucket name. */
function uniqueBucket(prefix = 'sc') {
  return `${prefix}_${Date.now().toString(36)}_${randomHex(3)}`;
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const RUN_PATH = /\/apps\/[^/]+\/server-code\/versions\/[^/]+\/[A-Za-z][_A-Za-z0-9]*(\?.*)?$/;

// The top-level message of a 400 ENDPOINT_INVOCATION_ERROR (seed 001's timeout body).
const INVOCATION_ERROR_MESSAGE = 'Error found while executing the developer-defined code';

// ------------------------------------------------------------------------------------------
// Seed 001: the "main" example, verbatim

const SEED_001_MAIN = `function main(params, context, done) {
  var user = KiiUser.userWithUsername(params.username,
                                      params.password);
  user.register({
    success: function(user) {
      done(user.getUsername());
    },
    failure: function(user, errorString) {
      done(errorString);
    }
  });
}
`;

test('servercode: seed 001 main registers the user; the SDK result carries returnedValue, 3 steps and the environment', async () => {
  const versionID = await deploy(SEED_001_MAIN);
  await setCurrent(versionID);
  const info = await versionInfo(versionID);
  assert.equal(info.current, true, 'the version just set current is listed as current');

  const { Kii, KiiUser, KiiServerCodeEntry, KiiServerCodeExecResult } = newClient(); // nobody logged in: anonymous
  const username = uniqueName('friend');
  const arg = { username, password: 'password_for_my_friend' };

  // Callback form, as the JavaScript section of seed 001 shows it.
  const entry = Kii.serverCodeEntry('main');
  assert.ok(entry instanceof KiiServerCodeEntry);
  assert.equal(entry.getEntryName(), 'main');
  const mark = wire.mark();
  const r = await executeWithCallbacks(entry, arg);
  assert.ok(r.ok, `execute should succeed, failure: ${r.error}`);
  assert.equal(r.entry, entry, 'success gets the entry');
  assert.equal(r.argument, arg, 'success gets the argument');
  assert.ok(r.result instanceof KiiServerCodeExecResult);
  const returnedObj = r.result.getReturnedValue();
  assert.deepEqual(returnedObj, { returnedValue: username }, 'getReturnedValue() is the whole {"returnedValue": …} object');
  assert.equal(returnedObj['returnedValue'], username);
  // 2.4.19 hands back the X-Step-count header as it came (a string).
  assert.equal(String(r.result.getExecutedSteps()), '3', `seed 001 shows X-Step-count: 3, got ${r.result.getExecutedSteps()}`);
  assert.equal(r.result.getEnvironmentVersion(), info.environmentVersion, 'X-Environment-version is the version\'s environment');

  // On the wire: POST …/versions/current/main, no Authorization (anonymous), the argument as body.
  const post = wire.last('POST', /\/server-code\/versions\/current\/main$/, mark);
  assert.ok(post, 'no POST …/server-code/versions/current/main was recorded');
  assert.equal(post.status, 200);
  assert.equal(post.reqHeaders.authorization, undefined, 'an anonymous client sends no Authorization');
  assert.equal(post.reqHeaders['content-type'], 'application/json');
  assert.deepEqual(wire.requestJson(post), arg);
  assert.deepEqual(JSON.parse(post.resText), { returnedValue: username });

  // The same call over REST shows the headers themselves (seed 001's curl example).
  const again = uniqueName('friend');
  const rest = await run('current', 'main', { username: again, password: 'password_for_my_friend' });
  expectStatus(rest, 200, 'running seed 001 main over REST');
  assert.deepEqual(rest.json, { returnedValue: again });
  assert.equal(rest.headers.get('x-step-count'), '3');
  assert.equal(rest.headers.get('x-environment-version'), info.environmentVersion);
  assert.match(rest.headers.get('content-type') || '', /^application\/json/);

  // The server code really registered the users: they can log in.
  for (const name of [username, again]) {
    const other = newClient();
    const user = await other.KiiUser.authenticate(name, 'password_for_my_friend');
    assert.equal(user.getUsername(), name);
  }
  assert.equal(KiiUser.getCurrentUser(), null, 'running server code does not log the client in');

  // Promise form.
  const third = uniqueName('friend');
  const params = await Kii.serverCodeEntry('main').execute({ username: third, password: 'password_for_my_friend' });
  assert.equal(params.length, 3, 'the promise resolves with [entry, argument, execResult]');
  const [pEntry, pArg, pResult] = params;
  assert.equal(pEntry.getEntryName(), 'main');
  assert.deepEqual(pArg, { username: third, password: 'password_for_my_friend' });
  assert.equal(pResult.getReturnedValue().returnedValue, third);
  assert.equal(String(pResult.getExecutedSteps()), '3');
  assert.equal(pResult.getEnvironmentVersion(), info.environmentVersion);

  // Same username again: register fails inside the server code, done(errorString) — still a
  // *successful* call for the client (seed 001: apps encode success/failure in the value).
  const dup = await executeWithCallbacks(Kii.serverCodeEntry('main'), arg);
  assert.ok(dup.ok, `a failure inside the server code must not fail the call, got: ${dup.error}`);
  const dupValue = dup.result.getReturnedValue().returnedValue;
  assert.equal(typeof dupValue, 'string', `the failure callback's errorString is returned, got ${JSON.stringify(dupValue)}`);
  assert.match(dupValue, /USER_ALREADY_EXISTS/, `the error string should name the conflict, got ${dupValue}`);
  assert.notEqual(dupValue, username);
});

// ------------------------------------------------------------------------------------------
// Seed 001: return-value table

const RETURN_TABLE = [
  ['Num', '1', 1],
  ['Str', '"resp"', 'resp'],
  ['Bool', 'true', true],
  ['Obj', '{name:"Kii", zip:"123456"}', { name: 'Kii', zip: '123456' }],
  ['Arr', '["one", "two"]', ['one', 'two']],
];

test('servercode: the seed 001 return-value table, sync return and async done, through the SDK', async () => {
  let source = '';
  for (const [name, literal] of RETURN_TABLE) {
    source += `function sync${name}(params, context) {\n  return ${literal};\n}\n`;
    source += `function async${name}(params, context, done) {\n  done(${literal});\n}\n`;
  }
  // Calibration from the spec (§3.4): one console.log and a return are 2 steps; 3.14 stays a number.
  source += 'function pi(p, c) { console.log("x"); return 3.14; }\n';
  source += 'function echo(params, context) {\n  return params;\n}\n';
  source += 'function nothing(params, context) {\n  var x = 1;\n}\n';
  const versionID = await deploy(source);

  const { Kii } = newClient();
  for (const [name, , expected] of RETURN_TABLE) {
    for (const kind of ['sync', 'async']) {
      const mark = wire.mark();
      const result = await execute(Kii.serverCodeEntry(`${kind}${name}`, versionID), { case: `${kind}${name}` });
      assert.deepEqual(
        result.getReturnedValue(),
        { returnedValue: expected },
        `${kind}${name}: expected {"returnedValue": ${JSON.stringify(expected)}}`,
      );
      const post = wire.last('POST', new RegExp(`/server-code/versions/${versionID}/${kind}${name}$`), mark);
      assert.ok(post, `no POST for ${kind}${name} was recorded`);
      assert.deepEqual(JSON.parse(post.resText), { returnedValue: expected });
      assert.ok(Number(result.getExecutedSteps()) >= 1, `${kind}${name}: at least one step, got ${result.getExecutedSteps()}`);
    }
  }

  const pi = await execute(Kii.serverCodeEntry('pi', versionID), { a: 1 });
  assert.deepEqual(pi.getReturnedValue(), { returnedValue: 3.14 });
  assert.equal(String(pi.getExecutedSteps()), '2', 'console.log + return = 2 steps (spec §3.4 calibration)');

  // params is exactly the JSON object the client sent.
  const arg = { s: 'テキスト', n: 42, f: 1.5, b: false, nil: null, arr: [1, 'two', { three: 3 }], obj: { deep: { x: 'y' } } };
  assert.deepEqual(await returned(Kii.serverCodeEntry('echo', versionID), arg), arg);
  // execute(null) sends {} (2.4.19), and the endpoint sees an empty params object.
  assert.deepEqual(await returned(Kii.serverCodeEntry('echo', versionID), null), {});

  // A sync endpoint that returns nothing: the value is undefined, so returnedValue is absent
  // (JSON.stringify semantics) or null.
  const nothing = (await execute(Kii.serverCodeEntry('nothing', versionID), { a: 1 })).getReturnedValue();
  assert.ok(
    nothing && typeof nothing === 'object' && (nothing.returnedValue === undefined || nothing.returnedValue === null),
    `returning undefined should give {} or {"returnedValue":null}, got ${JSON.stringify(nothing)}`,
  );
});

// ------------------------------------------------------------------------------------------
// Timeout and _timeoutResponse (seed 001 "タイムアウト", seed 003)

test('servercode: an async endpoint that never calls done gets the seed 001 timeout error; the SDK reports it', async () => {
  const source = [
    'function hang(params, context, done) {',
    '  var started = true;',
    '}',
    'function forgotFailure(params, context, done) {',
    '  KiiUser.authenticate("nobody_" + params.n, "wrong-password", {',
    '    success: function (user) { done("unexpected"); }',
    '  });',
    '}',
    '',
  ].join('\n');
  const versionID = await deploy(source);

  // REST: HTTP 400 with exactly the body of seed 001.
  const res = await run(versionID, 'hang', { a: 1 });
  expectStatus(res, 400, 'an endpoint that never calls done');
  assert.deepEqual(res.json, {
    errorCode: 'ENDPOINT_INVOCATION_ERROR',
    message: 'Error found while executing the developer-defined code',
    details: {
      errorCode: 'EXECUTION_TIMEOUT',
      message: 'execution timeout. limit=20000ms',
    },
  });
  const steps = res.headers.get('x-step-count');
  assert.match(String(steps), /^\d+$/, `X-Step-count should be sent on the error too (the SDK reads it), got ${steps}`);

  // The docs' typical cause (seed 003): an SDK call without a failure callback, so done is never
  // called. Seed 003 says this times out on Kii; Kumo answers at once with the failure nobody
  // handled (an uncaught exception naming the SDK's error), since nothing could call done.
  const forgot = await run(versionID, 'forgotFailure', { n: randomHex(4) });
  expectError(forgot, 400, 'ENDPOINT_INVOCATION_ERROR', 'an endpoint whose failure path never calls done');
  assert.equal(forgot.json.details && forgot.json.details.errorCode, 'UNCAUGHT_EXCEPTION', forgot.describe);
  assert.match(forgot.json.details.message, /^Error: .*invalid_grant|^Error: .*(INVALID|WRONG|NOT_FOUND)/i, forgot.describe);

  // SDK, callback form: failure(entry, argument, null, errorString).
  const { Kii, KiiErrorParser } = newClient();
  const entry = Kii.serverCodeEntry('hang', versionID);
  const arg = { a: 1 };
  const r = await executeWithCallbacks(entry, arg);
  assert.equal(r.ok, false, 'a timed-out run reaches the failure callback');
  assert.equal(r.entry, entry);
  assert.equal(r.argument, arg);
  assert.equal(r.result, null, 'the failure callback gets no exec result');
  assert.match(
    r.error,
    /^fail to execute server code\. statusCode: 400 executedSteps: \d+ error code: ENDPOINT_INVOCATION_ERROR message: Error found while executing the developer-defined code detailMessage: execution timeout\. limit=20000ms$/,
  );
  const parsed = KiiErrorParser.parse(r.error);
  assert.equal(parsed.code, 'ENDPOINT_INVOCATION_ERROR', `KiiErrorParser: ${JSON.stringify(parsed)}`);
  assert.equal(parsed.status, 400, `KiiErrorParser: ${JSON.stringify(parsed)}`);

  // Promise form: rejected with an Error carrying the same string, the entry and the argument.
  const rejected = await expectReject(entry.execute(arg), 'a timed-out run');
  assert.equal(rejected.raw, r.error);
  assert.equal(rejected.error.target, entry);
  assert.equal(rejected.error.argument, arg);
});

test('servercode: context._timeoutResponse (and the seed 003 spelling _timeoutReponse) turns the timeout into a 200', async () => {
  const source = [
    'function main(params, context, done) {',
    '    context._timeoutResponse = {customField: "my_custom_message"};',
    '}',
    '// seed 003 verbatim (note the spelling)',
    'function seed003(params, context, done) {',
    '    context._timeoutReponse = {customField: "my_custom_message"};',
    '}',
    'function doneWins(params, context, done) {',
    '    context._timeoutResponse = {customField: "unused"};',
    '    done("finished in time");',
    '}',
    '',
  ].join('\n');
  const versionID = await deploy(source);
  const expected = { returnedValue: { _timeoutResponse: { customField: 'my_custom_message' } } };

  for (const endpoint of ['main', 'seed003']) {
    const res = await run(versionID, endpoint, { a: 1 });
    expectStatus(res, 200, `${endpoint}: a run with a timeout response`);
    assert.deepEqual(res.json, expected, `${endpoint}: seed 001 body`);
  }

  // Through the SDK: read like any other result (seed 001).
  const { Kii } = newClient();
  for (const endpoint of ['main', 'seed003']) {
    const result = await execute(Kii.serverCodeEntry(endpoint, versionID), { a: 1 });
    assert.deepEqual(result.getReturnedValue(), expected);
    assert.equal(result.getReturnedValue().returnedValue._timeoutResponse.customField, 'my_custom_message');
  }

  // A run that calls done in time returns its own value.
  assert.equal(await returned(Kii.serverCodeEntry('doneWins', versionID), { a: 1 }), 'finished in time');
});

// ------------------------------------------------------------------------------------------
// Who runs the code

const IDENTITY_SOURCE = `
function whoami(params, context) {
  return {
    token: context.getAccessToken(),
    appID: context.getAppID(),
    appKey: context.getAppKey(),
    current: KiiUser.getCurrentUser() ? KiiUser.getCurrentUser().getID() : null
  };
}
function saveAsCaller(params, context, done) {
  KiiUser.authenticateWithToken(context.getAccessToken()).then(function (user) {
    var obj = user.bucketWithName(params.bucket).createObject();
    obj.set("note", params.note);
    return obj.save();
  }).then(function (obj) {
    done({ ok: true, uri: obj.objectURI(), current: KiiUser.getCurrentUser().getID() });
  }).catch(function (e) {
    done({ ok: false, error: String(e && e.message) });
  });
}
function saveAnonymously(params, context, done) {
  var obj = Kii.bucketWithName(params.bucket).createObject();
  obj.set("note", params.note);
  obj.save({
    success: function (o) { done("SAVED:" + o.objectURI()); },
    failure: function (o, errorString) { done("FAILED:" + errorString); }
  });
}
function saveAsAdmin(params, context, done) {
  var admin = context.getAppAdminContext();
  var obj = admin.bucketWithName(params.bucket).createObject();
  obj.set("note", params.note);
  obj.save().then(function (o) {
    done({ ok: true, uri: o.objectURI() });
  }, function (e) {
    done({ ok: false, error: String(e && e.message) });
  });
}
`;

test('servercode: context.getAccessToken() is null for an anonymous caller and the user\'s token for a logged-in one', async () => {
  const versionID = await deploy(IDENTITY_SOURCE);

  // Anonymous client: no Authorization, token null, nobody logged in inside.
  const anon = newClient();
  const anonMark = wire.mark();
  const seenAnon = await returned(anon.Kii.serverCodeEntry('whoami', versionID), { a: 1 });
  assert.deepEqual(seenAnon, { token: null, appID: env.appId, appKey: env.appKey, current: null });
  const anonPost = wire.last('POST', RUN_PATH, anonMark);
  assert.equal(anonPost.reqHeaders.authorization, undefined);

  // Logged in with KiiUser.authenticate in the client: the SDK sends the token as Bearer.
  const a = await registerUser({ prefix: 'scwho' });
  const client = newClient();
  const user = await client.KiiUser.authenticate(a.username, a.password);
  const mark = wire.mark();
  const seen = await returned(client.Kii.serverCodeEntry('whoami', versionID), { a: 1 });
  const post = wire.last('POST', RUN_PATH, mark);
  assert.equal(post.reqHeaders.authorization, `Bearer ${user.getAccessToken()}`);
  assert.equal(seen.token, user.getAccessToken(), 'getAccessToken() is the bearer token the client sent');
  assert.equal(seen.appID, env.appId);
  assert.equal(seen.appKey, env.appKey);
  assert.equal(seen.current, null, 'every run starts anonymous, even for a logged-in caller');
});

test('servercode: acting as the caller (authenticateWithToken) writes to the user\'s bucket; a new run starts anonymous again', async () => {
  const versionID = await deploy(IDENTITY_SOURCE);
  const a = await registerUser({ prefix: 'scsave' });
  const bucket = uniqueBucket('scuser');
  const note = `note-${randomHex(4)}`;

  const out = await returned(a.sdk.Kii.serverCodeEntry('saveAsCaller', versionID), { bucket, note });
  assert.equal(out.ok, true, `saving as the caller failed inside server code: ${out.error}`);
  assert.equal(out.current, a.id, 'after authenticateWithToken the current user is the caller');
  assert.match(out.uri, new RegExp(`^kiicloud://users/${escapeRe(a.id)}/buckets/${escapeRe(bucket)}/objects/[^/]+$`));

  // The client reads back what the server code wrote, owned by the user.
  const obj = a.sdk.KiiObject.objectWithURI(out.uri);
  await obj.refresh();
  assert.equal(obj.get('note'), note);

  // State does not leak into the next run.
  const after = await returned(a.sdk.Kii.serverCodeEntry('whoami', versionID), { a: 1 });
  assert.equal(after.current, null, 'the next run must start anonymous again');

  // An anonymous caller has no token to act with: authenticateWithToken(null) fails, reported as a value.
  const anon = newClient();
  const anonOut = await returned(anon.Kii.serverCodeEntry('saveAsCaller', versionID), { bucket, note });
  assert.equal(anonOut.ok, false, `an anonymous caller must not be able to act as a user: ${JSON.stringify(anonOut)}`);
});

test('servercode: anonymous server code cannot write objects; the admin context can, and the admin reads the object', async () => {
  const versionID = await deploy(IDENTITY_SOURCE);
  const { Kii } = newClient();
  const admin = await Kii.authenticateAsAppAdmin(env.clientId, env.clientSecret);

  // An app bucket that does not exist yet, and one that does (created by a user).
  const fresh = uniqueBucket('scanon');
  const existing = uniqueBucket('scanon');
  const u = await registerUser({ prefix: 'scanon' });
  const seedObj = u.sdk.Kii.bucketWithName(existing).createObject();
  seedObj.set('seed', true);
  await seedObj.save();

  for (const bucket of [fresh, existing]) {
    // Anonymous caller.
    const anonValue = await returned(Kii.serverCodeEntry('saveAnonymously', versionID), { bucket, note: 'anon' });
    assert.equal(typeof anonValue, 'string');
    assert.ok(anonValue.startsWith('FAILED:'), `anonymous server code must not save an object in ${bucket}, got ${anonValue}`);
    // A logged-in caller whose code does not log in: still anonymous inside.
    const userValue = await returned(u.sdk.Kii.serverCodeEntry('saveAnonymously', versionID), { bucket, note: 'anon2' });
    assert.ok(userValue.startsWith('FAILED:'), `server code that did not log in is anonymous, got ${userValue}`);
  }
  // Nothing was written: the admin sees only the seed object (and no bucket `fresh`, or an empty one).
  const [, inExisting] = await admin.bucketWithName(existing).executeQuery(null);
  assert.deepEqual(inExisting.map((o) => o.getID()), [seedObj.getID()]);
  try {
    const [, inFresh] = await admin.bucketWithName(fresh).executeQuery(null);
    assert.deepEqual(inFresh, [], 'no object may exist in the bucket anonymous code tried to write');
  } catch (e) {
    assert.equal(parseError(e).code, 'BUCKET_NOT_FOUND', `unexpected error querying ${fresh}: ${e.message}`);
  }

  // Admin context: works for an anonymous caller.
  const bucket = uniqueBucket('scadmin');
  const note = `admin-${randomHex(4)}`;
  const out = await returned(Kii.serverCodeEntry('saveAsAdmin', versionID), { bucket, note });
  assert.equal(out.ok, true, `saving with the admin context failed: ${out.error}`);
  assert.match(out.uri, new RegExp(`^kiicloud://buckets/${escapeRe(bucket)}/objects/[^/]+$`));
  const obj = admin.objectWithURI(out.uri);
  await obj.refresh();
  assert.equal(obj.get('note'), note, 'the admin reads the object the admin context saved');
});

// ------------------------------------------------------------------------------------------
// The tenant boundary: nothing a run hands out opens the app

/** Every string inside a JSON value. */
function stringsIn(value, out = []) {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) stringsIn(v, out);
  return out;
}

test('servercode: an anonymous caller of endpoints that return admin objects cannot reach any admin route', async () => {
  const source = `
function rev(s) { return s.split('').reverse().join(''); }
function retObj(params, context, done) {
  var obj = context.getAppAdminContext().bucketWithName(params.bucket).createObject();
  obj.set('n', 1);
  obj.save().then(function (saved) { done(saved); }, function (e) { done('failed: ' + e.message); });
}
function retCtx(params, context) { return context.getAppAdminContext(); }
function retUser(params, context) { return [context.getAppAdminContext().userWithID('abc')]; }
function retToken(params, context) {
  var t = context.getAppAdminContext()._token;
  return { token: t, reversed: rev(t) };
}
`;
  const versionID = await deploy(source);
  const { Kii } = newClient(); // anonymous
  const bucket = uniqueBucket('scleak');
  const candidates = [];
  for (const endpoint of ['retObj', 'retCtx', 'retUser', 'retToken']) {
    const value = await returned(Kii.serverCodeEntry(endpoint, versionID), { bucket });
    const text = JSON.stringify(value);
    assert.ok(!/"_tok"|"_token"|"_accessToken"/.test(text), `${endpoint} serialised a token field: ${text}`);
    candidates.push(...stringsIn(value));
    if (endpoint === 'retToken') {
      assert.equal(value.token, '***', `the admin token itself is never handed out: ${text}`);
      candidates.push(value.reversed.split('').reverse().join(''));
    }
  }
  // Whatever came out, token-shaped or not, opens no admin route (the management API, another
  // user's data, the bucket the run wrote to).
  const tokenShaped = candidates.filter((c) => /^[A-Za-z0-9_-]{20,}$/.test(c));
  assert.ok(tokenShaped.length >= 1, 'the deliberately handed-out (reversed) token is among the candidates');
  for (const token of tokenShaped) {
    for (const [method, path] of [
      ['GET', '/server-code/versions'],
      ['GET', '/developer-log'],
      ['POST', `/buckets/${bucket}/query`],
    ]) {
      const body = method === 'POST' ? { bucketQuery: { clause: { type: 'all' } } } : undefined;
      const type = method === 'POST' ? 'application/vnd.kii.QueryRequest+json' : undefined;
      const res = await api(method, path, { token, body, type });
      assert.ok(res.status === 401 || res.status === 403, `${token} opened ${method} ${path}\n  ${res.describe}`);
    }
  }
});

// ------------------------------------------------------------------------------------------
// Versions and environments from the SDK

test('servercode: Kii.serverCodeEntry(name, versionID) runs a non-current version; environment-version overrides are echoed', async () => {
  const body = (tag) => `function which(params, context) {\n  return "${tag}";\n}\n`;
  const v1 = await deploy(body('v1'));
  const v2 = await deployMultipart(body('v2'), '16');
  await setCurrent(v2);
  const v1Info = await versionInfo(v1);
  const v2Info = await versionInfo(v2);
  assert.equal(v2Info.environmentVersion, '16', 'the multipart metadata sets the version\'s environment');
  assert.equal(v2Info.current, true);
  assert.equal(v1Info.current, false);
  assert.ok(['0', '6', '16'].includes(v1Info.environmentVersion), `raw deploy environment: ${v1Info.environmentVersion}`);

  const { Kii, KiiServerCodeEnvironmentVersion } = newClient();
  const cases = [
    // [entry, expected value, expected environment, URL suffix]
    [Kii.serverCodeEntry('which'), 'v2', '16', /\/versions\/current\/which$/],
    [Kii.serverCodeEntry('which', v1), 'v1', v1Info.environmentVersion, new RegExp(`/versions/${v1}/which$`)],
    [Kii.serverCodeEntry('which', v2), 'v2', '16', new RegExp(`/versions/${v2}/which$`)],
    [Kii.serverCodeEntryWithVersion('which', v1), 'v1', v1Info.environmentVersion, new RegExp(`/versions/${v1}/which$`)],
    [
      Kii.serverCodeEntry('which', undefined, KiiServerCodeEnvironmentVersion.V0),
      'v2',
      '0',
      /\/versions\/current\/which\?environment-version=0$/,
    ],
    [
      Kii.serverCodeEntry('which', v1, KiiServerCodeEnvironmentVersion.V6),
      'v1',
      '6',
      new RegExp(`/versions/${v1}/which\\?environment-version=6$`),
    ],
    // 2.4.19 has no V16 constant; the value is passed through as given.
    [Kii.serverCodeEntry('which', v1, '16'), 'v1', '16', new RegExp(`/versions/${v1}/which\\?environment-version=16$`)],
  ];
  for (const [entry, value, environment, urlRe] of cases) {
    const mark = wire.mark();
    const result = await execute(entry, { a: 1 });
    const post = wire.last('POST', RUN_PATH, mark);
    assert.ok(post && urlRe.test(wire.path(post)), `expected a POST matching ${urlRe}, got ${post && wire.path(post)}`);
    assert.equal(result.getReturnedValue().returnedValue, value, `${wire.path(post)} returned the wrong version's value`);
    assert.equal(result.getEnvironmentVersion(), environment, `${wire.path(post)}: X-Environment-version`);
  }

  // An environment Kumo does not offer is refused (400), reported through the failure callback.
  const bad = await executeWithCallbacks(Kii.serverCodeEntry('which', v1, '7'), { a: 1 });
  assert.equal(bad.ok, false, 'environment-version=7 must be refused');
  assert.match(bad.error, /^fail to execute server code\. statusCode: 400 /);
});

// ------------------------------------------------------------------------------------------
// Server code calling server code

test('servercode: server code calling Kii.serverCodeEntry(...).execute gets 409 OPERATION_NOT_ALLOWED', async () => {
  const source = `
function inner(params, context) {
  return "inner ran";
}
function outer(params, context, done) {
  Kii.serverCodeEntry("inner").execute({ from: "outer" }, {
    success: function (entry, argument, execResult) {
      done("UNEXPECTED SUCCESS: " + JSON.stringify(execResult.getReturnedValue()));
    },
    failure: function (entry, argument, execResult, errorString) {
      done(errorString);
    }
  });
}
function outerPromise(params, context, done) {
  Kii.serverCodeEntry("inner", params.version).execute({ from: "outerPromise" }).then(function () {
    done("UNEXPECTED SUCCESS");
  }, function (e) {
    done(e.message);
  });
}
`;
  const versionID = await deploy(source);
  await setCurrent(versionID);

  const { Kii } = newClient();
  // The inner endpoint itself runs fine from a client.
  assert.equal(await returned(Kii.serverCodeEntry('inner'), { a: 1 }), 'inner ran');

  const viaCallbacks = await returned(Kii.serverCodeEntry('outer'), { a: 1 });
  assert.equal(typeof viaCallbacks, 'string');
  assert.match(viaCallbacks, /OPERATION_NOT_ALLOWED/, `expected the 409 error string, got ${viaCallbacks}`);
  assert.match(viaCallbacks, /statusCode: 409/, `expected the 409 error string, got ${viaCallbacks}`);
  assert.match(viaCallbacks, /^fail to execute server code\. /, '2.4.19\'s error string format');

  // Also when addressed by version ID, and for a logged-in caller.
  const a = await registerUser({ prefix: 'scnest' });
  const viaPromise = await returned(a.sdk.Kii.serverCodeEntry('outerPromise', versionID), { version: versionID });
  assert.match(viaPromise, /statusCode: 409 .*OPERATION_NOT_ALLOWED/, `expected the 409 error string, got ${viaPromise}`);
});

// ------------------------------------------------------------------------------------------
// Management over REST

test('servercode REST: deploy answers 201 with versionID and Location; list, byte-exact download (BOM, CRLF, non-ASCII), multipart environment', async () => {
  const source =
    '\uFEFF// Kumo e2e: a BOM, 日本語のコメント, emoji 🌸, tab\there\r\n' +
    'function hello(params, context) {\r\n' +
    '  return "こんにちは🌸 " + params.name;\r\n' +
    '}\n' +
    'function lines(params, context) { return "a\\r\\nb"; }   \n' +
    '/* trailing text without a final newline */';
  const before = Date.now();
  const res = await api('POST', '/server-code', { token: 'admin', body: source, type: 'application/javascript' });
  expectStatus(res, 201, 'deploying');
  const versionID = res.json.versionID;
  assert.match(versionID, /^[a-z0-9]{25}$/, `versionIDs look like Kii's (25 lower-case alphanumerics), got ${versionID}`);
  assert.match(res.headers.get('content-type') || '', /^application\/vnd\.kii\.ServerCodeDeploymentResponse\+json/);
  assert.match(res.headers.get('location') || '', new RegExp(`/apps/${escapeRe(env.appId)}/server-code/versions/${versionID}$`));

  // Download is byte-exact.
  const down = await api('GET', `/server-code/versions/${versionID}`, { token: 'admin' });
  expectStatus(down, 200, 'downloading');
  assert.ok(down.bytes.equals(Buffer.from(source, 'utf8')), `download differs from the upload:\n${JSON.stringify(down.text)}\nvs\n${JSON.stringify(source)}`);

  // The code runs, non-ASCII intact.
  const { Kii } = newClient();
  assert.equal(await returned(Kii.serverCodeEntry('hello', versionID), { name: 'Kumo' }), 'こんにちは🌸 Kumo');
  assert.equal(await returned(Kii.serverCodeEntry('lines', versionID), { a: 1 }), 'a\r\nb');

  // Listed with its times, environment and current flag.
  const info = await versionInfo(versionID);
  assert.equal(typeof info.createdAt, 'number');
  assert.equal(typeof info.modifiedAt, 'number');
  assert.ok(info.createdAt >= before - 60e3 && info.createdAt <= Date.now() + 60e3, `createdAt ${info.createdAt} is not near now`);
  assert.ok(info.modifiedAt >= info.createdAt);
  assert.equal(info.current, false, 'deploying does not make a version current');
  assert.ok(['0', '6', '16'].includes(info.environmentVersion), `environmentVersion: ${JSON.stringify(info.environmentVersion)}`);

  // Multipart deploy with each environment.
  for (const ev of ['0', '6', '16']) {
    const id = await deployMultipart(`function ev(p, c) { return "${ev}"; }\n`, ev);
    assert.equal((await versionInfo(id)).environmentVersion, ev);
    const src = await api('GET', `/server-code/versions/${id}`, { token: 'admin' });
    assert.equal(src.text, `function ev(p, c) { return "${ev}"; }\n`);
    const result = await execute(Kii.serverCodeEntry('ev', id), { a: 1 });
    assert.equal(result.getReturnedValue().returnedValue, ev);
    assert.equal(result.getEnvironmentVersion(), ev, 'a run uses the version\'s environment');
  }
  // An environment Kumo does not offer is refused at deploy.
  const form = new FormData();
  form.append('metadata', new Blob([JSON.stringify({ environmentVersion: '5' })], { type: 'application/json' }));
  form.append('server-code', new Blob(['function f(p, c) { return 1; }'], { type: 'application/javascript' }), 'f.js');
  const badEnv = await api('POST', '/server-code', { token: 'admin', body: form });
  expectStatus(badEnv, 400, 'deploying with environmentVersion 5');

  // Versions of the app, all well-formed.
  for (const v of await listVersions()) {
    assert.equal(typeof v.versionID, 'string');
    assert.equal(typeof v.current, 'boolean', `current must be a boolean: ${JSON.stringify(v)}`);
  }
});

test('servercode REST: the current pointer — set, get, switch, clear; no current version gives 404 SERVER_CODE_VERSION_NOT_FOUND', async () => {
  const a = await deploy('function which(p, c) { return "a"; }\n');
  const b = await deploy('function which(p, c) { return "b"; }\n');
  const { Kii, KiiErrorParser } = newClient();

  await setCurrent(a);
  let cur = await api('GET', '/server-code/versions/current', { token: 'admin' });
  expectStatus(cur, 200, 'GET current');
  assert.equal(cur.text.trim(), a);
  assert.equal(await returned(Kii.serverCodeEntry('which'), { x: 1 }), 'a');

  await setCurrent(b);
  cur = await api('GET', '/server-code/versions/current', { token: 'admin' });
  assert.equal(cur.text.trim(), b);
  const list = await listVersions();
  assert.deepEqual(list.filter((v) => v.current).map((v) => v.versionID), [b], 'exactly one version is current');
  assert.equal(await returned(Kii.serverCodeEntry('which'), { x: 1 }), 'b', 'current switches at once');

  // An unknown version cannot be made current; the pointer stays.
  const unknown = await api('PUT', '/server-code/versions/current', { token: 'admin', body: 'abcdefghijklmnopqrstuvwxy', type: 'text/plain' });
  expectError(unknown, 404, 'SERVER_CODE_VERSION_NOT_FOUND', 'making an unknown version current');
  assert.equal((await api('GET', '/server-code/versions/current', { token: 'admin' })).text.trim(), b);

  // Clear.
  const del = await api('DELETE', '/server-code/versions/current', { token: 'admin' });
  expectStatus(del, 204, 'DELETE current');
  cur = await api('GET', '/server-code/versions/current', { token: 'admin' });
  expectError(cur, 404, 'SERVER_CODE_VERSION_NOT_FOUND', 'GET current with none current');
  assert.equal((await listVersions()).filter((v) => v.current).length, 0, 'no version is listed as current');

  // Running "current" now fails with 404; explicit versions still run.
  const restRun = await run('current', 'which', { x: 1 });
  expectError(restRun, 404, 'SERVER_CODE_VERSION_NOT_FOUND', 'running current with none current');
  assert.equal(restRun.headers.get('x-step-count'), null, 'no code ran: no X-Step-count (the SDK then shows executedSteps: null)');
  const sdkRun = await executeWithCallbacks(Kii.serverCodeEntry('which'), { x: 1 });
  assert.equal(sdkRun.ok, false);
  assert.match(sdkRun.error, /^fail to execute server code\. statusCode: 404 executedSteps: null error code: SERVER_CODE_VERSION_NOT_FOUND message: /);
  const parsed = KiiErrorParser.parse(sdkRun.error);
  assert.equal(parsed.code, 'SERVER_CODE_VERSION_NOT_FOUND', `KiiErrorParser: ${JSON.stringify(parsed)}`);
  assert.equal(parsed.status, 404, `KiiErrorParser: ${JSON.stringify(parsed)}`);
  assert.equal(await returned(Kii.serverCodeEntry('which', a), { x: 1 }), 'a');
});

test('servercode REST: deleting a version — 204, then 404 for download, run and a second delete; gone from the list', async () => {
  const keep = await deploy('function f(p, c) { return "keep"; }\n');
  const gone = await deploy('function f(p, c) { return "gone"; }\n');
  await setCurrent(keep);
  const { Kii } = newClient();
  assert.equal(await returned(Kii.serverCodeEntry('f', gone), { a: 1 }), 'gone');

  const del = await api('DELETE', `/server-code/versions/${gone}`, { token: 'admin' });
  expectStatus(del, 204, 'deleting a version');
  expectError(await api('GET', `/server-code/versions/${gone}`, { token: 'admin' }), 404, 'SERVER_CODE_VERSION_NOT_FOUND', 'downloading a deleted version');
  expectError(await api('DELETE', `/server-code/versions/${gone}`, { token: 'admin' }), 404, 'SERVER_CODE_VERSION_NOT_FOUND', 'deleting twice');
  expectError(await run(gone, 'f', { a: 1 }), 404, 'SERVER_CODE_VERSION_NOT_FOUND', 'running a deleted version');
  const sdkRun = await executeWithCallbacks(Kii.serverCodeEntry('f', gone), { a: 1 });
  assert.equal(sdkRun.ok, false);
  assert.match(sdkRun.error, /statusCode: 404 .*SERVER_CODE_VERSION_NOT_FOUND/);
  const ids = (await listVersions()).map((v) => v.versionID);
  assert.ok(!ids.includes(gone), 'a deleted version is not listed');
  assert.ok(ids.includes(keep));

  // The other version and the current pointer are untouched.
  assert.equal(await returned(Kii.serverCodeEntry('f'), { a: 1 }), 'keep');

  // Unknown IDs.
  expectError(await api('GET', '/server-code/versions/nosuchversion000000000000', { token: 'admin' }), 404, 'SERVER_CODE_VERSION_NOT_FOUND', 'downloading an unknown version');
  expectError(await run('nosuchversion000000000000', 'f', { a: 1 }), 404, 'SERVER_CODE_VERSION_NOT_FOUND', 'running an unknown version');
});

test('servercode REST: management needs an app-admin token (401 UNAUTHORIZED for users and anonymous callers)', async () => {
  const u = await registerUser({ prefix: 'scnoadm' });
  const existing = await deploy('function f(p, c) { return 1; }\n');
  const countBefore = (await listVersions()).length;

  const callers = [
    ['a user token', u.token, u.id],
    ['no token', undefined, null],
  ];
  for (const [who, token] of callers) {
    const dep = await api('POST', '/server-code', { token, body: 'function f(p, c) { return 2; }', type: 'application/javascript' });
    expectError(dep, 401, 'UNAUTHORIZED', `deploy with ${who}`);
    assert.equal(dep.json.authenticatedAppID, env.appId, `authenticatedAppID\n  ${dep.describe}`);
    assert.ok('authenticatedPrincipalID' in dep.json, `401 body has authenticatedPrincipalID\n  ${dep.describe}`);

    expectError(await api('GET', '/server-code/versions', { token }), 401, 'UNAUTHORIZED', `list with ${who}`);
    expectError(await api('GET', `/server-code/versions/${existing}`, { token }), 401, 'UNAUTHORIZED', `download with ${who}`);
    expectError(await api('DELETE', `/server-code/versions/${existing}`, { token }), 401, 'UNAUTHORIZED', `delete with ${who}`);
    expectError(await api('GET', '/server-code/versions/current', { token }), 401, 'UNAUTHORIZED', `GET current with ${who}`);
    expectError(
      await api('PUT', '/server-code/versions/current', { token, body: existing, type: 'text/plain' }),
      401,
      'UNAUTHORIZED',
      `PUT current with ${who}`,
    );
    expectError(await api('DELETE', '/server-code/versions/current', { token }), 401, 'UNAUTHORIZED', `DELETE current with ${who}`);
    expectError(await api('GET', '/developer-log', { token }), 401, 'UNAUTHORIZED', `developer log with ${who}`);
  }
  const userDep = await api('POST', '/server-code', { token: u.token, body: 'function f(p, c) { return 2; }', type: 'application/javascript' });
  assert.equal(userDep.json.authenticatedPrincipalID, u.id, `a user's 401 names the user\n  ${userDep.describe}`);

  assert.equal((await listVersions()).length, countBefore, 'nothing was deployed');
  expectStatus(await api('GET', `/server-code/versions/${existing}`, { token: 'admin' }), 200, 'the version survived');
});

test('servercode REST: forbidden constructs and syntax errors are refused with SERVER_CODE_VERIFICATION_ERROR, line and column', async () => {
  // [what, source, line, column] — lines and columns 1-based, pointing at the offending token.
  const cases = [
    ['eval', 'function f(p, c) {\n  return eval("1");\n}\n', 2, 10],
    ['setTimeout', 'function f(p, c, done) {\n  setTimeout(function () { done(1); }, 10);\n}\n', 2, 3],
    ['setInterval', 'function f(p, c) {\n    var x = setInterval;\n}\n', 2, 13],
    ['new Array', 'function f(p, c) {\n  var a = new Array(3);\n  return a;\n}\n', 2, 11],
    ['Array()', 'function f(p, c) {\n  return Array(3);\n}\n', 2, 10],
    ['__kii_ variable', 'var __kii_x = 1;\nfunction f(p, c) { return 1; }\n', 1, 5],
    ['__kii_ function', 'function f(p, c) { return 1; }\nfunction __kii_helper() {}\n', 2, 10],
    ['__filename', 'function f(p, c) {\n  return __filename;\n}\n', 2, 10],
    ['__dirname', 'function f(p, c) {\n  return __dirname;\n}\n', 2, 10],
    ['syntax error', 'function f(p, c) {\n  return 1 +;\n}\n', 2, 13],
  ];
  const countBefore = (await listVersions()).length;
  for (const [what, source, line, column] of cases) {
    const res = await api('POST', '/server-code', { token: 'admin', body: source, type: 'application/javascript' });
    expectError(res, 400, 'SERVER_CODE_VERIFICATION_ERROR', `deploying code with ${what}`);
    assert.equal(res.json.line, line, `${what}: line\n  ${res.describe}`);
    assert.equal(res.json.column, column, `${what}: column\n  ${res.describe}`);
  }
  assert.equal((await listVersions()).length, countBefore, 'refused code creates no version');

  // The same words where they are harmless are fine.
  const ok = await deploy(
    'function f(p, c) {\n  var o = { eval: 1, setTimeout: 2 };\n  return ["eval setTimeout new Array __kii_x __filename", o.eval, o.setTimeout];\n}\n',
  );
  const { Kii } = newClient();
  assert.deepEqual(await returned(Kii.serverCodeEntry('f', ok), { a: 1 }), ['eval setTimeout new Array __kii_x __filename', 1, 2]);

  // An empty upload is not a version either.
  const empty = await api('POST', '/server-code', { token: 'admin', body: '', type: 'application/javascript' });
  expectStatus(empty, 400, 'deploying an empty file');
});

test('servercode REST: run failures — unknown endpoint, exceptions, step limit, bad bodies, bad endpoint names, bad environment-version', async () => {
  const source = [
    'function ok(params, context) {',
    '  return params;',
    '}',
    'function boom(params, context) {',
    '  throw new Error("boom " + params.tag);',
    '}',
    'function asyncBoom(params, context, done) {',
    '  KiiUser.authenticate("nobody_" + params.tag, "wrong-password").then(function () {',
    '    done("unexpected");',
    '  }, function () {',
    '    null.crash;',
    '  });',
    '}',
    'function spin(params, context) {',
    '  var i = 0;',
    '  while (true) {',
    '    i++;',
    '  }',
    '}',
    '',
  ].join('\n');
  const versionID = await deploy(source);
  const tag = randomHex(4);

  // Unknown endpoint: 400 ENDPOINT_INVOCATION_ERROR, details.errorCode ENDPOINT_NOT_FOUND.
  const missing = await run(versionID, 'noSuchEndpoint', { a: 1 });
  expectError(missing, 400, 'ENDPOINT_INVOCATION_ERROR', 'an unknown endpoint');
  assert.equal(missing.json.details && missing.json.details.errorCode, 'ENDPOINT_NOT_FOUND', missing.describe);
  assert.equal(typeof missing.json.details.message, 'string');

  // A thrown exception.
  const thrown = await run(versionID, 'boom', { tag });
  expectError(thrown, 400, 'ENDPOINT_INVOCATION_ERROR', 'a throwing endpoint');
  assert.equal(thrown.json.message, INVOCATION_ERROR_MESSAGE);
  assert.equal(thrown.json.details.errorCode, 'UNCAUGHT_EXCEPTION', thrown.describe);
  assert.match(thrown.json.details.message, new RegExp(`boom ${tag}`));
  assert.match(String(thrown.headers.get('x-step-count')), /^\d+$/);

  // An exception in a promise callback is a rejection nobody handles: done() can never be
  // called, so the run ends with that exception (Kii would wait for its timeout).
  const asyncThrown = await run(versionID, 'asyncBoom', { tag });
  expectError(asyncThrown, 400, 'ENDPOINT_INVOCATION_ERROR', 'an exception in a callback');
  assert.equal(asyncThrown.json.details.errorCode, 'UNCAUGHT_EXCEPTION', asyncThrown.describe);
  assert.match(asyncThrown.json.details.message, /^TypeError: cannot read property .crash. of null/, asyncThrown.describe);

  // The step limit (default 1000).
  const spin = await run(versionID, 'spin', { a: 1 });
  expectError(spin, 400, 'ENDPOINT_INVOCATION_ERROR', 'an endless loop');
  assert.equal(spin.json.details.errorCode, 'STEP_LIMIT_EXCEEDED', spin.describe);
  assert.equal(spin.headers.get('x-step-count'), '1000', spin.describe);

  // The same failures through the SDK: 2.4.19's string with the details message.
  const { Kii, KiiErrorParser } = newClient();
  const sdkBoom = await executeWithCallbacks(Kii.serverCodeEntry('boom', versionID), { tag });
  assert.equal(sdkBoom.ok, false);
  assert.match(
    sdkBoom.error,
    new RegExp(`^fail to execute server code\\. statusCode: 400 executedSteps: \\d+ error code: ENDPOINT_INVOCATION_ERROR message: ${escapeRe(INVOCATION_ERROR_MESSAGE)} detailMessage: .*boom ${tag}`),
  );
  // Note: details.message carries a multi-line stack trace here, so 2.4.19's KiiErrorParser
  // (whose server-code pattern ends in `(.*)$` without the m flag) cannot parse the string and
  // answers {status: -1, code: null}. Only the first line is checked with the parser.
  const firstLine = KiiErrorParser.parse(sdkBoom.error.split('\n')[0]);
  assert.equal(firstLine.code, 'ENDPOINT_INVOCATION_ERROR', JSON.stringify(firstLine));
  assert.equal(firstLine.status, 400, JSON.stringify(firstLine));
  const sdkMissing = await executeWithCallbacks(Kii.serverCodeEntry('noSuchEndpoint', versionID), { a: 1 });
  assert.equal(sdkMissing.ok, false);
  assert.match(sdkMissing.error, /statusCode: 400 .*error code: ENDPOINT_INVOCATION_ERROR/);

  // Bodies: must be a JSON object; an empty body counts as {}.
  for (const body of ['[1, 2]', '"text"', '3', 'null', 'true']) {
    const res = await run(versionID, 'ok', body);
    expectStatus(res, 400, `a ${body} body`);
    assert.equal(typeof res.json.errorCode, 'string', res.describe);
  }
  expectError(await run(versionID, 'ok', '{"broken'), 400, 'INVALID_JSON', 'a malformed JSON body');
  const emptyBody = await run(versionID, 'ok', '');
  expectStatus(emptyBody, 200, 'an empty body');
  assert.deepEqual(emptyBody.json, { returnedValue: {} });
  const emptyObject = await run(versionID, 'ok', '{}');
  assert.deepEqual(emptyObject.json, { returnedValue: {} });

  // Endpoint names outside ^[a-zA-Z][_a-zA-Z0-9]*$.
  for (const name of ['_private', '1st', 'has-dash']) {
    expectError(await run(versionID, name, { a: 1 }), 400, 'INVALID_INPUT_DATA', `endpoint name ${name}`);
  }

  // environment-version must be one Kumo offers.
  for (const ev of ['7', 'abc', '']) {
    const res = await run(versionID, 'ok', { a: 1 }, { query: `?environment-version=${ev}` });
    expectStatus(res, 400, `environment-version=${ev}`);
  }
  for (const ev of ['0', '6', '16']) {
    const res = await run(versionID, 'ok', { a: 1 }, { query: `?environment-version=${ev}` });
    expectStatus(res, 200, `environment-version=${ev}`);
    assert.equal(res.headers.get('x-environment-version'), ev);
  }
});

// ------------------------------------------------------------------------------------------
// Developer log

test('servercode devlog: a run writes servercode.invoke (DEBUG); console output is servercode.log; a second done() is a WARN', async () => {
  const marker = `marker-${randomHex(6)}`;
  const endpoint = `logs_${randomHex(4)}`; // servercode.log records name their endpoint: this run's only
  const source = [
    `function ${endpoint}(params, context, done) {`,
    '  console.log("hello", params.marker, {a: 1});',
    '  console.error("failed", params.marker);',
    '  done("first");',
    '  done("second");',
    '}',
    '',
  ].join('\n');
  const since = Date.now() - 2000;
  const versionID = await deploy(source);

  // Deploy record.
  const deployed = await waitForLog({ since: String(since) }, (rs) =>
    rs.filter((r) => r.key === 'servercode.file.deploy' && r.versionID === versionID),
  );
  assert.equal(deployed.length, 1, 'one servercode.file.deploy record for the deploy');
  assert.equal(deployed[0].level, 'INFO');

  // A logged-in caller runs it through the SDK.
  const a = await registerUser({ prefix: 'sclog' });
  const arg = { marker, n: 1 };
  const result = await execute(a.sdk.Kii.serverCodeEntry(endpoint, versionID), arg);
  assert.deepEqual(result.getReturnedValue(), { returnedValue: 'first' }, 'the first done() wins');

  const invokes = await waitForLog({ since: String(since) }, (rs) =>
    rs.filter((r) => r.key === 'servercode.invoke' && r.versionID === versionID),
  );
  assert.equal(invokes.length, 1, 'one servercode.invoke record per run');
  const inv = invokes[0];
  assert.equal(inv.level, 'DEBUG');
  assert.equal(inv.endpoint, endpoint);
  assert.equal(typeof inv.description, 'string');
  assert.deepEqual(JSON.parse(inv.args), arg, `args is the JSON the client sent, got ${inv.args}`);
  assert.equal(String(inv.responseStep), String(result.getExecutedSteps()), 'responseStep = X-Step-count');
  assert.equal(String(inv.environmentVersion), result.getEnvironmentVersion());
  assert.match(inv.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `time is ISO-8601 UTC with ms, got ${inv.time}`);
  assert.ok(Math.abs(Date.parse(inv.time) - Date.now()) < 60e3, `time ${inv.time} is not near now`);

  // console output and the duplicate-done warning (the endpoint name is unique to this test).
  const ofThisRun = (r) => r.key === 'servercode.log' && r['entry-name'] === endpoint;
  const logs = await waitForLog({ since: String(since) }, (rs) => {
    const mine = rs.filter((r) => r.key === 'servercode.log' && String(r.description).includes(marker));
    const warn = rs.filter((r) => ofThisRun(r) && r.level === 'WARN');
    return mine.length >= 2 && warn.length >= 1 ? rs.filter(ofThisRun) : [];
  });
  const hello = logs.find((r) => String(r.description).includes('hello') && String(r.description).includes(marker));
  assert.ok(hello, `no servercode.log record for console.log (records: ${JSON.stringify(logs)})`);
  assert.equal(hello['entry-name'], endpoint, 'servercode.log names the endpoint (entry-name)');
  assert.match(hello.description, new RegExp(`^hello ${marker} `), `console.log joins its arguments, got ${hello.description}`);
  const failed = logs.find((r) => String(r.description).includes('failed') && String(r.description).includes(marker));
  assert.ok(failed, 'no servercode.log record for console.error');
  assert.equal(failed.level, 'ERROR', 'console.error is logged at ERROR');
  const warns = logs.filter((r) => r.level === 'WARN');
  assert.equal(warns.length, 1, `one WARN for the one extra done() call, got ${JSON.stringify(warns)}`);
  assert.match(String(warns[0].description), /done/);

  // Level filter: WARN keeps WARN and ERROR, drops DEBUG and INFO.
  const warnUp = await devLog({ since: String(since), level: 'WARN' });
  assert.ok(warnUp.length > 0);
  for (const r of warnUp) assert.ok(['WARN', 'ERROR'].includes(r.level), `level=WARN returned a ${r.level} record`);
  assert.ok(warnUp.some((r) => r._id === warns[0]._id), 'the WARN record is kept by level=WARN');
  assert.ok(warnUp.some((r) => r._id === failed._id), 'the ERROR record is kept by level=WARN');
  assert.ok(!warnUp.some((r) => r.key === 'servercode.invoke'), 'DEBUG records are dropped by level=WARN');
  const errorsOnly = await devLog({ since: String(since), level: 'ERROR' });
  for (const r of errorsOnly) assert.equal(r.level, 'ERROR');
  assert.ok(errorsOnly.some((r) => r._id === failed._id));
  const infoUp = await devLog({ since: String(since), level: 'INFO' });
  assert.ok(!infoUp.some((r) => r.level === 'DEBUG'), 'level=INFO drops DEBUG');
  assert.ok(infoUp.some((r) => r.key === 'servercode.file.deploy' && r.versionID === versionID));
  const bad = await api('GET', '/developer-log?level=LOUD', { token: 'admin' });
  expectStatus(bad, 400, 'an unknown level');

  // userID filter: the logged-in caller's run.
  const byUser = await devLog({ since: String(since), userID: a.id });
  assert.ok(byUser.some((r) => r._id === inv._id), 'the invoke record is found by the caller\'s userID');
  const byOther = await devLog({ since: String(since), userID: 'nosuchuser' });
  assert.ok(!byOther.some((r) => r._id === inv._id), 'another userID does not find it');

  // until / limit.
  const until = await devLog({ since: String(since), until: String(since + 1) });
  assert.ok(!until.some((r) => r._id === inv._id), 'until before the run excludes it');
  const limited = await devLog({ since: String(since), limit: '1' });
  assert.equal(limited.length, 1, 'limit=1 returns one record');

  // Deleting the version is logged too.
  expectStatus(await api('DELETE', `/server-code/versions/${versionID}`, { token: 'admin' }), 204, 'deleting');
  const deleted = await waitForLog({ since: String(since) }, (rs) =>
    rs.filter((r) => r.key === 'servercode.delete' && r.versionID === versionID),
  );
  assert.equal(deleted.length, 1, 'one servercode.delete record');
});

test('servercode devlog: an anonymous run is logged without a user; a failed run is logged with its steps', async () => {
  const since = Date.now() - 2000;
  const versionID = await deploy('function f(params, context) {\n  var x = params.n;\n  return x * 2;\n}\nfunction bad(p, c) {\n  throw new Error("nope");\n}\n');
  const { Kii } = newClient();
  const result = await execute(Kii.serverCodeEntry('f', versionID), { n: 21 });
  assert.equal(result.getReturnedValue().returnedValue, 42);
  const failed = await run(versionID, 'bad', { n: 1 });
  expectStatus(failed, 400, 'a throwing endpoint');

  const invokes = await waitForLog({ since: String(since) }, (rs) => {
    const mine = rs.filter((r) => r.key === 'servercode.invoke' && r.versionID === versionID);
    return mine.length >= 2 ? mine : [];
  });
  assert.equal(invokes.length, 2, `one record per run, got ${JSON.stringify(invokes)}`);
  const ok = invokes.find((r) => r.endpoint === 'f');
  assert.ok(ok);
  assert.equal(ok.userID, undefined, 'an anonymous run has no userID');
  assert.deepEqual(JSON.parse(ok.args), { n: 21 });
  assert.equal(String(ok.responseStep), String(result.getExecutedSteps()));
  const bad = invokes.find((r) => r.endpoint === 'bad');
  assert.ok(bad, 'a failed run is logged as well');
  assert.equal(String(bad.responseStep), failed.headers.get('x-step-count'));
});

// ------------------------------------------------------------------------------------------
// Server hooks (docs/hooks.md): every trigger a client app can cause through the SDK runs its
// endpoint once, with Kii's params and the acting user's token.

/** Every hook endpoint records what it saw into the app bucket `hooklog`. */
const HOOK_RECORDER = `
function record(when, params, context, done) {
  var token = context.getAccessToken();
  var save = function (userID) {
    var o = context.getAppAdminContext().bucketWithName('hooklog').createObject();
    o.set('when', when);
    o.set('params', params);
    o.set('actingUser', userID);
    o.save().then(function () { done('recorded'); }, function (e) { done('failed: ' + e.message); });
  };
  if (token === null) { save(null); return; }
  KiiUser.authenticateWithToken(token).then(function (u) { save(u.getID()); },
    function (e) { save('bad token: ' + e.message); });
}
`;

/** Deploys `source` with `hooks` and makes it current; resolves with the versionID. */
async function deployWithHooks(source, hooks) {
  const versionID = await deploy(source);
  const put = await api('PUT', `/hooks/versions/${versionID}`, {
    token: 'admin',
    body: JSON.stringify(hooks),
    type: 'application/vnd.kii.HooksDeploymentRequest+json',
  });
  assert.ok(put.status >= 200 && put.status < 300, `attaching the hook config\n  ${put.describe}`);
  await setCurrent(versionID);
  return versionID;
}

/** Every record in `hooklog` (admin query). */
async function hookRecords() {
  const res = await api('POST', '/buckets/hooklog/query', {
    token: 'admin',
    body: { bucketQuery: { clause: { type: 'all' } }, bestEffortLimit: 1000 },
  });
  if (res.status === 404) return [];
  expectStatus(res, 200, 'querying hooklog');
  return res.json.results;
}

test('hooks: every user, group and object trigger fires once per SDK change, with Kii params and the acting user', async () => {
  const tag = randomHex(3);
  const appBucket = `hk_items_${tag}`;
  const userBucket = `hk_diary_${tag}`;
  const groupBucket = `hk_board_${tag}`;
  const triggers = {
    'kiicloud://users': ['USER_CREATED', 'USER_UPDATED', 'USER_PASSWORD_CHANGED', 'USER_DELETED'],
    'kiicloud://groups': ['GROUP_CREATED', 'GROUP_MEMBERS_ADDED', 'GROUP_MEMBERS_REMOVED', 'GROUP_DELETED'],
    [`kiicloud://buckets/${appBucket}`]: ['DATA_OBJECT_CREATED', 'DATA_OBJECT_UPDATED', 'DATA_OBJECT_DELETED'],
    [`kiicloud://users/*/buckets/${userBucket}`]: ['DATA_OBJECT_CREATED', 'DATA_OBJECT_UPDATED', 'DATA_OBJECT_DELETED'],
    [`kiicloud://groups/*/buckets/${groupBucket}`]: ['DATA_OBJECT_CREATED', 'DATA_OBJECT_UPDATED', 'DATA_OBJECT_DELETED'],
  };
  let source = HOOK_RECORDER;
  const hooks = {};
  Object.entries(triggers).forEach(([path, whens], i) => {
    hooks[path] = whens.map((when) => {
      const endpoint = `on${i}_${when}`;
      source += `function ${endpoint}(params, context, done) { record('${i}:${when}', params, context, done); }\n`;
      return { when, what: 'EXECUTE_SERVER_CODE', endpoint };
    });
  });
  await deployWithHooks(source, hooks);
  try {
    // Users: a sign-up, a profile save, a password change; the user deletes itself at the end.
    const a = await registerUser({ prefix: 'hooka' });
    const b = await registerUser({ prefix: 'hookb' });
    a.user.set('nickname', 'ace');
    await a.user.save();
    // Groups: created by a; b added, then removed; deleted.
    const group = a.sdk.Kii.groupWithName(`hooks_${tag}`);
    await group.save();
    group.addUser(a.sdk.KiiUser.userWithID(b.id));
    await group.save();
    group.removeUser(a.sdk.KiiUser.userWithID(b.id));
    await group.save();
    // Objects in each scope: create, update, delete.
    const objectIDs = {};
    for (const [scope, bucket] of [
      ['app', a.sdk.Kii.bucketWithName(appBucket)],
      ['user', a.user.bucketWithName(userBucket)],
      ['group', group.bucketWithName(groupBucket)],
    ]) {
      const obj = bucket.createObject();
      obj.set('v', 1);
      await obj.save();
      obj.set('v', 2);
      await obj.save();
      await obj.delete();
      objectIDs[scope] = obj.getID();
    }
    await group.delete();
    // The password change revokes a's tokens: a signs in again to delete itself.
    await a.user.updatePassword(a.password, 'secret456');
    const again = await a.sdk.KiiUser.authenticate(a.user.getUsername(), 'secret456');
    await again.delete();

    const mine = (records) =>
      records.filter((r) => {
        const p = r.params || {};
        return [a.id, b.id].includes(p.userID) || p.groupID === group.getID() || Object.values(objectIDs).includes(p.objectID);
      });
    const expected = 4 + 1 + 4 + 9; // a's four user triggers, b's sign-up, four group, nine object
    const deadline = Date.now() + 20000;
    let records = [];
    while (Date.now() < deadline) {
      records = mine(await hookRecords());
      if (records.length >= expected) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 800)); // room for a duplicate to show up
    records = mine(await hookRecords());
    const count = (when, pred = () => true) => records.filter((r) => r.when === when && pred(r)).length;
    const one = (when, pred = () => true) => {
      const found = records.filter((r) => r.when === when && pred(r));
      assert.equal(found.length, 1, `${when}: ${JSON.stringify(found)} of ${JSON.stringify(records.map((r) => r.when))}`);
      return found[0];
    };
    assert.equal(records.length, expected, JSON.stringify(records.map((r) => r.when)));

    const created = one('0:USER_CREATED', (r) => r.params.userID === a.id);
    assert.deepEqual(created.params, { userID: a.id, uri: `kiicloud://users/${a.id}` });
    assert.equal(created.actingUser, null, 'a sign-up is anonymous');
    assert.equal(count('0:USER_CREATED', (r) => r.params.userID === b.id), 1);
    assert.equal(one('0:USER_UPDATED').actingUser, a.id);
    assert.equal(one('0:USER_PASSWORD_CHANGED').params.userID, a.id);
    assert.equal(one('0:USER_DELETED').params.userID, a.id);

    const g = one('1:GROUP_CREATED');
    assert.deepEqual(g.params, { groupID: group.getID(), uri: `kiicloud://groups/${group.getID()}` });
    assert.equal(g.actingUser, a.id);
    assert.deepEqual(one('1:GROUP_MEMBERS_ADDED').params.members, [b.id]);
    assert.deepEqual(one('1:GROUP_MEMBERS_REMOVED').params.members, [b.id]);
    one('1:GROUP_DELETED');

    for (const when of ['DATA_OBJECT_CREATED', 'DATA_OBJECT_UPDATED', 'DATA_OBJECT_DELETED']) {
      const app = one(`2:${when}`);
      assert.deepEqual(app.params, {
        objectScope: { appID: env.appId },
        bucketID: appBucket,
        objectID: objectIDs.app,
        uri: `kiicloud://buckets/${appBucket}/objects/${objectIDs.app}`,
      });
      assert.equal(app.actingUser, a.id);
      const user = one(`3:${when}`);
      assert.deepEqual(user.params.objectScope, { appID: env.appId, userID: a.id });
      assert.equal(user.params.uri, `kiicloud://users/${a.id}/buckets/${userBucket}/objects/${objectIDs.user}`);
      const grp = one(`4:${when}`);
      assert.deepEqual(grp.params.objectScope, { appID: env.appId, groupID: group.getID() });
      assert.equal(grp.params.bucketID, groupBucket);
    }
  } finally {
    // Other test files register users and write objects: stop the hooks.
    await deploy('function idle(params, context) { return 0; }\n').then(setCurrent);
  }
});
