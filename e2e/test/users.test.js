'use strict';
// Users: registration, login, tokens, attributes, password, lookup, deletion.
// Wire behaviour: shared/spec/kii-rest-wire.md §2.

const assert = require('node:assert/strict');
const {
  readEnv,
  newClient,
  uniqueName,
  uniqueEmail,
  uniquePhone,
  randomHex,
  registerUser,
  expectReject,
  assertKiiError,
  kumoTest: test,
  wire,
} = require('./helpers');

readEnv(); // fail the whole file at once, with a clear message, if the server is not configured

/** Asserts an SDK login failure is the OAuth `invalid_grant` error (HTTP 400). */
function assertInvalidGrant(r) {
  assert.ok(
    r.raw.startsWith('invalid_grant'),
    `expected the SDK message to start with "invalid_grant", got: ${r.raw}`,
  );
  assert.equal(r.code, 'invalid_grant');
  assert.equal(r.status, 400);
}

/** Asserts a token was refused as invalid (WRONG_TOKEN 403 or UNAUTHORIZED 401). */
function assertTokenRefused(r) {
  assert.ok(
    (r.code === 'WRONG_TOKEN' && r.status === 403) || (r.code === 'UNAUTHORIZED' && r.status === 401),
    `expected WRONG_TOKEN (403) or UNAUTHORIZED (401), got code=${r.code} status=${r.status} (SDK message: ${r.raw})`,
  );
}

test('users: register with username, password, display name and a custom field; refresh shows them', async () => {
  const { KiiUser } = newClient();
  const username = uniqueName('alice');
  const user = KiiUser.userWithUsername(username, 'secret123');
  user.setDisplayName('Alice Example');
  user.set('age', 30);

  const registered = await user.register();

  const current = KiiUser.getCurrentUser();
  assert.ok(current, 'after register() the namespace should have a current user');
  assert.equal(typeof current.getID(), 'string');
  assert.ok(current.getID().length > 0, 'current user has no ID');
  assert.equal(typeof current.getAccessToken(), 'string');
  assert.ok(current.getAccessToken().length > 0, 'current user has no access token');
  assert.equal(registered.getID(), current.getID(), 'register() should resolve with the logged-in user');

  const refreshed = await current.refresh();
  assert.equal(refreshed.getID(), current.getID());
  assert.equal(refreshed.getUsername(), username);
  assert.equal(refreshed.getDisplayName(), 'Alice Example');
  assert.equal(refreshed.get('age'), 30);
  assert.equal(refreshed.get('password'), undefined, 'the user document must not contain the password');
});

test('users: registering a taken username fails with USER_ALREADY_EXISTS (409)', async () => {
  const first = await registerUser({ prefix: 'dup' });

  const { KiiUser } = newClient();
  const again = KiiUser.userWithUsername(first.username, 'another123');
  const r = await expectReject(again.register(), 'registering an existing username');
  assertKiiError(r, 'USER_ALREADY_EXISTS', 409);
  assert.equal(KiiUser.getCurrentUser(), null, 'a failed registration must not log anyone in');

  // The original account is untouched: its password still works.
  const other = newClient();
  const back = await other.KiiUser.authenticate(first.username, first.password);
  assert.equal(back.getID(), first.id);
});

test('users: register with an email address, then log in with it', async () => {
  const email = uniqueEmail('reg');
  const password = 'mail-pass-1';
  const ns = newClient();
  await ns.KiiUser.userWithEmailAddress(email, password).register();
  const id = ns.KiiUser.getCurrentUser().getID();
  assert.ok(id, 'registered email user has no ID');

  const other = newClient();
  const user = await other.KiiUser.authenticate(email, password);
  assert.equal(user.getID(), id);
  assert.ok(user.getAccessToken());
  const refreshed = await other.KiiUser.getCurrentUser().refresh();
  assert.equal(refreshed.getEmailAddress(), email);
});

test('users: register with a phone number, then log in with it', async () => {
  const phone = uniquePhone();
  const password = 'phone-pass-1';
  const ns = newClient();
  await ns.KiiUser.userWithPhoneNumber(phone, password).register();
  const id = ns.KiiUser.getCurrentUser().getID();
  assert.ok(id, 'registered phone user has no ID');

  const other = newClient();
  const user = await other.KiiUser.authenticate(phone, password);
  assert.equal(user.getID(), id);
  assert.ok(user.getAccessToken());
  const refreshed = await other.KiiUser.getCurrentUser().refresh();
  assert.equal(refreshed.getPhoneNumber(), phone);
});

test('users: login with a wrong password or an unknown user fails with invalid_grant (400)', async () => {
  const a = await registerUser({ prefix: 'wrongpw' });

  const ns = newClient();
  const r = await expectReject(ns.KiiUser.authenticate(a.username, 'not-the-password'), 'login with a wrong password');
  assertInvalidGrant(r);
  assert.equal(ns.KiiUser.getCurrentUser(), null, 'a failed login must not leave a current user');

  const r2 = await expectReject(ns.KiiUser.authenticate(uniqueName('ghost'), 'whatever1'), 'login as an unknown user');
  assertInvalidGrant(r2);
});

