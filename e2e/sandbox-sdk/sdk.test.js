'use strict';
// Kumo's in-sandbox Kii SDK (crates/kumo-engine/js/sdk/*.js) against a running Kumo server,
// evaluated the way the engine evaluates it (see harness.js). Run: node --test e2e/sandbox-sdk/

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { test, before, after } = require('node:test');
const { PARTS, GLOBAL_PARTS, startServer, createSandbox, describeWire } = require('./harness');

let server;
before(async () => {
  server = await startServer();
});
after(() => {
  if (server) server.stop();
});

// ------------------------------------------------------------------------------------------
// Helpers

const uniq = (p = 'u') => `${p}_${Date.now().toString(36)}_${crypto.randomBytes(3).toString('hex')}`;
const uniqBucket = () => uniq('b');
const PASSWORD = 'secret123';
/** Values from the sandbox realm as plain Node values (deepStrictEqual compares prototypes). */
const plain = (v) => JSON.parse(JSON.stringify(v));
const tick = () => new Promise((r) => setImmediate(r));

/** A test with a fresh sandbox; on failure, the last REST exchanges are appended. */
function sbTest(name, fn) {
  return test(name, { timeout: 60000 }, async (t) => {
    const sb = createSandbox(server);
    try {
      await fn(sb, t);
    } catch (err) {
      if (err && typeof err === 'object' && sb.wire.length) {
        try {
          err.message += `\n--- last exchanges ---\n${describeWire(sb)}`;
        } catch {
          /* read-only message */
        }
      }
      throw err;
    }
  });
}

/** Registers a user in sandbox sb (which then has it as current user). */
async function register(sb, opts = {}) {
  const { KiiUser } = sb.g;
  const username = opts.username || uniq('user');
  let user;
  if (opts.email && opts.phone) user = KiiUser.userWithCredentials(opts.email, opts.phone, username, PASSWORD);
  else if (opts.email) user = KiiUser.userWithEmailAddressAndUsername(opts.email, username, PASSWORD);
  else user = KiiUser.userWithUsername(username, PASSWORD);
  const registered = await user.register();
  return { user: registered, username, id: registered.getID(), token: registered.getAccessToken() };
}

/** A user registered in its own sandbox: {id, token, username, email, phone}. */
async function otherUser(opts = {}) {
  const sb = createSandbox(server);
  const r = await register(sb, opts);
  return { ...r, email: opts.email, phone: opts.phone };
}

/** Expects a rejection; returns {error, parsed: KiiErrorParser.parse(message)}. */
async function rejected(sb, promise) {
  let value;
  try {
    value = await promise;
  } catch (error) {
    return { error, parsed: plain(sb.g.KiiErrorParser.parse(error.message)) };
  }
  assert.fail(`expected a rejection, got ${value}`);
}

/** Calls fn(callbacks) and resolves with {kind: 'success'|'failure', args, promise}. */
function withCallbacks(fn) {
  return new Promise((resolve) => {
    let promise;
    const cb = {
      success: (...args) => resolve({ kind: 'success', args, promise }),
      failure: (...args) => resolve({ kind: 'failure', args, promise }),
    };
    promise = fn(cb);
    promise.catch(() => {});
  });
}

async function adminOf(sb) {
  return sb.g.Kii.authenticateAsAppAdmin(server.clientId, server.clientSecret);
}

// ------------------------------------------------------------------------------------------
// Shape of the files

