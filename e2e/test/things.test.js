'use strict';
// Things with the real SDK's KiiThing: register (with the token in the answer), authenticate as
// the thing, load by thing ID and vendor thing ID, update, owners, enable/disable, thing-scope
// buckets, and what a non-owner, a wrong password and a disabled thing are refused.

const assert = require('node:assert/strict');
const { readEnv, newClient, randomHex, registerUser, expectReject, assertKiiError, kumoTest: test } = require('./helpers');

const env = readEnv();

function vendorID(prefix) {
  return `${prefix}-${randomHex(5)}`;
}

async function adminContext() {
  const sdk = newClient();
  return sdk.Kii.authenticateAsAppAdmin(env.clientId, env.clientSecret);
}

test('things: register with KiiThing.register and read it back by both IDs', async () => {
  const sdk = newClient();
  const vendor = vendorID('cam');
  const thing = await sdk.KiiThing.register({
    _vendorThingID: vendor,
    _password: 'pw-1234',
    _thingType: 'CAMERA',
    _numberField1: 3,
    custom: { nested: [1, 2] },
  });
  assert.match(thing.getThingID(), /^th\./);
  assert.equal(thing.getVendorThingID(), vendor);
  assert.equal(typeof thing.getAccessToken(), 'string', 'ThingRegistrationAndAuthorization answers with a token');
  assert.ok(thing.getCreated() instanceof Date && !isNaN(thing.getCreated().getTime()));
  assert.equal(thing.fields._thingType, 'CAMERA');
  assert.deepEqual(thing.fields.custom, { nested: [1, 2] });

  const admin = await adminContext();
  const byVendor = await admin.loadThingWithVendorThingID(vendor);
  assert.equal(byVendor.getThingID(), thing.getThingID());
  assert.equal(byVendor.getDisabled(), false);
  assert.equal(byVendor.fields._numberField1, 3);
  const byID = await admin.loadThingWithThingID(thing.getThingID());
  assert.equal(byID.getVendorThingID(), vendor);

  const dup = await expectReject(sdk.KiiThing.register({ _vendorThingID: vendor, _password: 'x' }), 'a second registration');
  assert.match(dup.raw, /^register thing failed\. statusCode: 409 error code: THING_ALREADY_EXISTS/);
  const missing = await expectReject(sdk.KiiThing.register({ _vendorThingID: vendorID('np') }), 'a registration without password');
  assert.match(missing.raw, /statusCode: 400 error code: INVALID_INPUT_DATA/);
});