test('users: authenticateWithToken logs in as the token owner; a bogus token fails with WRONG_TOKEN (403)', async () => {
  const a = await registerUser({ prefix: 'tok' });

  const ns = newClient();
  const user = await ns.KiiUser.authenticateWithToken(a.token);
  assert.equal(user.getID(), a.id);
  assert.equal(user.getUsername(), a.username, 'authenticateWithToken loads the user document');
  const current = ns.KiiUser.getCurrentUser();
  assert.equal(current.getID(), a.id);
  assert.equal(current.getAccessToken(), a.token);
  // The token keeps working for ordinary calls.
  const refreshed = await current.refresh();
  assert.equal(refreshed.getUsername(), a.username);

  const bogus = newClient();
  const r = await expectReject(bogus.KiiUser.authenticateWithToken('bogus-' + randomHex(16)), 'authenticateWithToken with a bogus token');
  assertKiiError(r, 'WRONG_TOKEN', 403);
  assert.equal(bogus.KiiUser.getCurrentUser(), null);
});

test('users: with Kii.setAccessTokenExpiration(3600) login sends expiresAt and the token works', async () => {
  const a = await registerUser({ prefix: 'exp' });

  const ns = newClient();
  ns.Kii.setAccessTokenExpiration(3600);
  const mark = wire.mark();
  const before = Date.now();
  const user = await ns.KiiUser.authenticate(a.username, a.password);
  const after = Date.now();
  assert.equal(user.getID(), a.id);
  const token = user.getAccessToken();
  assert.ok(token, 'login returned no token');

  // What the SDK sent (kii-rest-wire.md §2.2): {"username","password","expiresAt":<epoch ms>}.
  const req = wire.last('POST', /\/oauth2\/token$/, mark);
  assert.ok(req, 'no token request was recorded');
  const body = wire.requestJson(req);
  assert.equal(typeof body.expiresAt, 'number', `token request body has no numeric expiresAt: ${req.reqBody}`);
  assert.ok(body.expiresAt >= before + 3600e3 - 5e3 && body.expiresAt <= after + 3600e3 + 5e3);

  // If the server states a lifetime, it must be the one asked for, not "forever".
  const res = JSON.parse(req.resText);
  if (res.expires_in != null) {
    assert.ok(
      res.expires_in > 3000 && res.expires_in <= 3600 + 5,
      `asked for a token valid for 3600 s, the server says expires_in=${res.expires_in}`,
    );
    const expiresAt = user.getAccessTokenObject().expires_at;
    assert.ok(expiresAt instanceof Date);
    assert.ok(expiresAt.getTime() <= after + 3600e3 + 5e3);
  }

  // The token obtained this way works in another client.
  const other = newClient();
  const again = await other.KiiUser.authenticateWithToken(token);
  assert.equal(again.getID(), a.id);
});

test('users: save() of a custom field is visible to another client; update() deletes omitted custom fields', async () => {
  const a = await registerUser({ prefix: 'upd', displayName: 'Updater', fields: { age: 30, hobby: 'chess' } });

  // save(): POST /users/{id} with the local custom fields.
  const me = a.sdk.KiiUser.getCurrentUser();
  me.set('score', 5);
  await me.save();

  const second = newClient();
  const seen = await second.KiiUser.authenticateWithToken(a.token);
  assert.equal(seen.get('score'), 5);
  assert.equal(seen.get('age'), 30);
  assert.equal(seen.get('hobby'), 'chess');
  assert.equal(seen.getDisplayName(), 'Updater');

  // update(identityData, callbacks, userFields, removeFields): the SDK refreshes, then sends every
  // custom field it knows plus userFields, minus removeFields. The server replaces the custom set,
  // so 'hobby' (omitted) must be gone afterwards (kii-rest-wire.md §2.5).
  const mark = wire.mark();
  const updated = await a.sdk.KiiUser.getCurrentUser().update(null, null, { level: 'gold' }, ['hobby']);
  assert.equal(updated.get('level'), 'gold');
  assert.equal(updated.get('hobby'), undefined);
  const post = wire.last('POST', /\/apps\/[^/]+\/users\/[^/]+$/, mark);
  assert.ok(post, 'update() sent no POST /users/{id}');
  const sent = wire.requestJson(post);
  assert.equal(sent.level, 'gold');
  assert.ok(!('hobby' in sent), 'the SDK removes a field by leaving it out of the body');

  const third = newClient();
  const after = await third.KiiUser.authenticateWithToken(a.token);
  assert.equal(after.get('hobby'), undefined, 'a custom field left out of an update must be deleted');
  assert.equal(after.get('level'), 'gold');
  assert.equal(after.get('score'), 5);
  assert.equal(after.get('age'), 30);
  assert.equal(after.getDisplayName(), 'Updater', 'predefined fields left out of an update stay unchanged');
  assert.equal(after.getUsername(), a.username);
});

