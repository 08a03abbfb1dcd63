'use strict';
// App admin token: Kii.authenticateAsAppAdmin(clientId, clientSecret).
// Wire behaviour: shared/spec/kii-rest-wire.md §3.

const assert = require('node:assert/strict');
const {
  readEnv,
  newClient,
  uniqueName,
  randomHex,
  registerUser,
  expectReject,
  assertKiiError,
  kumoTest: test,
  ids,
} = require('./helpers');

const env = readEnv();

test('admin: authenticateAsAppAdmin gives a context that can find and read users', async () => {
  const a = await registerUser({ prefix: 'adm', displayName: 'Admin Target', fields: { tier: 'silver' } });

  const { Kii, KiiAppAdminContext } = newClient();
  const admin = await Kii.authenticateAsAppAdmin(env.clientId, env.clientSecret);
  assert.ok(admin instanceof KiiAppAdminContext, 'authenticateAsAppAdmin should resolve with a KiiAppAdminContext');
  assert.equal(typeof admin.getAccessToken(), 'string');
  assert.ok(admin.getAccessToken().length > 0, 'admin context has no token');

  // Admin variants of find resolve with [adminContext, user].
  const [ctx, found] = await admin.findUserByUsername(a.username);
  assert.equal(ctx, admin);
  assert.equal(found.getID(), a.id);
  assert.equal(found.getUsername(), a.username);

  const r = await expectReject(admin.findUserByUsername(uniqueName('nobody')), 'admin finding an unknown username');
  assertKiiError(r, 'USER_NOT_FOUND', 404);

  // The admin token reads any user's document.
  const user = await admin.userWithID(a.id).refresh();
  assert.equal(user.getUsername(), a.username);
  assert.equal(user.getDisplayName(), 'Admin Target');
  assert.equal(user.get('tier'), 'silver');
});

test('admin: the admin context creates groups on behalf of a user and may rename them', async () => {
  const a = await registerUser({ prefix: 'admga' });
  const b = await registerUser({ prefix: 'admgb' });
  const { Kii } = newClient();
  const admin = await Kii.authenticateAsAppAdmin(env.clientId, env.clientSecret);

  // New group through the admin context with an explicit owner: POST /groups {"name","owner"}.
  const group = admin.groupWithName('admins-group');
  group.addUser(admin.userWithID(b.id));
  await group.saveWithOwner(a.id);
  const gid = group.getID();
  assert.ok(gid, 'admin-created group has no ID');

  const seen = a.sdk.KiiGroup.groupWithID(gid);
  await seen.refresh();
  assert.equal(seen.getName(), 'admins-group');
  assert.equal(seen.getCachedOwner().getID(), a.id, 'the group belongs to the owner named by the admin');
  const [, members] = await seen.getMemberList();
  const memberIds = ids(members);
  assert.ok(memberIds.includes(a.id) && memberIds.includes(b.id), `expected A and B as members, got ${memberIds}`);

  // The admin is not the owner but may rename (admin bypasses ownership checks).
  await admin.groupWithID(gid).changeGroupName('renamed-by-admin');
  await seen.refresh();
  assert.equal(seen.getName(), 'renamed-by-admin');

  // Client-chosen ID with an explicit owner: PUT /groups/{id}.
  const namedId = 'adm' + randomHex(5);
  const named = await admin.registerGroupWithOwnerAndID(namedId, 'admin-named', a.id, [admin.userWithID(b.id)]);
  assert.equal(named.getID(), namedId);
  const check = b.sdk.KiiGroup.groupWithID(namedId);
  await check.refresh();
  assert.equal(check.getName(), 'admin-named');
  assert.equal(check.getCachedOwner().getID(), a.id);
});

test('admin: authenticateAsAppAdmin with a wrong secret fails with invalid_grant (400)', async () => {
  const { Kii } = newClient();
  const r = await expectReject(
    Kii.authenticateAsAppAdmin(env.clientId, env.clientSecret + '-wrong'),
    'admin login with a wrong client secret',
  );
  assert.ok(r.raw.startsWith('invalid_grant'), `expected the SDK message to start with "invalid_grant", got: ${r.raw}`);
  assert.equal(r.status, 400);

  const r2 = await expectReject(
    Kii.authenticateAsAppAdmin('no-such-client-' + Date.now(), env.clientSecret),
    'admin login with an unknown client ID',
  );
  assert.ok(
    r2.raw.startsWith('invalid_grant') || r2.code === 'CLIENT_CREDENTIALS_NOT_FOUND',
    `expected invalid_grant or CLIENT_CREDENTIALS_NOT_FOUND, got: ${r2.raw}`,
  );
});