test('things: Kii.authenticateAsThing gives a thing context whose token reads the thing and its bucket', async () => {
  const sdk = newClient();
  const vendor = vendorID('sensor');
  const thing = await sdk.KiiThing.register({ _vendorThingID: vendor, _password: 'pw-1234' });
  const ctx = await sdk.Kii.authenticateAsThing(vendor, 'pw-1234');
  assert.equal(ctx._thingId, thing.getThingID());
  assert.equal(typeof ctx._token, 'string');

  // The thing's token, as a plain REST caller: its own bucket works, another thing's does not.
  const put = async (path, token, body) => fetch(`${env.site}/apps/${env.appId}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const own = await put(`/things/${thing.getThingID()}/buckets/readings/objects`, ctx._token, { t: 21 });
  assert.equal(own.status, 201);
  const other = await sdk.KiiThing.register({ _vendorThingID: vendorID('other'), _password: 'pw' });
  const foreign = await put(`/things/${other.getThingID()}/buckets/readings/objects`, ctx._token, { t: 1 });
  assert.equal(foreign.status, 403);
  assert.equal((await foreign.json()).errorCode, 'ACCESS_DENIED');

  const wrong = await expectReject(sdk.Kii.authenticateAsThing(vendor, 'nope'), 'a wrong password');
  assert.match(wrong.raw, /^authenticate as thing failed\. statusCode: 400/);
});

test('things: owners, isOwner, a user updating an owned thing, and a non-owner refused', async () => {
  const owner = await registerUser({ prefix: 'thown' });
  const stranger = await registerUser({ prefix: 'thstr' });
  const vendor = vendorID('lamp');
  const thing = await owner.sdk.KiiThing.register({ _vendorThingID: vendor, _password: 'pw-1234' });

  // The SDK sends the current user's token: a stranger's view is refused.
  const refused = await expectReject(stranger.sdk.KiiThing.loadWithVendorThingID(vendor), 'a stranger loading the thing');
  assert.match(refused.raw, /^load thing failed\. statusCode: 403 error code: ACCESS_DENIED/);

  // The owner adds itself with the thing's password, then reads and updates it.
  const me = owner.sdk.KiiUser.getCurrentUser();
  const added = await owner.sdk.KiiThing.registerOwnerWithVendorThingIDAndPassword(vendor, me, 'pw-1234');
  assert.equal(added, me);
  const loaded = await owner.sdk.KiiThing.loadWithVendorThingID(vendor);
  const isOwner = await loaded.isOwner(me);
  assert.equal(isOwner[2], true);
  const strangerUser = owner.sdk.KiiUser.userWithID(stranger.id);
  assert.equal((await loaded.isOwner(strangerUser))[2], false);
  loaded.fields._stringField1 = 'kitchen';
  await loaded.update();
  const again = await owner.sdk.KiiThing.loadWithThingID(thing.getThingID());
  assert.equal(again.fields._stringField1, 'kitchen');

  // Thing-scope data: the owner writes and queries the thing's bucket.
  const bucket = again.bucketWithName('log');
  const obj = bucket.createObject();
  obj.set('level', 3);
  await obj.save();
  assert.match(obj.objectURI(), /^kiicloud:\/\/things\/th\./);
  const [, results] = await bucket.executeQuery(owner.sdk.KiiQuery.queryWithClause(owner.sdk.KiiClause.greaterThan('level', 1)));
  assert.equal(results.length, 1);

  const wrongPw = await expectReject(
    stranger.sdk.KiiThing.registerOwnerWithThingIDAndPassword(thing.getThingID(), stranger.sdk.KiiUser.getCurrentUser(), 'bad'),
    'an owner registration with a wrong password',
  );
  assertKiiError(wrongPw, 'UNAUTHORIZED');

  await again.unregisterOwner(me);
  const gone = await expectReject(owner.sdk.KiiThing.loadWithThingID(thing.getThingID()), 'a former owner loading the thing');
  assert.match(gone.raw, /statusCode: 403/);
});

test('things: the admin disables and enables a thing; a disabled thing cannot authenticate; deleteThing', async () => {
  const sdk = newClient();
  const vendor = vendorID('door');
  await sdk.KiiThing.register({ _vendorThingID: vendor, _password: 'pw-1234' });
  const admin = await adminContext();
  const thing = await admin.loadThingWithVendorThingID(vendor);
  await thing.disable();
  assert.equal(thing.getDisabled(), true);
  assert.equal((await admin.loadThingWithVendorThingID(vendor)).getDisabled(), true);
  const refused = await expectReject(sdk.Kii.authenticateAsThing(vendor, 'pw-1234'), 'a disabled thing authenticating');
  assert.match(refused.raw, /statusCode: 400/);
  await thing.enable();
  await sdk.Kii.authenticateAsThing(vendor, 'pw-1234');

  // The admin makes a user owner, then deletes the thing.
  const user = await registerUser({ prefix: 'thadm' });
  const [owner] = await admin.registerOwnerWithVendorThingID(vendor, admin.userWithID(user.id));
  assert.equal(owner.getID(), user.id);
  await admin.thingWithID(thing.getThingID()).deleteThing();
  const missing = await expectReject(admin.loadThingWithThingID(thing.getThingID()), 'loading a deleted thing');
  assert.match(missing.raw, /^refresh thing failed\. statusCode: 404 error code: THING_NOT_FOUND/);
});

test('things: KiiThing.executeQuery lists the things a user owns, by type, in pages', async () => {
  const owner = await registerUser({ prefix: 'thq' });
  const me = owner.sdk.KiiUser.getCurrentUser();
  const ids = [];
  for (const type of ['LAMP', 'LAMP', 'FAN']) {
    const vendor = vendorID('q');
    const thing = await owner.sdk.KiiThing.register({ _vendorThingID: vendor, _password: 'pw', _thingType: type });
    await owner.sdk.KiiThing.registerOwnerWithVendorThingIDAndPassword(vendor, me, 'pw');
    ids.push(thing.getThingID());
  }
  const query = owner.sdk.KiiThingQuery.thingQuery(me);
  const all = await owner.sdk.KiiThing.executeQuery(query);
  assert.deepEqual(all.getResult().map((t) => t.getThingID()).sort(), [...ids].sort());
  assert.equal(all.hasNext(), false);

  const lamps = owner.sdk.KiiThingQuery.thingQuery(me);
  lamps.setThingType('LAMP');
  const found = await owner.sdk.KiiThing.executeQuery(lamps);
  assert.equal(found.getResult().length, 2);
  assert.ok(found.getResult().every((t) => t.fields._thingType === 'LAMP'));

  const paged = owner.sdk.KiiThingQuery.thingQuery(me);
  paged.setLimit(2);
  const first = await owner.sdk.KiiThing.executeQuery(paged);
  assert.equal(first.getResult().length, 2);
  assert.equal(first.hasNext(), true);
  const second = await first.getNextResult();
  assert.equal(second.getResult().length, 1);
  assert.equal(second.hasNext(), false);

  const stranger = await registerUser({ prefix: 'thqs' });
  const refused = await expectReject(
    stranger.sdk.KiiThing.executeQuery(stranger.sdk.KiiThingQuery.thingQuery(stranger.sdk.KiiUser.userWithID(owner.id))),
    'a query for another user\'s things',
  );
  assert.match(refused.raw, /^query thing failed\. statusCode: 401 error code: UNAUTHORIZED/);
});