test('users: update() with identityData changes the login name', async () => {
  const a = await registerUser({ prefix: 'ren', fields: { keep: 'me' } });
  const newName = uniqueName('renamed');

  await a.sdk.KiiUser.getCurrentUser().update({ username: newName }, null, null, null);

  const ns = newClient();
  const user = await ns.KiiUser.authenticate(newName, a.password);
  assert.equal(user.getID(), a.id);
  const refreshed = await ns.KiiUser.getCurrentUser().refresh();
  assert.equal(refreshed.getUsername(), newName);
  assert.equal(refreshed.get('keep'), 'me', 'custom fields resent by the SDK survive an identity update');

  const old = newClient();
  const r = await expectReject(old.KiiUser.authenticate(a.username, a.password), 'login with the old login name');
  assertInvalidGrant(r);
});

test('users: updatePassword changes the password and invalidates the old tokens', async () => {
  const a = await registerUser({ prefix: 'pw' });
  const newPassword = 'newsecret456';

  await a.sdk.KiiUser.getCurrentUser().updatePassword(a.password, newPassword);

  const withNew = newClient();
  const user = await withNew.KiiUser.authenticate(a.username, newPassword);
  assert.equal(user.getID(), a.id);

  const withOld = newClient();
  const r = await expectReject(withOld.KiiUser.authenticate(a.username, a.password), 'login with the old password');
  assertInvalidGrant(r);

  // Kii invalidates all of the user's existing tokens on a password change.
  const oldToken = newClient();
  const r2 = await expectReject(oldToken.KiiUser.authenticateWithToken(a.token), 'authenticateWithToken with a pre-change token');
  assertTokenRefused(r2);

  // The token issued after the change works.
  const fresh = newClient();
  const again = await fresh.KiiUser.authenticateWithToken(user.getAccessToken());
  assert.equal(again.getID(), a.id);
});

test('users: updatePassword with a wrong old password fails with WRONG_PASSWORD and changes nothing', async () => {
  const a = await registerUser({ prefix: 'pwbad' });

  const r = await expectReject(
    a.sdk.KiiUser.getCurrentUser().updatePassword('not-the-password', 'newsecret456'),
    'updatePassword with a wrong old password',
  );
  assertKiiError(r, 'WRONG_PASSWORD', 401);

  const ns = newClient();
  const user = await ns.KiiUser.authenticate(a.username, a.password);
  assert.equal(user.getID(), a.id, 'the original password must still work');
  // And the session that made the failed attempt is still valid.
  const still = await a.sdk.KiiUser.getCurrentUser().refresh();
  assert.equal(still.getUsername(), a.username);
});

test('users: a logged-in user finds another by username, email and phone; unknown names give USER_NOT_FOUND', async () => {
  const email = uniqueEmail('finda');
  const phone = uniquePhone();
  const a = await registerUser({ prefix: 'finda', email, phone, displayName: 'Findable' });
  const b = await registerUser({ prefix: 'findb' });
  const { KiiUser } = b.sdk;

  const byName = await KiiUser.findUserByUsername(a.username);
  assert.equal(byName.getID(), a.id);
  assert.equal(byName.getUsername(), a.username);
  assert.equal(byName.getDisplayName(), 'Findable');

  const byEmail = await KiiUser.findUserByEmail(email);
  assert.equal(byEmail.getID(), a.id);

  const byPhone = await KiiUser.findUserByPhone(phone);
  assert.equal(byPhone.getID(), a.id);

  const r = await expectReject(KiiUser.findUserByUsername(uniqueName('nobody')), 'finding an unknown username');
  assertKiiError(r, 'USER_NOT_FOUND', 404);

  const r2 = await expectReject(KiiUser.findUserByEmail(uniqueEmail('nobody')), 'finding an unknown email');
  assertKiiError(r2, 'USER_NOT_FOUND', 404);
});

test('users: delete() removes the account: login and the old token stop working', async () => {
  const a = await registerUser({ prefix: 'del' });
  const b = await registerUser({ prefix: 'delwatch' });

  await a.sdk.KiiUser.getCurrentUser().delete();

  const ns = newClient();
  const r = await expectReject(ns.KiiUser.authenticate(a.username, a.password), 'login as a deleted user');
  assertInvalidGrant(r);

  const ns2 = newClient();
  const r2 = await expectReject(ns2.KiiUser.authenticateWithToken(a.token), 'authenticateWithToken with a deleted user\'s token');
  assert.ok(
    [401, 403, 404].includes(r2.status),
    `expected a 401/403/404 error for a deleted user's token, got code=${r2.code} status=${r2.status} (SDK message: ${r2.raw})`,
  );

  // Other users no longer find it.
  const r3 = await expectReject(b.sdk.KiiUser.findUserByUsername(a.username), 'finding a deleted user');
  assertKiiError(r3, 'USER_NOT_FOUND', 404);
});