test('each part is one function expression of plain ES2020 without forbidden constructs', () => {
  const bridge = new Set();
  for (const [part, { source }] of Object.entries(PARTS)) {
    const code = source.replace(/\/\/[^\n]*/g, '').replace(/'(?:[^'\\\n]|\\.)*'/g, "''");
    for (const [re, what] of [
      [/\beval\b/, 'eval'],
      [/\bsetTimeout\b|\bsetInterval\b/, 'timers'],
      [/\brequire\s*\(/, 'require'],
      [/\bnew\s+Array\b/, 'new Array'],
      [/(?<![.\w$])Array\s*\(/, 'Array('],
      [/\bprocess\b|\bBuffer\b|\bmodule\.exports\b/, 'Node globals'],
    ]) {
      assert.doesNotMatch(code, re, `${part}.js uses ${what}`);
    }
    for (const name of code.match(/__kii_\w+/g) || []) bridge.add(name);
    assert.match(source.trim(), /^(\/\/[^\n]*\n)*\(function \(sdk\) \{\n  'use strict';\n/, `${part}.js starts with the function`);
    assert.match(source.trim(), /\n\}\)$/, `${part}.js ends with the function, not calling it`);
    // Other parts' classes are reached through sdk (sdk.need(...) at call time), never as globals
    // (`$` is left out: regular expressions end with it).
    for (const name of Object.keys(GLOBAL_PARTS)) {
      if (GLOBAL_PARTS[name] === part || name === '$') continue;
      if (!new RegExp(`(?<![.\\w$])${name}(?![\\w$])`).test(code)) continue;
      const fromCore = GLOBAL_PARTS[name] === 'core' && new RegExp(`const \\{[^}]*\\b${name}\\b[^}]*\\} = sdk;`).test(code);
      assert.ok(fromCore, `${part}.js names ${name} as a global`);
    }
  }
  assert.deepEqual([...bridge].sort(), ['__kii_env', '__kii_fetch', '__kii_http']);
});

sbTest('exports the SDK globals, $ === jQuery, and __adminContext', async (sb) => {
  for (const k of Object.keys(GLOBAL_PARTS)) {
    assert.ok(sb.g[k] != null, `missing ${k}`);
    assert.equal(sb.g[k], sb.sdk[k], k);
  }
  assert.deepEqual([...sb.loads].sort(), Object.keys(PARTS).sort());
  for (const k of Object.keys(sb.sdk)) assert.ok(k in GLOBAL_PARTS || k.startsWith('_'), `unexpected export ${k}`);
  assert.equal(typeof sb.sdk.__adminContext, 'function');
  assert.equal(sb.g.$, sb.g.jQuery);
  const { Kii } = sb.g;
  assert.equal(Kii.getSDKVersion(), '2.4.19');
  assert.equal(Kii.getAppID(), server.appId);
  assert.equal(Kii.getAppKey(), server.appKey);
  assert.equal(Kii.getBaseURL(), server.site);
  Kii.initializeWithSite('x', 'y', 'z'); // no-op
  assert.equal(Kii.getAppID(), server.appId);
  assert.equal(sb.g.KiiUser.getCurrentUser(), null, 'a run starts anonymous');
  assert.equal(sb.g.KiiACLAction.KiiACLObjectActionWrite, 5);
  // 2.4.19's documented `new KiiUser.userWithID(...)` form works.
  assert.equal(new sb.g.KiiUser.userWithID('abc').getID(), 'abc');
});

sbTest('parts load on demand: Kii only core, KiiUser users; an admin object save core + objects', async (sb) => {
  assert.deepEqual(sb.loads, []);
  assert.equal(sb.run('Kii.getAppID()'), server.appId);
  assert.equal(sb.run('typeof KiiAppAdminContext + typeof KiiAnonymousUser + typeof KiiAnyAuthenticatedUser'), 'functionfunctionfunction');
  assert.equal(sb.run('Kii.authenticateAsAdminWithToken("t").getAccessToken()'), 't');
  assert.deepEqual(sb.loads, ['core']);
  assert.equal(sb.run('typeof KiiUser'), 'function');
  assert.deepEqual(sb.loads, ['core', 'users']);
  assert.equal(sb.run('KiiUser.loggedIn()'), false);
  assert.deepEqual(sb.loads, ['core', 'users']);
  // Once loaded, a global is a plain property that code may replace.
  assert.equal(sb.run('KiiUser = 1; KiiUser'), 1);
  assert.equal(typeof sb.sdk.KiiUser, 'function');

  // KiiErrorParser, KiiGeoPoint and KiiSite: part `misc`.
  const sbMisc = createSandbox(server);
  assert.equal(sbMisc.run('KiiErrorParser.parse("WRONG_TOKEN: bad").status'), 403);
  assert.deepEqual(sbMisc.loads, ['core', 'misc']);
  assert.equal(sbMisc.run('typeof KiiGeoPoint.geoPoint + KiiSite.JP'), 'functionhttps://api-jp.kii.com/api');
  assert.deepEqual(sbMisc.loads, ['core', 'misc']);
  const sbGeo = createSandbox(server);
  assert.equal(sbGeo.run('KiiGeoPoint.geoPoint(1, 2).getLongitude()'), 2);
  assert.deepEqual(sbGeo.loads, ['core', 'misc']);
  // Server code entries: part `servercode`, loaded by Kii.serverCodeEntry (also when it throws).
  const sbCode = createSandbox(server);
  assert.equal(sbCode.run('Kii.serverCodeEntry("x").getEntryName()'), 'x');
  assert.deepEqual(sbCode.loads, ['core', 'servercode']);
  assert.ok(sbCode.run('Kii.serverCodeEntry("x") instanceof KiiServerCodeEntry'));
  assert.equal(sbCode.run('KiiServerCodeEnvironmentVersion.V6'), '6');
  assert.deepEqual(sbCode.loads, ['core', 'servercode']);
  const sbCode2 = createSandbox(server);
  assert.throws(() => sbCode2.run('Kii.serverCodeEntryWithVersion("x")'), /^Error: InvalidArgument: version is invalid$/);
  assert.deepEqual(sbCode2.loads, ['core', 'servercode']);

  const sb2 = createSandbox(server);
  const admin = await adminOf(sb2);
  const obj = admin.bucketWithName(uniqBucket()).createObject();
  obj.set('n', 1);
  await obj.save();
  await obj.refresh();
  assert.equal(obj.get('n'), 1);
  assert.ok(obj instanceof sb2.g.KiiObject);
  assert.deepEqual(sb2.loads, ['core', 'objects']);
  // An object a user made, read by the admin: its _owner is a KiiUser, made when first read.
  const sb3 = createSandbox(server);
  const u = await register(sb3);
  const mine = sb3.g.Kii.bucketWithName(uniqBucket()).createObject();
  await mine.save();
  const read = admin.objectWithURI(mine.objectURI());
  await read.refresh();
  assert.deepEqual(sb2.loads, ['core', 'objects']);
  assert.equal(read._owner.getID(), u.id);
  assert.deepEqual(sb2.loads, ['core', 'objects', 'users']);
  assert.ok(read._owner instanceof sb2.g.KiiUser);
  assert.equal(read._owner, read._owner);
});

// ------------------------------------------------------------------------------------------
// Users

sbTest('register: promise resolves with the (cloned) current user; request shape', async (sb) => {
  const { KiiUser } = sb.g;
  const username = uniq('reg');
  const user = KiiUser.userWithUsername(username, PASSWORD);
  user.setDisplayName('Reg User');
  user.setCountry('JP');
  user.set('score', 7);
  user.set('_reserved', 1); // ignored
  const got = await user.register();
  const current = KiiUser.getCurrentUser();
  assert.ok(got.getID());
  assert.equal(got.getID(), current.getID());
  assert.notEqual(current, KiiUser.getCurrentUser(), 'getCurrentUser hands out clones');
  assert.equal(got.getAccessToken(), current.getAccessToken());
  assert.equal(user.getID(), got.getID(), 'the registered object is updated too');
  assert.equal(got.getUsername(), username);
  assert.equal(got.getDisplayName(), 'Reg User');
  assert.equal(got.getCountry(), 'JP');
  assert.equal(got.get('score'), 7);
  assert.equal(got.objectURI(), `kiicloud://users/${got.getID()}`);
  assert.equal(got.isPseudoUser(), false);
  const reg = sb.last('POST', /\/users$/);
  assert.equal(reg.headers['content-type'], 'application/vnd.kii.RegistrationRequest+json');
  assert.equal(reg.headers.authorization, undefined, 'registration is anonymous');
  assert.deepEqual(JSON.parse(reg.body), { password: PASSWORD, loginName: username, displayName: 'Reg User', country: 'JP', score: 7 });
  const tok = sb.last('POST', /^\/oauth2\/token$/);
  assert.deepEqual(JSON.parse(tok.body), { username, password: PASSWORD });
  assert.equal(KiiUser.loggedIn(), true);
  KiiUser.logOut();
  assert.equal(KiiUser.getCurrentUser(), null);
});

sbTest('register: duplicate user fails with failure(user, "USER_ALREADY_EXISTS: …")', async (sb) => {
  const r = await register(sb);
  const sb2 = createSandbox(server);
  const dup = sb2.g.KiiUser.userWithUsername(r.username, PASSWORD);
  const res = await withCallbacks((cb) => dup.register(cb));
  assert.equal(res.kind, 'failure');
  assert.equal(res.args[0], dup);
  assert.match(res.args[1], /^USER_ALREADY_EXISTS/);
  const { error, parsed } = await rejected(sb2, res.promise);
  assert.equal(error.target, dup);
  assert.equal(parsed.code, 'USER_ALREADY_EXISTS');
  assert.equal(parsed.status, 409);
  assert.equal(sb2.g.KiiUser.getCurrentUser(), null);
});

sbTest('authenticate with callbacks (asynchronously) and with a promise; wrong password', async (sb) => {
  const u = await otherUser({ email: `${uniq('m')}@example.com` });
  const { KiiUser, KiiErrorParser } = sb.g;
  let called = false;
  const res = await withCallbacks((cb) => {
    const p = KiiUser.authenticate(u.username, PASSWORD, {
      success: (...a) => { called = true; cb.success(...a); },
      failure: cb.failure,
    });
    assert.equal(called, false, 'callbacks never run inside the call');
    return p;
  });
  assert.equal(res.kind, 'success');
  assert.equal(res.args.length, 1);
  assert.equal(res.args[0].getID(), u.id);
  assert.equal((await res.promise).getID(), u.id);
  assert.equal(KiiUser.getCurrentUser().getID(), u.id);
  assert.ok(KiiUser.getCurrentUser().getAccessTokenObject().expires_at instanceof sb.run('Date'));

  // by email, in a fresh run
  const sb2 = createSandbox(server);
  const byMail = await sb2.g.KiiUser.authenticate(u.email, PASSWORD);
  assert.equal(byMail.getID(), u.id);

  const bad = await withCallbacks((cb) => KiiUser.authenticate(u.username, 'wrong-password', cb));
  assert.equal(bad.kind, 'failure');
  assert.equal(bad.args[0].getUsername(), u.username);
  const { error } = await rejected(sb, bad.promise);
  assert.equal(KiiErrorParser.parse(error.message).code, 'invalid_grant');
  assert.equal(KiiErrorParser.parse(error.message).status, 400);
  assert.equal(KiiUser.getCurrentUser().getID(), u.id, 'a failed login keeps the current user');

  const invalid = await rejected(sb, KiiUser.authenticate('a b', PASSWORD));
  assert.match(invalid.error.message, /User identifier should be one of/);
  const shortPw = await rejected(sb, KiiUser.authenticate(u.username, 'x'));
  assert.match(shortPw.error.message, /Unable to set password/);
});

sbTest('authenticateWithToken, refresh, save, update, findUserByUsername/Email', async (sb) => {
  const email = `${uniq('m')}@example.com`;
  const u = await otherUser({ email, phone: '+8190' + String(Date.now()).slice(-8) });
  const { KiiUser } = sb.g;
  const me = await KiiUser.authenticateWithToken(u.token);
  assert.equal(me.getID(), u.id);
  assert.equal(me.getUsername(), u.username);
  assert.equal(me.getEmailAddress(), email);
  assert.equal(me.getAccessToken(), u.token);
  assert.equal(sb.last('GET', /\/users\/me$/).headers.authorization, `Bearer ${u.token}`);

  me.set('level', 3);
  me.setDisplayName('Someone');
  const saved = await me.save();
  assert.equal(saved, me);
  const fresh = KiiUser.userWithID(u.id);
  await fresh.refresh();
  assert.equal(fresh.get('level'), 3);
  assert.equal(fresh.getDisplayName(), 'Someone');
  assert.equal(fresh.getEmailAddress(), email);

  const updated = await fresh.update(null, undefined, { level: 4, displayName: 'Other' }, []);
  assert.equal(updated, fresh);
  assert.equal(fresh.get('level'), 4);
  await fresh.refresh();
  assert.equal(fresh.getDisplayName(), 'Other');
  const none = await rejected(sb, fresh.update(null, undefined, null, null));
  assert.equal(none.error.message, 'all arguments are null or empty');

  const found = await KiiUser.findUserByUsername(u.username);
  assert.equal(found.getID(), u.id);
  const byMail = await KiiUser.findUserByEmail(email);
  assert.equal(byMail.getID(), u.id);
  const byPhone = await KiiUser.findUserByPhone(u.phone);
  assert.equal(byPhone.getID(), u.id);
  const missing = await withCallbacks((cb) => KiiUser.findUserByUsername(uniq('nobody'), cb));
  assert.equal(missing.kind, 'failure');
  assert.equal(missing.args.length, 1);
  assert.match(missing.args[0], /^Failed to find user\. statusCode: 404 error code: USER_NOT_FOUND/);
  const parsed = (await rejected(sb, missing.promise)).parsed;
  assert.equal(parsed.code, 'USER_NOT_FOUND');

  KiiUser.logOut();
  const anon = await withCallbacks((cb) => KiiUser.findUserByUsername(u.username, cb));
  assert.deepEqual(anon.args, ['IllegalState: User is not logged in']);
});

sbTest('updatePassword, then log in with the new password; delete', async (sb) => {
  const r = await register(sb);
  const { KiiUser } = sb.g;
  const me = KiiUser.getCurrentUser();
  const same = await me.updatePassword(PASSWORD, 'newsecret1');
  assert.equal(same, me);
  const pw = sb.last('PUT', /\/password$/);
  assert.deepEqual(JSON.parse(pw.body), { oldPassword: PASSWORD, newPassword: 'newsecret1' });
  const bad = await rejected(sb, me.updatePassword('newsecret1', 'x'));
  assert.match(bad.error.message, /Unable to set password/);
  const again = await KiiUser.authenticate(r.username, 'newsecret1');
  assert.equal(again.getID(), r.id);
  assert.equal(await again.delete(), again);
  const gone = await rejected(sb, KiiUser.authenticate(r.username, 'newsecret1'));
  assert.equal(gone.parsed.code, 'invalid_grant');
});

sbTest('pseudo users: registerAsPseudoUser, then putIdentity', async (sb) => {
  const { KiiUser } = sb.g;
  const pseudo = await KiiUser.registerAsPseudoUser(undefined, { displayName: 'Pseudo' });
  assert.ok(pseudo.getID());
  assert.ok(pseudo.getAccessToken());
  assert.equal(pseudo.isPseudoUser(), true);
  assert.equal(sb.last('POST', /\/users$/).headers['content-type'], 'application/vnd.kii.RegistrationAndAuthorizationRequest+json');
  const me = KiiUser.getCurrentUser();
  assert.equal(me.getID(), pseudo.getID());
  const name = uniq('pid');
  assert.equal(await me.putIdentity({ username: name }, PASSWORD), me);
  assert.equal(me.getUsername(), name);
  assert.equal(me.isPseudoUser(), false);
  const twice = await rejected(sb, me.putIdentity({ username: name + 'x' }, PASSWORD));
  assert.equal(twice.error.message, 'This user has the identity already');
  const again = await createSandbox(server).g.KiiUser.authenticate(name, PASSWORD);
  assert.equal(again.getID(), pseudo.getID());
});

sbTest('a callback that throws rejects the promise with its exception, never calling failure', async (sb) => {
  const { KiiUser } = sb.g;
  let failureCalled = false;
  const boom = new Error('boom from success');
  const p = KiiUser.userWithUsername(uniq('cb'), PASSWORD).register({
    success: () => {
      throw boom;
    },
    failure: () => {
      failureCalled = true;
    },
  });
  await assert.rejects(p, (e) => e === boom);
  assert.equal(failureCalled, false);
});

sbTest('failures given to a failure callback do not leave unhandled rejections', async (sb) => {
  const unhandled = [];
  const listener = (reason) => unhandled.push(reason);
  process.on('unhandledRejection', listener);
  try {
    const obj = sb.g.Kii.bucketWithName(uniqBucket()).createObject();
    let failure = null;
    obj.save({ failure: (o, message) => { failure = message; } }); // promise ignored on purpose
    for (let i = 0; i < 5; i++) await tick();
    assert.match(failure, /^UNAUTHORIZED/);
    assert.deepEqual(unhandled, []);
    // (Without a failure callback an ignored rejection stays unhandled, as it should; node:test
    // would fail this test for it, so that case is not exercised here.)
  } finally {
    process.off('unhandledRejection', listener);
  }
});

// ------------------------------------------------------------------------------------------
// Objects

sbTest('objects: create, refresh, partial save, saveAllFields, delete; request shapes', async (sb) => {
  await register(sb);
  const { Kii, KiiObject } = sb.g;
  const name = uniqBucket();
  const bucket = Kii.bucketWithName(name);
  assert.equal(bucket.getBucketName(), name);
  const obj = bucket.createObject();
  obj.set('a', 1);
  obj.set('b', 'two');
  obj.set('_system', 'ignored');
  assert.deepEqual(plain(obj.getKeys()), ['a', 'b']);
  assert.equal(await obj.save(), obj);
  const create = sb.last('POST', new RegExp(`/buckets/${name}/objects$`));
  assert.deepEqual(JSON.parse(create.body), { a: 1, b: 'two' });
  assert.equal(create.headers['content-type'], 'application/json');
  assert.match(create.headers.authorization, /^Bearer /);
  assert.ok(obj.getID());
  assert.ok(obj.getCreated() > 0);
  assert.equal(obj.getModified(), obj.getCreated());
  assert.equal(obj.objectURI(), `kiicloud://buckets/${name}/objects/${obj.getID()}`);

  obj.set('c', true);
  await obj.save();
  const patch = sb.last('POST', new RegExp(`/objects/${obj.getID()}$`));
  assert.equal(patch.headers['x-http-method-override'], 'PATCH');
  assert.deepEqual(JSON.parse(patch.body), { c: true }, 'save() sends only the changed fields');
  assert.equal(patch.headers['if-match'], undefined, 'overwrite defaults to true');

  const copy = KiiObject.objectWithURI(obj.objectURI());
  assert.equal(await copy.refresh(), copy);
  assert.deepEqual(plain(copy.getKeys()).sort(), ['a', 'b', 'c']);
  assert.ok(copy.getModified() >= copy.getCreated());

  copy.remove('a');
  copy.set('d', [1, 2]);
  await copy.saveAllFields();
  const put = sb.last('PUT', new RegExp(`/objects/${obj.getID()}$`));
  assert.deepEqual(JSON.parse(put.body), { b: 'two', c: true, d: [1, 2] });
  await obj.refresh();
  assert.equal(obj.get('a'), undefined);
  assert.deepEqual(plain(obj.get('d')), [1, 2]);

  assert.equal(await obj.delete(), obj);
  const gone = await rejected(sb, copy.refresh());
  assert.equal(gone.parsed.code, 'OBJECT_NOT_FOUND');
  assert.equal(gone.error.target, copy);
});

sbTest('objects: overwrite=false uses If-Match / If-None-Match and reports conflicts', async (sb) => {
  await register(sb);
  const { Kii, KiiObject } = sb.g;
  const bucket = Kii.bucketWithName(uniqBucket());
  const obj = bucket.createObject();
  obj.set('v', 1);
  await obj.save();
  const other = KiiObject.objectWithURI(obj.objectURI());
  await other.refresh();
  obj.set('v', 2);
  await obj.save(undefined, false);
  assert.ok(sb.last('POST', /\/objects\/[^/]+$/).headers['if-match'], 'conditional save sends If-Match');
  other.set('v', 3);
  const res = await withCallbacks((cb) => other.save(cb, false));
  assert.equal(res.kind, 'failure');
  assert.equal(res.args[0], other);
  assert.match(res.args[1], /^OBJECT_VERSION_IS_STALE/);
  const stale = await rejected(sb, res.promise);
  assert.equal(stale.parsed.status, 409);
  const staleAll = await rejected(sb, other.saveAllFields(undefined, false));
  assert.equal(staleAll.parsed.code, 'OBJECT_VERSION_IS_STALE');
  await other.refresh();
  other.set('v', 3);
  await other.saveAllFields(undefined, false);
  other.set('w', 4);
  await other.save(undefined, false); // the version from the PUT's ETag is current
  await obj.refresh();
  assert.equal(obj.get('v'), 3);
  assert.equal(obj.get('w'), 4);

  // Client-chosen IDs: the first conditional full save creates, the second conflicts.
  const id = uniq('id').replace(/_/g, '-');
  const a = bucket.createObjectWithID(id);
  a.set('x', 1);
  await a.saveAllFields(undefined, false);
  assert.equal(sb.last('PUT', /\/objects\/[^/]+$/).headers['if-none-match'], '*');
  assert.equal(a.getID(), id);
  const b = bucket.createObjectWithID(id);
  b.set('x', 2);
  const exists = await rejected(sb, b.saveAllFields(undefined, false));
  assert.equal(exists.parsed.code, 'OBJECT_ALREADY_EXISTS');
  // a never-saved object without version cannot be patched conditionally
  const c = bucket.createObjectWithID(uniq('nv').replace(/_/g, '-'));
  const illegal = await rejected(sb, c.save(undefined, false));
  assert.match(illegal.error.message, /IllegalState! Call KiiObject#refresh\(\)/);
  assert.throws(() => bucket.createObjectWithID('!'), /obejctID is invalid/);
});

sbTest('objects: typed objects, user and group scopes, geo points', async (sb) => {
  const r = await register(sb);
  const { KiiUser, KiiGeoPoint, KiiObject } = sb.g;
  const me = KiiUser.getCurrentUser();
  const bucket = me.bucketWithName(uniqBucket());
  const typed = bucket.createObjectWithType('score');
  typed.set('n', 1);
  typed.setGeoPoint('where', KiiGeoPoint.geoPoint(35.6, 139.7));
  await typed.save();
  const req = sb.last('POST', /\/users\/[^/]+\/buckets\/[^/]+\/objects$/);
  assert.equal(req.headers['content-type'], `application/vnd.${server.appId}.score+json`);
  assert.deepEqual(JSON.parse(req.body).where, { _type: 'point', lat: 35.6, lon: 139.7 });
  assert.equal(typed.objectURI().startsWith(`kiicloud://users/${r.id}/buckets/`), true);
  const back = KiiObject.objectWithURI(typed.objectURI());
  await back.refresh();
  assert.equal(back.getObjectType(), 'score');
  assert.equal(back.getGeoPoint('where').getLatitude(), 35.6);
  assert.throws(() => KiiGeoPoint.geoPoint(91, 0), /latitide or longitude is invalid/);
});

sbTest('geo points across parts: checks without loading misc, a read point loads it', async (sb) => {
  const token = (await adminOf(createSandbox(server))).getAccessToken();
  const admin = sb.admin(token);
  const obj = admin.bucketWithName(uniqBucket()).createObject();
  assert.throws(() => obj.setGeoPoint('p', { _toDict: () => ({}) }), /^Error: InvalidArgument: Specified kiiGeoPoint is not an instance of KiiGeoPoint$/);
  assert.deepEqual(sb.loads, ['core', 'objects']);
  const { KiiClause } = sb.g;
  assert.throws(() => KiiClause.geoDistance('p', { lat: 1, lon: 2 }, 10), /center is not a reference of KiiGeoPoint/);
  assert.throws(() => KiiClause.geoBox('p', null, null), /northEast or southWest is not a reference of KiiGeoPoint/);
  assert.deepEqual(sb.loads, ['core', 'objects', 'query']);
  // A point from another realm's KiiGeoPoint is not one of this realm's.
  const foreign = createSandbox(server).g.KiiGeoPoint.geoPoint(1, 2);
  assert.throws(() => obj.setGeoPoint('p', foreign), /is not an instance of KiiGeoPoint/);
  assert.deepEqual(sb.loads, ['core', 'objects', 'query']);

  // Saved elsewhere, read here: getGeoPoint makes a KiiGeoPoint, loading misc.
  const other = createSandbox(server);
  const o = other.admin(token).bucketWithName(uniqBucket()).createObject();
  o.setGeoPoint('where', other.g.KiiGeoPoint.geoPoint(35.5, 139.5));
  await o.save();
  const back = admin.objectWithURI(o.objectURI());
  await back.refresh();
  assert.deepEqual(sb.loads, ['core', 'objects', 'query']);
  const p = back.getGeoPoint('where');
  assert.deepEqual(sb.loads, ['core', 'objects', 'query', 'misc']);
  assert.ok(p instanceof sb.g.KiiGeoPoint);
  assert.deepEqual([p.getLatitude(), p.getLongitude()], [35.5, 139.5]);
  back.setGeoPoint('again', p);
  await back.save();
  assert.deepEqual(JSON.parse(sb.wire[sb.wire.length - 1].body).again, { _type: 'point', lat: 35.5, lon: 139.5 });
  const c = KiiClause.geoDistance('where', p, 1000);
  assert.deepEqual(plain(c._getDictValue()).center, { _type: 'point', lat: 35.5, lon: 139.5 });
});

sbTest('KiiAppAdminContext#groupWithURI: only kiicloud://groups/ID', async (sb) => {
  const admin = sb.admin('token');
  assert.equal(admin.groupWithURI('kiicloud://groups/g1').getID(), 'g1');
  assert.deepEqual(sb.loads, ['core', 'groups']);
  for (const uri of [null, undefined, 'groups/g1', 'kiicloud://users/g1', 'kiicloud://groups/g1/x', 'kiicloud://groups']) {
    assert.throws(() => admin.groupWithURI(uri), /^Error: Unable to set URI\. Must be of the form kiicloud:/, String(uri));
  }
});

sbTest('anonymous callers cannot write to an app bucket but may query it', async (sb) => {
  const { Kii, KiiQuery } = sb.g;
  const name = uniqBucket();
  const obj = Kii.bucketWithName(name).createObject();
  obj.set('x', 1);
  const res = await withCallbacks((cb) => obj.save(cb));
  assert.equal(res.kind, 'failure');
  const { parsed, error } = await rejected(sb, res.promise);
  assert.equal(parsed.code, 'UNAUTHORIZED');
  assert.equal(parsed.status, 401);
  assert.equal(error.target, obj);
  assert.equal(sb.last('POST', /\/objects$/).headers.authorization, undefined);
  const [query, results, next] = await Kii.bucketWithName(name).executeQuery(KiiQuery.queryWithClause());
  assert.equal(results.length, 0);
  assert.equal(next, null);
  assert.ok(query);
});

// ------------------------------------------------------------------------------------------
// Queries

sbTest('queries: every clause sends 2.4.19 JSON and selects the right objects', async (sb) => {
  await register(sb);
  const { Kii, KiiQuery, KiiClause, KiiGeoPoint } = sb.g;
  const bucket = Kii.bucketWithName(uniqBucket());
  const rows = [
    { n: 1, s: 'apple', flag: true, loc: [35.0, 139.0] },
    { n: 2, s: 'apricot', flag: false, loc: [35.5, 139.5] },
    { n: 3, s: 'banana', loc: [10, 10] },
    { n: 4.5, s: 'cherry', flag: true, loc: [-10, -10] },
    { n: 5, s: 'avocado', extra: 'yes', loc: [35.2, 139.2] },
  ];
  for (const row of rows) {
    const o = bucket.createObject();
    for (const [k, v] of Object.entries(row)) if (k !== 'loc') o.set(k, v);
    o.setGeoPoint('loc', KiiGeoPoint.geoPoint(row.loc[0], row.loc[1]));
    await o.save();
  }
  const C = KiiClause;
  const run = async (clause, expected, wireClause) => {
    const q = KiiQuery.queryWithClause(clause);
    q.sortByAsc('n');
    const [qq, results, next] = await bucket.executeQuery(q);
    assert.equal(qq, q);
    assert.equal(next, null);
    assert.deepEqual(plain(results.map((o) => o.get('n'))), expected, JSON.stringify(clause._getDictValue()));
    const sent = JSON.parse(sb.last('POST', /\/query$/).body);
    assert.equal(sb.last('POST', /\/query$/).headers['content-type'], 'application/vnd.kii.QueryRequest+json');
    if (wireClause) assert.deepEqual(sent, { bucketQuery: { descending: false, clause: wireClause, orderBy: 'n' } });
  };
  await run(C.equals('s', 'apple'), [1], { type: 'eq', field: 's', value: 'apple' });
  await run(C.notEquals('s', 'apple'), [2, 3, 4.5, 5], { type: 'not', clause: { type: 'eq', field: 's', value: 'apple' } });
  await run(C.greaterThan('n', 2), [3, 4.5, 5], { type: 'range', field: 'n', lowerLimit: 2, lowerIncluded: false });
  await run(C.greaterThanOrEqual('n', 2), [2, 3, 4.5, 5], { type: 'range', field: 'n', lowerLimit: 2, lowerIncluded: true });
  await run(C.lessThan('n', 2), [1], { type: 'range', field: 'n', upperLimit: 2, upperIncluded: false });
  await run(C.lessThanOrEqual('n', 2), [1, 2], { type: 'range', field: 'n', upperLimit: 2, upperIncluded: true });
  await run(C.inClause('s', ['banana', 'cherry']), [3, 4.5], { type: 'in', field: 's', values: ['banana', 'cherry'] });
  await run(C.startsWith('s', 'ap'), [1, 2], { type: 'prefix', field: 's', prefix: 'ap' });
  await run(C.hasField('extra', 'STRING'), [5], { type: 'hasField', field: 'extra', fieldType: 'STRING' });
  await run(C.and(C.startsWith('s', 'a'), C.equals('flag', true)), [1], {
    type: 'and', clauses: [{ type: 'prefix', field: 's', prefix: 'a' }, { type: 'eq', field: 'flag', value: true }],
  });
  await run(C.or(C.equals('n', 1), C.equals('n', 5)), [1, 5], {
    type: 'or', clauses: [{ type: 'eq', field: 'n', value: 1 }, { type: 'eq', field: 'n', value: 5 }],
  });
  await run(C.and(C.equals('n', 3)), [3], { type: 'eq', field: 'n', value: 3 });
  await run(C.not(C.hasField('flag', 'BOOLEAN')), [3, 5], { type: 'not', clause: { type: 'hasField', field: 'flag', fieldType: 'BOOLEAN' } });
  const ne = KiiGeoPoint.geoPoint(36, 140);
  const sw = KiiGeoPoint.geoPoint(35.1, 139.1);
  await run(C.geoBox('loc', ne, sw), [2, 5], {
    type: 'geobox', field: 'loc', box: { ne: { _type: 'point', lat: 36, lon: 140 }, sw: { _type: 'point', lat: 35.1, lon: 139.1 } },
  });
  const center = KiiGeoPoint.geoPoint(35.0, 139.0);
  await run(C.geoDistance('loc', center, 100000, 'dist'), [1, 2, 5], {
    type: 'geodistance', field: 'loc', center: { _type: 'point', lat: 35, lon: 139 }, radius: 100000, putDistanceInto: 'dist',
  });
  const [, near] = await bucket.executeQuery(KiiQuery.queryWithClause(C.geoDistance('loc', center, 100000, 'dist')));
  assert.ok(near.every((o) => typeof o.get('_calculated').dist === 'number'), 'distances come back in _calculated');
  assert.throws(() => C.hasField('x', 'TEXT'), /fieldType is invalid/);
  assert.throws(() => C.geoDistance('loc', center, 0), /radius is invalid/);

  // sort descending, no clause, and null query
  const q = KiiQuery.queryWithClause();
  q.sortByDesc('n');
  const [, desc] = await bucket.executeQuery(q);
  assert.deepEqual(plain(desc.map((o) => o.get('n'))), [5, 4.5, 3, 2, 1]);
  assert.deepEqual(JSON.parse(sb.last('POST', /\/query$/).body), { bucketQuery: { descending: true, clause: { type: 'all' }, orderBy: 'n' } });
  const [nq, all] = await bucket.executeQuery(null);
  assert.equal(nq, null);
  assert.equal(all.length, 5);
  assert.deepEqual(JSON.parse(sb.last('POST', /\/query$/).body), { bucketQuery: { clause: { type: 'all' } } });
  const unsupported = KiiQuery.queryWithClause(C.createWithWhere('xor', [C.equals('n', 1), C.equals('n', 2)]));
  const bad = await withCallbacks((cb) => bucket.executeQuery(unsupported, cb));
  assert.equal(bad.kind, 'failure');
  assert.equal(bad.args[0], bucket);
  assert.equal((await rejected(sb, bad.promise)).parsed.code, 'QUERY_NOT_SUPPORTED');
});

sbTest('queries: paging with setLimit / nextQuery, count and countWithQuery', async (sb) => {
  await register(sb);
  const { Kii, KiiQuery, KiiClause } = sb.g;
  const bucket = Kii.bucketWithName(uniqBucket());
  for (let i = 0; i < 7; i++) {
    const o = bucket.createObject();
    o.set('i', i);
    await o.save();
  }
  const q = KiiQuery.queryWithClause(KiiClause.greaterThanOrEqual('i', 0));
  q.sortByAsc('i');
  q.setLimit(3);
  assert.equal(q.getLimit(), 3);
  assert.throws(() => q.setLimit(0), /query limit/);
  const seen = [];
  let next = q;
  let pages = 0;
  while (next) {
    const [, results, nq] = await bucket.executeQuery(next);
    seen.push(...results.map((o) => o.get('i')));
    if (nq) {
      assert.ok(nq.getPaginationKey());
      assert.notEqual(nq, next);
      assert.equal(nq.getLimit(), 3);
      assert.equal(JSON.parse(sb.last('POST', /\/query$/).body).bestEffortLimit, 3);
    }
    next = nq;
    pages++;
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(pages, 3);
  assert.equal(q.getPaginationKey(), undefined, 'the original query is not modified');

  const [b, cq, count] = await bucket.count();
  assert.equal(b, bucket);
  assert.ok(cq instanceof KiiQuery);
  assert.equal(count, 7);
  assert.deepEqual(JSON.parse(sb.last('POST', /\/query$/).body).bucketQuery.aggregations, [{ type: 'COUNT', putAggregationInto: 'count_field' }]);
  const res = await withCallbacks((cb) => bucket.countWithQuery(KiiQuery.queryWithClause(KiiClause.lessThan('i', 2)), cb));
  assert.equal(res.kind, 'success');
  assert.equal(res.args[0], bucket);
  assert.equal(res.args[2], 2);
  const [, , none] = await Kii.bucketWithName(uniqBucket()).count();
  assert.equal(none, 0);

  assert.equal(await bucket.delete(), bucket);
  const [, , after] = await bucket.count();
  assert.equal(after, 0);
});

// ------------------------------------------------------------------------------------------
// Groups

sbTest('groups: create with members, member list, add/remove, rename, owner, delete', async (sb) => {
  const m1 = await otherUser();
  const m2 = await otherUser();
  const owner = await register(sb);
  const { KiiGroup, KiiUser, Kii } = sb.g;
  const group = KiiGroup.groupWithName(uniq('g'), [KiiUser.userWithID(m1.id)]);
  assert.equal(await group.save(), group);
  const create = sb.last('POST', /\/groups$/);
  assert.equal(create.headers['content-type'], 'application/vnd.kii.GroupCreationRequest+json');
  assert.equal(JSON.parse(create.body).owner, owner.id);
  assert.ok(group.getID());
  assert.equal(group.getCachedOwner().getID(), owner.id);
  assert.equal(group.objectURI(), `kiicloud://groups/${group.getID()}`);

  // Kumo (like Kii) makes the owner a member of the group it creates.
  let [g, members] = await group.getMemberList();
  assert.equal(g, group);
  assert.deepEqual(plain(members.map((u) => u.getID())).sort(), [m1.id, owner.id].sort());

  group.addUser(KiiUser.userWithID(m2.id));
  group.removeUser(KiiUser.userWithID(m1.id));
  await group.save();
  [, members] = await group.getMemberList();
  assert.deepEqual(plain(members.map((u) => u.getID())).sort(), [m2.id, owner.id].sort());

  const newName = uniq('renamed');
  assert.equal(await group.changeGroupName(newName), group);
  assert.equal(sb.last('PUT', /\/name$/).body, newName);
  assert.equal(sb.last('PUT', /\/name$/).headers['content-type'], 'text/plain');
  const fresh = KiiGroup.groupWithID(group.getID());
  await fresh.refresh();
  assert.equal(fresh.getName(), newName);
  const [og, ownerUser] = await fresh.getOwner();
  assert.equal(og, fresh);
  assert.equal(ownerUser.getID(), owner.id);

  const [u1, owned] = await KiiUser.getCurrentUser().ownerOfGroups();
  assert.ok(u1);
  assert.ok(owned.some((x) => x.getID() === group.getID() && x.getName() === newName));
  const [, joined] = await KiiUser.getCurrentUser().memberOfGroups();
  assert.ok(Array.isArray(joined));

  // group-scope bucket
  const gobj = group.bucketWithName(uniqBucket()).createObject();
  gobj.set('k', 1);
  await gobj.save();
  assert.match(gobj.objectURI(), new RegExp(`^kiicloud://groups/${group.getID()}/buckets/`));

  // hand over ownership, then the old owner can no longer rename (Kii's group name reference:
  // 401 UNAUTHORIZED)
  assert.equal(await group.saveWithOwner(m2.id), group);
  assert.deepEqual(JSON.parse(sb.last('PUT', /\/owner$/).body), { owner: m2.id });
  const denied = await withCallbacks((cb) => group.changeGroupName('x' + newName, cb));
  assert.equal(denied.kind, 'failure');
  assert.equal((await rejected(sb, denied.promise)).parsed.code, 'UNAUTHORIZED');

  const g2 = Kii.groupWithName(uniq('g2'));
  await g2.save();
  assert.equal(await g2.delete(), g2);
  const gone = await rejected(sb, KiiGroup.groupWithID(g2.getID()).refresh());
  assert.equal(gone.parsed.code, 'GROUP_NOT_FOUND');
  const unsaved = await rejected(sb, KiiGroup.groupWithName('x').changeGroupName('y'));
  assert.match(unsaved.error.message, /Save the group on the server/);
});

sbTest('groups: failures report pending members; registerGroupWithID', async (sb) => {
  const me = await register(sb);
  const { KiiGroup, KiiUser } = sb.g;
  const group = KiiGroup.groupWithNameAndMembers(uniq('g'), [KiiUser.userWithID('no-such-user-id')]);
  const res = await withCallbacks((cb) => group.save(cb));
  assert.equal(res.kind, 'failure');
  assert.equal(res.args[0], group);
  assert.equal(res.args[2].length, 1, 'addMembersArray');
  assert.equal(res.args[3].length, 0, 'removeMembersArray');
  const { error } = await rejected(sb, res.promise);
  assert.equal(error.addMembersArray.length, 1);

  const m = await otherUser();
  const id = uniq('gid').toLowerCase();
  const g = await KiiGroup.registerGroupWithID(id, 'Named', [KiiUser.userWithID(m.id)]);
  assert.equal(g.getID(), id);
  assert.equal(g.getName(), 'Named');
  assert.deepEqual(JSON.parse(sb.last('PUT', /\/groups\/[^/]+$/).body), { name: 'Named', owner: me.id, members: [m.id] });
  const [, members] = await g.getMemberList();
  assert.deepEqual(plain(members.map((u) => u.getID())).sort(), [m.id, me.id].sort());
  const dup = await withCallbacks((cb) => KiiGroup.registerGroupWithID(id, 'Named', null, cb));
  assert.equal(dup.kind, 'failure');
  assert.equal(dup.args[0], null);
  assert.match(dup.args[1], /^failed to register group\. failed\. statusCode: 409 error code: GROUP_ALREADY_EXISTS/);
  assert.equal((await rejected(sb, dup.promise)).parsed.code, 'GROUP_ALREADY_EXISTS');
  const badId = await rejected(sb, KiiGroup.registerGroupWithID('Bad ID', 'n', null));
  assert.equal(badId.error.message, 'invalid groupID : Bad ID');
});

// ------------------------------------------------------------------------------------------
// ACLs

sbTest('ACL: list, grant and revoke on objects and buckets; entries and subjects', async (sb) => {
  const reader = await otherUser();
  const me = await register(sb);
  const { Kii, KiiUser, KiiACLEntry, KiiACLAction, KiiAnonymousUser, KiiAnyAuthenticatedUser, KiiObject } = sb.g;
  const bucket = KiiUser.getCurrentUser().bucketWithName(uniqBucket());
  const obj = bucket.createObject();
  obj.set('secret', 1);
  await obj.save();

  const acl = obj.objectACL();
  assert.equal(acl.aclPath(), `/users/${me.id}/buckets/${bucket.getBucketName()}/objects/${obj.getID()}/acl`);
  const [same, entries] = await acl.listACLEntries();
  assert.equal(same, acl);
  const view = entries.map((e) => `${e.getActionString()} ${e.getEntityString()}`);
  assert.ok(view.includes(`READ_EXISTING_OBJECT UserID:${me.id}`), view.join(', '));
  assert.ok(view.includes(`WRITE_EXISTING_OBJECT UserID:${me.id}`), view.join(', '));

  // the other user cannot read, until granted
  const sbReader = createSandbox(server);
  await sbReader.g.KiiUser.authenticateWithToken(reader.token);
  const denied = await rejected(sbReader, sbReader.g.KiiObject.objectWithURI(obj.objectURI()).refresh());
  assert.equal(denied.parsed.code, 'ACCESS_DENIED');
  const grant = KiiACLEntry.entryWithSubject(KiiUser.userWithID(reader.id), KiiACLAction.KiiACLObjectActionRead);
  assert.equal(grant.getGrant(), true);
  acl.putACLEntry(grant);
  acl.putACLEntry(KiiACLEntry.entryWithSubject(new KiiAnonymousUser(), KiiACLAction.KiiACLObjectActionRead));
  assert.equal(await acl.save(), acl);
  assert.ok(sb.last('PUT', /\/acl\/READ_EXISTING_OBJECT\/UserID:ANONYMOUS_USER$/));
  const readable = sbReader.g.KiiObject.objectWithURI(obj.objectURI());
  await readable.refresh();
  assert.equal(readable.get('secret'), 1);
  const sbAnon = createSandbox(server);
  await sbAnon.g.KiiObject.objectWithURI(obj.objectURI()).refresh();

  const [, after] = await obj.acl().listACLEntries();
  assert.ok(after.some((e) => e.getSubject() instanceof KiiAnonymousUser));
  assert.ok(after.some((e) => e.getSubject() instanceof KiiUser && e.getSubject().getID() === reader.id));

  const revoke = KiiACLEntry.entryWithSubject(KiiUser.userWithID(reader.id), KiiACLAction.KiiACLObjectActionRead);
  revoke.setGrant(false);
  const acl2 = KiiObject.objectWithURI(obj.objectURI()).objectACL();
  acl2.putACLEntry(revoke);
  const res = await withCallbacks((cb) => acl2.save(cb));
  assert.equal(res.kind, 'success');
  assert.deepEqual(res.args, [acl2]);
  assert.ok(sb.last('DELETE', /\/acl\/READ_EXISTING_OBJECT\/UserID:/));
  const deniedAgain = await rejected(sbReader, sbReader.g.KiiObject.objectWithURI(obj.objectURI()).refresh());
  assert.equal(deniedAgain.parsed.code, 'ACCESS_DENIED');

  // nothing pending
  const empty = await withCallbacks((cb) => acl2.save(cb));
  assert.deepEqual(empty.args, [acl2, 'There is no entry to save.']);
  // putACLEntry + removeACLEntry cancel out
  const acl3 = obj.objectACL();
  const e = KiiACLEntry.entryWithSubject(new KiiAnyAuthenticatedUser(), KiiACLAction.KiiACLObjectActionWrite);
  acl3.putACLEntry(e);
  acl3.removeACLEntry(e);
  assert.equal((await rejected(sb, acl3.save())).error.message, 'There is no entry to save.');
  assert.throws(() => KiiACLEntry.entryWithSubject(KiiUser.userWithID('x'), 99), /ACL action/);
  assert.throws(() => KiiACLEntry.entryWithSubject({}, 1), /ACL subject/);
  assert.throws(() => e.setGrant('yes'), /ACL grant/);

  // bucket ACL of the app scope: only the admin may change it
  const appBucket = Kii.bucketWithName(uniqBucket());
  const missing = await rejected(sb, appBucket.acl().listACLEntries());
  assert.equal(missing.parsed.code, 'BUCKET_NOT_FOUND');
  await appBucket.createObject().save(); // the bucket exists once it holds an object
  const bacl = appBucket.acl();
  assert.equal(bacl.aclPath(), `/buckets/${appBucket.getBucketName()}/acl`);
  bacl.putACLEntry(KiiACLEntry.entryWithSubject(new KiiAnonymousUser(), KiiACLAction.KiiACLBucketActionCreateObjects));
  // Kii's ACL reference: a caller who may not read or change an ACL is 401 UNAUTHORIZED.
  const refused = await rejected(sb, bacl.save());
  assert.equal(refused.parsed.code, 'UNAUTHORIZED');
  assert.equal((await rejected(sb, appBucket.acl().listACLEntries())).parsed.code, 'UNAUTHORIZED');
});

// ------------------------------------------------------------------------------------------
// App admin

sbTest('admin: authenticateAsAppAdmin, find users, bucket writes, groups, ACL, objectWithURI', async (sb) => {
  const email = `${uniq('adm')}@example.com`;
  const u = await otherUser({ email });
  const { Kii, KiiAppAdminContext, KiiUser, KiiACLEntry, KiiACLAction, KiiAnonymousUser } = sb.g;
  const bad = await withCallbacks((cb) => Kii.authenticateAsAppAdmin(server.clientId, 'wrong', cb));
  assert.equal(bad.kind, 'failure');
  assert.equal(typeof bad.args[0], 'string');
  assert.equal(bad.args[1], 400);
  assert.equal((await rejected(sb, bad.promise)).parsed.code, 'invalid_grant');

  const admin = await adminOf(sb);
  assert.ok(admin instanceof KiiAppAdminContext);
  assert.ok(admin.getAccessToken());
  assert.equal(admin._getToken(), admin.getAccessToken());
  assert.equal(KiiUser.getCurrentUser(), null, 'admin login does not change the current user');
  // the engine's context.getAppAdminContext() builds the same object
  const viaHook = sb.admin(admin.getAccessToken());
  assert.ok(viaHook instanceof KiiAppAdminContext);

  const [ctx, found] = await viaHook.findUserByUsername(u.username);
  assert.equal(ctx, viaHook);
  assert.equal(found.getID(), u.id);
  assert.equal(found.getEmailAddress(), email, 'the admin sees the full document');
  assert.equal(sb.last('GET', /LOGIN_NAME:/).headers.authorization, `Bearer ${admin.getAccessToken()}`);
  const [, byMail] = await admin.findUserByEmail(email);
  assert.equal(byMail.getID(), u.id);
  const nf = await withCallbacks((cb) => admin.findUserByPhone('+819000000000', cb));
  assert.equal(nf.kind, 'failure');
  assert.equal(nf.args[0], admin);
  assert.match(nf.args[1], /^Failed to find user\. statusCode: 404/);
  const emptyName = await withCallbacks((cb) => admin.findUserByUsername('', cb));
  assert.deepEqual(emptyName.args, [admin, 'InvalidArgument: username should not null or empty']);

  // users found through the admin act as the admin
  found.set('adminSet', 'yes');
  await found.save();
  assert.equal(sb.last('POST', new RegExp(`/users/${u.id}$`)).headers.authorization, `Bearer ${admin.getAccessToken()}`);
  const ub = admin.userWithID(u.id);
  await ub.refresh();
  assert.equal(ub.get('adminSet'), 'yes');

  // app bucket writes as admin (an anonymous run could not)
  const name = uniqBucket();
  const obj = admin.bucketWithName(name).createObject();
  obj.set('by', 'admin');
  await obj.save();
  assert.equal(sb.last('POST', /\/objects$/).headers.authorization, `Bearer ${admin.getAccessToken()}`);
  const [, results] = await admin.bucketWithName(name).executeQuery(null);
  assert.equal(results.length, 1);
  results[0].set('more', 1);
  await results[0].save(undefined, false);
  assert.equal(sb.last('POST', /\/objects\/[^/]+$/).headers.authorization, `Bearer ${admin.getAccessToken()}`);
  const again = admin.objectWithURI(obj.objectURI());
  await again.refresh();
  assert.equal(again.get('more'), 1);
  assert.throws(() => admin.objectWithURI('kiicloud://a/b/c/d/e'), /Unable to set URI/);

  // user-scope bucket of another user, through the admin
  const uobj = admin.userWithID(u.id).bucketWithName(uniqBucket()).createObject();
  uobj.set('x', 1);
  await uobj.save();
  const acl = uobj.objectACL();
  acl.putACLEntry(KiiACLEntry.entryWithSubject(new KiiAnonymousUser(), KiiACLAction.KiiACLObjectActionRead));
  await acl.save();
  assert.equal(sb.last('PUT', /\/acl\//).headers.authorization, `Bearer ${admin.getAccessToken()}`);

  // app bucket ACL: the admin may change it
  const bacl = admin.bucketWithName(name).acl();
  bacl.putACLEntry(KiiACLEntry.entryWithSubject(new KiiAnonymousUser(), KiiACLAction.KiiACLBucketActionCreateObjects));
  await bacl.save();
  const [, bentries] = await admin.bucketWithName(name).acl().listACLEntries();
  const has = (action, cls) => bentries.some((x) => x.getAction() === action && x.getSubject() instanceof cls);
  assert.ok(has(KiiACLAction.KiiACLBucketActionCreateObjects, KiiAnonymousUser));
  assert.ok(has(KiiACLAction.KiiACLBucketActionQueryObjects, sb.g.KiiAnyAuthenticatedUser));
  const anonObj = Kii.bucketWithName(name).createObject();
  anonObj.set('anon', true);
  await anonObj.save();
  assert.ok(anonObj.getID(), 'anonymous create allowed after the admin grant');

  // groups through the admin
  const gid = uniq('ag').toLowerCase();
  const g = await admin.registerGroupWithOwnerAndID(gid, 'AdminGroup', u.id, [KiiUser.userWithID(u.id)]);
  assert.equal(g.getID(), gid);
  const gg = admin.groupWithID(gid);
  await gg.refresh();
  assert.equal(gg.getName(), 'AdminGroup');
  assert.equal(gg.getCachedOwner().getID(), u.id);
  const [, members] = await admin.groupWithURI(`kiicloud://groups/${gid}`).getMemberList();
  assert.deepEqual(plain(members.map((m) => m.getID())), [u.id]);
  const ag = admin.groupWithName(uniq('ownerless'));
  await ag.save();
  assert.equal(JSON.parse(sb.last('POST', /\/groups$/).body).owner, undefined);
  await ag.saveWithOwner(u.id);
  await ag.refresh();
  assert.equal(ag.getCachedOwner().getID(), u.id);
  assert.equal(await gg.delete(), gg);
});

// ------------------------------------------------------------------------------------------
// Server code entries

sbTest('KiiServerCodeEntry: argument check and the failure path', async (sb) => {
  const { Kii, KiiErrorParser } = sb.g;
  assert.throws(() => Kii.serverCodeEntry('1bad'), /entryName is invalid/);
  const entry = Kii.serverCodeEntry('main');
  assert.equal(entry.getEntryName(), 'main');
  const invalid = await withCallbacks((cb) => entry.execute({}, cb));
  assert.equal(invalid.kind, 'failure');
  assert.deepEqual(plain(invalid.args), [plain(entry), {}, null, 'InvalidArgument: arugment is invalid']);
  const res = await withCallbacks((cb) => Kii.serverCodeEntryWithVersion('main', 'v1').execute({ a: 1 }, cb));
  const path = sb.last('POST', /\/server-code\//).path;
  assert.equal(path, `/apps/${server.appId}/server-code/versions/v1/main`);
  if (res.kind === 'failure') {
    assert.equal(res.args[2], null);
    assert.deepEqual(plain(res.args[1]), { a: 1 });
    assert.match(res.args[3], /^fail to execute server code\. statusCode: \d{3} executedSteps: /);
    const { error } = await rejected(sb, res.promise);
    assert.deepEqual(plain(error.argument), { a: 1 });
    assert.ok(KiiErrorParser.parse(error.message));
  }
});

// ------------------------------------------------------------------------------------------
// jQuery subset

sbTest('$.Deferred: done/fail/always/then/state, then is asynchronous and chains', async (sb) => {
  const { $ } = sb.g;
  const d = $.Deferred();
  const seen = [];
  d.done((a, b) => seen.push(`done ${a} ${b}`)).fail(() => seen.push('fail')).always(() => seen.push('always'));
  const chained = d.then((a) => {
    seen.push(`then ${a}`);
    return a * 2;
  });
  assert.equal(d.state(), 'pending');
  d.resolve(21, 'x');
  assert.equal(d.state(), 'resolved');
  assert.deepEqual(seen, ['done 21 x', 'always'], 'done/always run synchronously');
  d.done((a) => seen.push(`late ${a}`));
  assert.deepEqual(seen.slice(-1), ['late 21']);
  assert.equal(await chained, 42);
  assert.ok(seen.includes('then 21'));
  d.reject('ignored');
  assert.equal(d.state(), 'resolved');

  const r = $.Deferred();
  const p = r.promise();
  assert.equal(typeof p.resolve, 'undefined');
  const recovered = p.then(null, (e) => `recovered ${e}`);
  const thrown = p.then(null, () => {
    throw new Error('again');
  });
  r.reject('bad');
  assert.equal(p.state(), 'rejected');
  assert.equal(await recovered, 'recovered bad');
  await assert.rejects(thrown, /again/);
  const viaCatch = await p.catch((e) => `caught ${e}`);
  assert.equal(viaCatch, 'caught bad');

  // thenables returned from then are adopted
  const adopted = $.Deferred().resolve(1).then(() => $.Deferred().resolve('inner'));
  assert.equal(await adopted, 'inner');

  // $.when
  const a = $.Deferred();
  const b = $.Deferred();
  let whenArgs = null;
  $.when(a, b, 3).done((...args) => {
    whenArgs = args;
  });
  a.resolve(1);
  assert.equal(whenArgs, null);
  b.resolve(2, 'two');
  assert.deepEqual(plain(whenArgs), [1, [2, 'two'], 3]);
  let failed = null;
  const c = $.Deferred();
  $.when(c, $.Deferred()).fail((e) => {
    failed = e;
  });
  c.reject('no');
  assert.equal(failed, 'no');
  let single;
  $.when('v').done((v) => {
    single = v;
  });
  assert.equal(single, 'v');
  const one = $.Deferred();
  assert.equal($.when(one).state(), 'pending');
  let none = false;
  $.when().done(() => {
    none = true;
  });
  assert.ok(none);
  const fromPromise = await $.when(sb.run('Promise.resolve(5)'));
  assert.equal(fromPromise, 5);
  await tick();
});

sbTest('$.param and $.extend', async (sb) => {
  const { $ } = sb.g;
  assert.equal($.param({ a: 1, b: 'x y', c: [1, 2], d: { e: 'f' } }), 'a=1&b=x+y&c%5B%5D=1&c%5B%5D=2&d%5Be%5D=f');
  assert.equal($.param({ c: [1, 2] }, true), 'c=1&c=2');
  assert.equal($.param([{ name: 'n', value: 'v' }]), 'n=v');
  const target = { a: 1, nested: { x: 1 } };
  $.extend(target, { b: 2 }, { nested: { y: 2 } });
  assert.deepEqual(plain(target), { a: 1, nested: { y: 2 }, b: 2 });
  const deep = $.extend(true, {}, { n: { x: 1, arr: [1] } }, { n: { y: 2 } });
  assert.deepEqual(plain(deep), { n: { x: 1, arr: [1], y: 2 }, });
  assert.throws(() => sb.g.$('div'), /not available/);
});

sbTest('$.ajax: success, JSON, errors, form data, upper-case methods, refused hosts', async (sb) => {
  const { $ } = sb.g;
  const root = server.site.replace(/\/api$/, '');
  // success with JSON, callbacks and Deferred methods, in jQuery's order
  const order = [];
  const x = $.ajax({
    url: `${root}/health`,
    type: 'GET',
    dataType: 'json',
    success: (data, status, xhr) => order.push(['success', data.status, status, xhr.status]),
    error: () => order.push(['error']),
    complete: (xhr, status) => order.push(['complete', status]),
  });
  x.done(() => order.push(['done'])).always(() => order.push(['always']));
  assert.deepEqual(order, [], 'nothing is reported inside the call');
  const [data, textStatus, jq] = await new Promise((resolve) => x.done((...a) => resolve(a)));
  assert.equal(data.status, 'ok');
  assert.equal(textStatus, 'success');
  assert.equal(jq, x);
  await tick();
  assert.deepEqual(plain(order), [['success', 'ok', 'success', 200], ['done'], ['always'], ['complete', 'success']]);
  assert.equal(x.getResponseHeader('Content-Type').includes('json'), true);
  assert.equal(x.responseJSON.status, 'ok');

  // .then resolves with the data
  const viaThen = await $.ajax({ url: `${root}/health`, method: 'GET' }).then((d) => d);
  assert.equal(viaThen.status, 'ok', 'JSON content type is parsed without dataType');
  const asText = await $.ajax({ url: `${root}/health`, dataType: 'text' }).then((d) => d);
  assert.equal(typeof asText, 'string');

  // HTTP error: error(jqXHR, 'error', statusText), fail, the promise rejects with the jqXHR
  const errArgs = await new Promise((resolve) => {
    $.ajax({ url: `${server.site}/apps/${server.appId}/users/me`, type: 'GET', error: (...a) => resolve(a) });
  });
  assert.equal(errArgs[0].status, 401);
  assert.equal(errArgs[1], 'error');
  assert.equal(errArgs[2], 'Unauthorized');
  assert.match(errArgs[0].responseText, /UNAUTHORIZED/);

  // POST with an object: form-encoded body, with headers
  const post = $.ajax({
    url: `${server.site}/oauth2/token`,
    type: 'POST',
    data: { username: 'nobody here', password: 'x' },
    headers: { 'X-Kii-AppID': server.appId },
  });
  const failArgs = await new Promise((resolve) => post.fail((...a) => resolve(a)));
  assert.equal(failArgs[0].status >= 400, true);
  const sent = sb.fetches[sb.fetches.length - 1];
  assert.equal(sent.body, 'username=nobody+here&password=x');
  assert.equal(sent.headers['content-type'], 'application/x-www-form-urlencoded; charset=UTF-8');
  assert.equal(sent.headers['x-kii-appid'], server.appId);

  // JSON string body with contentType
  const created = await $.ajax({
    url: `${server.site}/apps/${server.appId}/users`,
    type: 'POST',
    contentType: 'application/vnd.kii.RegistrationRequest+json',
    data: JSON.stringify({ loginName: uniq('ajax'), password: PASSWORD }),
    dataType: 'json',
  });
  assert.ok(created.userID);

  // GET data goes to the query string
  await $.ajax({ url: `${root}/health`, data: { a: 1 } });
  assert.equal(sb.fetches[sb.fetches.length - 1].url, `${root}/health?a=1`);

  // lower-case methods are refused without a request
  const before = sb.fetches.length;
  const lower = await new Promise((resolve) => $.ajax({ url: `${root}/health`, type: 'get', error: (...a) => resolve(a) }));
  assert.equal(lower[1], 'error');
  assert.match(String(lower[2].message), /upper-case/);
  assert.equal(sb.fetches.length, before);

  // refused host / network failure: status 0, textStatus 'error', errorThrown is the Error
  const refused = await new Promise((resolve) => $.ajax({ url: 'http://example.invalid/x', type: 'GET' }).fail((...a) => resolve(a)));
  assert.equal(refused[0].status, 0);
  assert.equal(refused[1], 'error');
  assert.match(refused[2].message, /not allowed/);

  // unparsable JSON
  const parseErr = await new Promise((resolve) => $.ajax({ url: `${root}/health`, dataType: 'json', beforeSend: (xhr) => { xhr.setRequestHeader('X-Test', '1'); } })
    .done(() => resolve(null)).fail((...a) => resolve(a)));
  assert.equal(parseErr, null, 'valid JSON parses');
  assert.equal(sb.fetches[sb.fetches.length - 1].headers['x-test'], '1');
});
