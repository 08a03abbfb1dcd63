'use strict';
// Buckets and objects: scopes, create / refresh / partial and full update, versions and
// optimistic locking, client-chosen IDs, delete, bucket delete, count.
// Wire behaviour: shared/spec/kii-rest-wire.md §5 (and §10.4-10.5 for observed requests).

const assert = require('node:assert/strict');
const {
  readEnv,
  newClient,
  randomHex,
  registerUser,
  parseError,
  expectReject,
  assertKiiError,
  kumoTest: test,
  wire,
} = require('./helpers');

const env = readEnv(); // fail the whole file at once, with a clear message, if the server is not configured

// ------------------------------------------------------------------------------------------
// Local helpers

/** A unique bucket name (2-64 chars of [a-zA-Z0-9_-]). */
function uniqueBucket(prefix = 'b') {
  return `${prefix}_${Date.now().toString(36)}_${randomHex(3)}`;
}

/**
 * The version the SDK will send back in If-Match. The SDK has no public getter: it keeps the
 * ETag header (after create / PUT) or the body's `_version` (after GET / PATCH / query) in
 * `_etag`, verbatim. Real Kii quotes the ETag, so quotes (and a W/ prefix) are removed here.
 */
function versionOf(obj) {
  if (obj._etag == null) return obj._etag;
  return String(obj._etag).replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** Creates and saves an object with the given custom fields; returns the saved KiiObject. */
async function createObject(bucket, fields, type) {
  const obj = type ? bucket.createObjectWithType(type) : bucket.createObject();
  for (const [k, v] of Object.entries(fields)) obj.set(k, v);
  const saved = await obj.save();
  assert.equal(saved, obj, 'save() resolves with the object it was called on');
  assert.equal(typeof obj.getID(), 'string', 'a saved object has an ID');
  assert.ok(obj.getID().length > 0, 'a saved object has a non-empty ID');
  return obj;
}

/** A fresh handle on the object `uri` in namespace `sdk`, refreshed from the server. */
async function load(sdk, uri) {
  const obj = sdk.KiiObject.objectWithURI(uri);
  const refreshed = await obj.refresh();
  assert.equal(refreshed, obj, 'refresh() resolves with the object it was called on');
  return obj;
}

/** The custom fields of a KiiObject, as a plain object. */
function fieldsOf(obj) {
  const out = {};
  for (const k of obj.getKeys()) out[k] = obj.get(k);
  return out;
}

/** Resolves with the count of a count()/countWithQuery() call ([bucket, query, count]). */
async function countOf(promise) {
  const result = await promise;
  const count = result[2];
  assert.equal(typeof count, 'number', `count should resolve with a number in [2], got ${count}`);
  return count;
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Regex for the object collection path of an app-scope bucket. */
function appObjectsRe(bucketName) {
  return new RegExp(`/apps/[^/]+/buckets/${escapeRe(bucketName)}/objects$`);
}

/** Regex for one object's path, in any scope. */
function objectRe(id) {
  return new RegExp(`/buckets/[^/]+/objects/${escapeRe(id)}$`);
}

/** A second, independent client logged in as the same user (via the token). */
async function sameUserElsewhere(u) {
  const sdk = newClient();
  await sdk.KiiUser.authenticateWithToken(u.token);
  return sdk;
}

// ------------------------------------------------------------------------------------------
// Create and read

test('objects: create in an app bucket gives an ID and version 1; refresh shows fields, times and owner', async () => {
  const a = await registerUser({ prefix: 'objc' });
  const bucketName = uniqueBucket('objc');
  const bucket = a.sdk.Kii.bucketWithName(bucketName);
  const fields = {
    score: 10,
    name: 'a',
    ratio: 2.5,
    flag: true,
    tags: ['x', 'y'],
    nested: { k: 1, deep: { s: 'v' } },
  };

  const mark = wire.mark();
  const before = Date.now();
  const obj = await createObject(bucket, fields);
  const after = Date.now();
  const id = obj.getID();

  // POST /buckets/{b}/objects -> 201 {"objectID", "createdAt", "dataType"} + ETag "1".
  const post = wire.last('POST', appObjectsRe(bucketName), mark);
  assert.ok(post, 'no POST .../objects was recorded');
  assert.equal(post.status, 201, `object creation should answer 201, got ${post.status} ${post.resText}`);
  assert.deepEqual(wire.requestJson(post), fields, 'the SDK sends the custom fields as the body');
  const created = JSON.parse(post.resText);
  assert.equal(created.objectID, id);
  assert.equal(versionOf(obj), '1', `a new object has version 1 (ETag), got ${obj._etag}`);
  assert.equal(typeof obj.getCreated(), 'number', `createdAt should be epoch ms, got ${obj.getCreated()}`);
  assert.ok(
    obj.getCreated() >= before - 60e3 && obj.getCreated() <= after + 60e3,
    `createdAt ${obj.getCreated()} is not close to the time of the call (${before}..${after})`,
  );
  assert.equal(obj.getObjectType() == null, true, 'an untyped object has no type');
  const uri = obj.objectURI();
  assert.equal(uri, `kiicloud://buckets/${bucketName}/objects/${id}`);

  // Another client of the same user reads it back.
  const other = await sameUserElsewhere(a);
  const mark2 = wire.mark();
  const copy = await load(other, uri);
  assert.equal(copy.getID(), id);
  assert.deepEqual(fieldsOf(copy), fields, 'refresh returns exactly the custom fields that were saved');
  assert.equal(copy.getCreated(), obj.getCreated(), '_created equals the createdAt of the creation response');
  assert.equal(typeof copy.getModified(), 'number');
  assert.ok(copy.getModified() >= copy.getCreated(), '_modified must not precede _created');
  assert.equal(versionOf(copy), '1');
  assert.equal(copy.getObjectType() == null, true, 'an untyped object has no _dataType');

  // The document on the wire (kii-rest-wire.md §5.2).
  const get = wire.last('GET', objectRe(id), mark2);
  assert.ok(get, 'no GET of the object was recorded');
  assert.equal(get.status, 200);
  const doc = JSON.parse(get.resText);
  assert.equal(doc._id, id);
  assert.equal(doc._owner, a.id, 'the owner is the creating user');
  assert.equal(doc._version, '1', `_version must be the string "1", got ${JSON.stringify(doc._version)}`);
  assert.equal(typeof doc._created, 'number');
  assert.equal(typeof doc._modified, 'number');
});

test('objects: createObjectWithType sends the vendor type; refresh and query give getObjectType() "score"', async () => {
  const a = await registerUser({ prefix: 'objt' });
  const bucketName = uniqueBucket('objt');
  const bucket = a.sdk.Kii.bucketWithName(bucketName);

  const mark = wire.mark();
  const obj = await createObject(bucket, { points: 7 }, 'score');
  const post = wire.last('POST', appObjectsRe(bucketName), mark);
  assert.ok(post, 'no POST .../objects was recorded');
  assert.equal(post.reqHeaders['content-type'], `application/vnd.${env.appId}.score+json`);
  assert.equal(post.status, 201, `typed object creation should answer 201, got ${post.status} ${post.resText}`);
  assert.equal(obj.getObjectType(), 'score', 'the creation response must not reset the type');
  await createObject(bucket, { points: 8 }); // an untyped neighbour

  const other = await sameUserElsewhere(a);
  const mark2 = wire.mark();
  const copy = await load(other, obj.objectURI());
  assert.equal(copy.getObjectType(), 'score');
  assert.equal(copy.get('points'), 7);
  const doc = JSON.parse(wire.last('GET', objectRe(obj.getID()), mark2).resText);
  assert.equal(doc._dataType, 'score', 'the document carries the bare type name in _dataType');

  // A query returns the type too, and an update keeps it.
  const [, results] = await bucket.executeQuery(a.sdk.KiiQuery.queryWithClause(a.sdk.KiiClause.equals('points', 7)));
  assert.equal(results.length, 1);
  assert.equal(results[0].getObjectType(), 'score');
  copy.set('points', 9);
  await copy.save();
  const again = await load(a.sdk, obj.objectURI());
  assert.equal(again.getObjectType(), 'score', 'an update keeps the type');
  assert.equal(again.get('points'), 9);
});

// ------------------------------------------------------------------------------------------
// Updates and versions

test('objects: save() after set() sends only the changed fields and merges; other fields are kept', async () => {
  const a = await registerUser({ prefix: 'objm' });
  const bucket = a.sdk.Kii.bucketWithName(uniqueBucket('objm'));
  const obj = await createObject(bucket, { a: 1, b: 'two' });
  const id = obj.getID();

  // A second client loads the object, adds a field and saves (PATCH with only that field).
  const other = await sameUserElsewhere(a);
  const copy = await load(other, obj.objectURI());
  copy.set('c', 3);
  const mark = wire.mark();
  await copy.save();
  const patch = wire.last('POST', objectRe(id), mark);
  assert.ok(patch, 'save() on a saved object sent no POST to the object');
  assert.equal(patch.reqHeaders['x-http-method-override'], 'PATCH');
  assert.deepEqual(wire.requestJson(patch), { c: 3 }, 'save() sends only the fields changed with set()');
  assert.equal(patch.status, 200, `a partial update should answer 200, got ${patch.status} ${patch.resText}`);
  const merged = JSON.parse(patch.resText);
  assert.equal(merged.a, 1, 'the PATCH reply is the full merged document');
  assert.equal(merged.b, 'two');
  assert.equal(merged.c, 3);
  assert.equal(merged._version, '2', `the PATCH reply carries _version "2", got ${JSON.stringify(merged._version)}`);
  assert.deepEqual(fieldsOf(copy), { a: 1, b: 'two', c: 3 });
  assert.equal(versionOf(copy), '2');

  // The first client, without refreshing, changes another field: the server merges again and
  // the reply brings the field it did not know about.
  obj.set('a', 10);
  await obj.save();
  assert.deepEqual(fieldsOf(obj), { a: 10, b: 'two', c: 3 }, 'the PATCH reply is merged into the local object');
  assert.equal(versionOf(obj), '3');

  const fresh = await load(await sameUserElsewhere(a), obj.objectURI());
  assert.deepEqual(fieldsOf(fresh), { a: 10, b: 'two', c: 3 });
  assert.equal(versionOf(fresh), '3');
});

test('objects: saveAllFields() replaces the document: removed fields disappear, a bare handle wipes the rest', async () => {
  const a = await registerUser({ prefix: 'objr' });
  const bucket = a.sdk.Kii.bucketWithName(uniqueBucket('objr'));
  const obj = await createObject(bucket, { a: 1, b: 2, c: 3 });
  const id = obj.getID();

  // remove('b') + set('d') + saveAllFields(): PUT with the complete local set {a, c, d}.
  obj.remove('b');
  obj.set('d', 4);
  const mark = wire.mark();
  await obj.saveAllFields();
  const put = wire.last('PUT', objectRe(id), mark);
  assert.ok(put, 'saveAllFields() on a saved object sent no PUT');
  assert.deepEqual(wire.requestJson(put), { a: 1, c: 3, d: 4 });
  assert.equal(put.reqHeaders['if-match'], undefined, 'overwrite=true sends no If-Match');
  assert.equal(put.status, 200, `replacing an object should answer 200, got ${put.status} ${put.resText}`);
  assert.equal(versionOf(obj), '2', `the PUT reply's ETag should be version 2, got ${obj._etag}`);

  const other = await sameUserElsewhere(a);
  const copy = await load(other, obj.objectURI());
  assert.deepEqual(fieldsOf(copy), { a: 1, c: 3, d: 4 }, 'a field missing from a full update must be gone');
  assert.equal(versionOf(copy), '2');

  // A handle that knows nothing about the object (createObjectWithID, no refresh) and has only
  // one field: saveAllFields() replaces everything with that field.
  const bare = bucket.createObjectWithID(id);
  bare.set('z', 26);
  const mark2 = wire.mark();
  await bare.saveAllFields();
  const put2 = wire.last('PUT', objectRe(id), mark2);
  assert.deepEqual(wire.requestJson(put2), { z: 26 });
  assert.equal(put2.status, 200, `replacing an existing object should answer 200, got ${put2.status} ${put2.resText}`);

  const mark3 = wire.mark();
  await copy.refresh();
  assert.deepEqual(fieldsOf(copy), { z: 26 }, 'after a full replace only the new fields remain');
  assert.equal(versionOf(copy), '3');
  const doc = JSON.parse(wire.last('GET', objectRe(id), mark3).resText);
  assert.equal(doc._owner, a.id, 'replacing an object keeps its owner');
  assert.equal(doc._id, id);
});

test('objects: every write bumps the version by one (create 1, save 2, saveAllFields 3, save 4)', async () => {
  const a = await registerUser({ prefix: 'objv' });
  const bucket = a.sdk.Kii.bucketWithName(uniqueBucket('objv'));
  const obj = await createObject(bucket, { n: 0 });
  assert.equal(versionOf(obj), '1');
  const created = obj.getCreated();

  obj.set('n', 1);
  await obj.save();
  assert.equal(versionOf(obj), '2', 'after a partial update');

  obj.set('n', 2);
  await obj.saveAllFields();
  assert.equal(versionOf(obj), '3', 'after a full update');

  obj.set('n', 3);
  await obj.save();
  assert.equal(versionOf(obj), '4', 'after another partial update');

  const copy = await load(await sameUserElsewhere(a), obj.objectURI());
  assert.equal(versionOf(copy), '4');
  assert.equal(copy.get('n'), 3);
  assert.equal(copy.getCreated(), created, 'updates do not change _created');
  assert.ok(copy.getModified() >= created, '_modified is at least _created');

  // A read is not a write.
  await copy.refresh();
  assert.equal(versionOf(copy), '4', 'refresh must not change the version');
});

test('objects: optimistic locking: a stale save(null,false) / saveAllFields(null,false) fails with OBJECT_VERSION_IS_STALE (409)', async () => {
  const a = await registerUser({ prefix: 'objl' });
  const bucket = a.sdk.Kii.bucketWithName(uniqueBucket('objl'));
  const obj = await createObject(bucket, { n: 0 }); // client A: version from the ETag header ("1", quoted)
  const id = obj.getID();

  const other = await sameUserElsewhere(a);
  const copy = await load(other, obj.objectURI()); // client B: version from _version (1)
  assert.equal(versionOf(copy), '1');

  // A saves conditionally: If-Match carries the create ETag verbatim (quoted by real Kii).
  obj.set('n', 1);
  const mark = wire.mark();
  await obj.save(null, false);
  const patch = wire.last('POST', objectRe(id), mark);
  assert.ok(patch.reqHeaders['if-match'] != null, 'save(null, false) should send If-Match');
  assert.equal(patch.status, 200, `a conditional save with the current version should succeed, got ${patch.status} ${patch.resText}`);
  assert.equal(versionOf(obj), '2');

  // B still holds version 1.
  copy.set('n', 2);
  const mark2 = wire.mark();
  const r = await expectReject(copy.save(null, false), 'a conditional save with a stale version');
  assertKiiError(r, 'OBJECT_VERSION_IS_STALE', 409);
  const stale = wire.last('POST', objectRe(id), mark2);
  assert.equal(stale.reqHeaders['if-match'], '1');
  assert.equal(stale.status, 409);

  const r2 = await expectReject(copy.saveAllFields(null, false), 'a conditional full update with a stale version');
  assertKiiError(r2, 'OBJECT_VERSION_IS_STALE', 409);

  const check = await load(await sameUserElsewhere(a), obj.objectURI());
  assert.equal(check.get('n'), 1, 'refused updates must not change the object');
  assert.equal(versionOf(check), '2', 'refused updates must not bump the version');

  // After a refresh B is current again and may write conditionally (If-Match: 2, unquoted).
  await copy.refresh();
  assert.equal(copy.get('n'), 1);
  copy.set('n', 3);
  await copy.saveAllFields(null, false);
  assert.equal(versionOf(copy), '3');

  // Now A is the stale one.
  obj.set('n', 4);
  const r3 = await expectReject(obj.save(null, false), 'A saving with version 2 after B wrote version 3');
  assertKiiError(r3, 'OBJECT_VERSION_IS_STALE', 409);

  // Without the condition (overwrite = true, the default) the write goes through.
  await obj.save();
  assert.equal(obj.get('n'), 4);
  assert.equal(versionOf(obj), '4');
});

// ------------------------------------------------------------------------------------------
// Client-chosen IDs

test('objects: createObjectWithID + saveAllFields(null,false) creates; again gives OBJECT_ALREADY_EXISTS (409); default overwrite replaces', async () => {
  const a = await registerUser({ prefix: 'obji' });
  const bucketName = uniqueBucket('obji');
  const bucket = a.sdk.Kii.bucketWithName(bucketName);
  const id = 'my-obj-' + randomHex(5);

  const obj = bucket.createObjectWithID(id);
  obj.set('v', 1);
  const mark = wire.mark();
  const saved = await obj.saveAllFields(null, false);
  assert.equal(saved, obj);
  const put = wire.last('PUT', objectRe(id), mark);
  assert.ok(put, 'no PUT .../objects/{id} was recorded');
  assert.equal(put.reqHeaders['if-none-match'], '*', 'a conditional create sends If-None-Match: *');
  assert.equal(put.status, 201, `creating with a client ID should answer 201, got ${put.status} ${put.resText}`);
  assert.equal(obj.getID(), id);
  assert.equal(versionOf(obj), '1');
  assert.equal(typeof obj.getCreated(), 'number', 'the PUT reply carries createdAt');

  const copy = await load(await sameUserElsewhere(a), `kiicloud://buckets/${bucketName}/objects/${id}`);
  assert.deepEqual(fieldsOf(copy), { v: 1 });
  assert.equal(versionOf(copy), '1');

  // The same ID again, conditionally: refused, nothing changes.
  const dup = bucket.createObjectWithID(id);
  dup.set('v', 2);
  const r = await expectReject(dup.saveAllFields(null, false), 'a conditional create of an existing ID');
  assertKiiError(r, 'OBJECT_ALREADY_EXISTS', 409);
  await copy.refresh();
  assert.deepEqual(fieldsOf(copy), { v: 1 }, 'a refused create must not change the object');
  assert.equal(versionOf(copy), '1');

  // With the default overwrite=true the PUT replaces it.
  const over = bucket.createObjectWithID(id);
  over.set('v', 3);
  const mark2 = wire.mark();
  await over.saveAllFields();
  const put2 = wire.last('PUT', objectRe(id), mark2);
  assert.equal(put2.reqHeaders['if-none-match'], undefined);
  assert.equal(put2.status, 200, `replacing with a client ID should answer 200, got ${put2.status} ${put2.resText}`);
  await copy.refresh();
  assert.deepEqual(fieldsOf(copy), { v: 3 });
  assert.equal(versionOf(copy), '2', 'the replace is the second write');

  // Default overwrite on a new ID simply creates.
  const id2 = 'my-obj-' + randomHex(5);
  const fresh = bucket.createObjectWithID(id2);
  fresh.set('w', true);
  const mark3 = wire.mark();
  await fresh.saveAllFields();
  const put3 = wire.last('PUT', objectRe(id2), mark3);
  assert.equal(put3.status, 201, `an unconditional PUT of a new ID should answer 201, got ${put3.status} ${put3.resText}`);
  const copy2 = await load(a.sdk, fresh.objectURI());
  assert.deepEqual(fieldsOf(copy2), { w: true });
  assert.equal(await countOf(bucket.count()), 2);
});

// ------------------------------------------------------------------------------------------
// Delete

test('objects: delete() removes the object: refresh, update and delete then fail with OBJECT_NOT_FOUND (404)', async () => {
  const a = await registerUser({ prefix: 'objd' });
  const bucket = a.sdk.Kii.bucketWithName(uniqueBucket('objd'));
  const keep = await createObject(bucket, { keep: true });
  const doomed = await createObject(bucket, { keep: false });
  assert.equal(await countOf(bucket.count()), 2);

  const mark = wire.mark();
  const deleted = await doomed.delete();
  assert.equal(deleted, doomed, 'delete() resolves with the object');
  const del = wire.last('DELETE', objectRe(doomed.getID()), mark);
  assert.ok(del && del.status >= 200 && del.status < 300, `DELETE should answer 2xx, got ${del && del.status}`);

  const r = await expectReject(a.sdk.KiiObject.objectWithURI(doomed.objectURI()).refresh(), 'refreshing a deleted object');
  assertKiiError(r, 'OBJECT_NOT_FOUND', 404);

  doomed.set('keep', 'again');
  const r2 = await expectReject(doomed.save(), 'a partial update of a deleted object');
  assertKiiError(r2, 'OBJECT_NOT_FOUND', 404);

  const r3 = await expectReject(doomed.delete(), 'deleting a deleted object');
  assertKiiError(r3, 'OBJECT_NOT_FOUND', 404);

  assert.equal(await countOf(bucket.count()), 1);
  const still = await load(a.sdk, keep.objectURI());
  assert.equal(still.get('keep'), true, 'the other object is untouched');
});

test('objects: bucket.delete() removes the bucket with all its objects; deleting it again gives BUCKET_NOT_FOUND (404)', async () => {
  const a = await registerUser({ prefix: 'bktd' });
  const name = uniqueBucket('bktd');
  const bucket = a.sdk.Kii.bucketWithName(name);
  const objs = [];
  for (let i = 0; i < 3; i++) objs.push(await createObject(bucket, { i }));
  const neighbour = await createObject(a.sdk.Kii.bucketWithName(uniqueBucket('bktn')), { stay: 1 });
  assert.equal(await countOf(bucket.count()), 3);

  const mark = wire.mark();
  const deleted = await bucket.delete();
  assert.equal(deleted, bucket, 'bucket.delete() resolves with the bucket');
  const del = wire.last('DELETE', new RegExp(`/apps/[^/]+/buckets/${escapeRe(name)}$`), mark);
  assert.ok(del && del.status >= 200 && del.status < 300, `DELETE /buckets/{b} should answer 2xx, got ${del && del.status}`);

  for (const o of objs) {
    const r = await expectReject(a.sdk.KiiObject.objectWithURI(o.objectURI()).refresh(), 'refreshing an object of a deleted bucket');
    assertKiiError(r, 'OBJECT_NOT_FOUND', 404);
  }

  // Counting a bucket that no longer exists: BUCKET_NOT_FOUND or 0, never the old objects.
  await assertEmptyOrMissing(bucket);

  const r = await expectReject(bucket.delete(), 'deleting a deleted bucket');
  assertKiiError(r, 'BUCKET_NOT_FOUND', 404);

  // Other buckets are untouched.
  const still = await load(a.sdk, neighbour.objectURI());
  assert.equal(still.get('stay'), 1);

  // The name can be used again: the bucket reappears with its first object, without the old ones.
  const reborn = await createObject(a.sdk.Kii.bucketWithName(name), { i: 99 });
  assert.equal(await countOf(bucket.count()), 1);
  const [, results] = await bucket.executeQuery(null);
  assert.deepEqual(results.map((o) => o.getID()), [reborn.getID()]);
});

/** Asserts a count on `bucket` either fails with BUCKET_NOT_FOUND (404) or gives 0. */
async function assertEmptyOrMissing(bucket) {
  let count;
  try {
    count = (await bucket.count())[2];
  } catch (error) {
    const r = { raw: error.message, ...parseError(error) };
    assertKiiError(r, 'BUCKET_NOT_FOUND', 404);
    return;
  }
  assert.equal(count, 0, `a missing bucket should count 0 (or answer BUCKET_NOT_FOUND), got ${count}`);
}

test('objects: deleting a bucket that never existed gives BUCKET_NOT_FOUND (404); a bucket appears with its first object', async () => {
  const a = await registerUser({ prefix: 'bktn' });
  const bucket = a.sdk.Kii.bucketWithName(uniqueBucket('never'));
  const r = await expectReject(bucket.delete(), 'deleting a bucket that was never created');
  assertKiiError(r, 'BUCKET_NOT_FOUND', 404);

  const fresh = a.sdk.Kii.bucketWithName(uniqueBucket('fresh'));
  await assertEmptyOrMissing(fresh);
  await createObject(fresh, { first: true });
  assert.equal(await countOf(fresh.count()), 1);
});

// ------------------------------------------------------------------------------------------
// Scopes

test('objects: app, user and group buckets with the same name are separate', async () => {
  const a = await registerUser({ prefix: 'scpa' });
  const b = await registerUser({ prefix: 'scpb' });
  const name = uniqueBucket('scope');

  const group = a.sdk.Kii.groupWithName('scope-team');
  await group.save();
  const gid = group.getID();

  const appBucket = a.sdk.Kii.bucketWithName(name);
  const userBucket = a.user.bucketWithName(name);
  const groupBucket = group.bucketWithName(name);

  const mark = wire.mark();
  const appObj = await createObject(appBucket, { where: 'app' });
  const userObjs = [await createObject(userBucket, { where: 'user' }), await createObject(userBucket, { where: 'user' })];
  const groupObjs = [];
  for (let i = 0; i < 3; i++) groupObjs.push(await createObject(groupBucket, { where: 'group' }));

  // The paths of kii-rest-wire.md §5.1.
  assert.ok(wire.last('POST', new RegExp(`/apps/[^/]+/buckets/${escapeRe(name)}/objects$`), mark), 'no app-scope POST');
  assert.ok(
    wire.last('POST', new RegExp(`/apps/[^/]+/users/${escapeRe(a.id)}/buckets/${escapeRe(name)}/objects$`), mark),
    'no user-scope POST',
  );
  assert.ok(
    wire.last('POST', new RegExp(`/apps/[^/]+/groups/${escapeRe(gid)}/buckets/${escapeRe(name)}/objects$`), mark),
    'no group-scope POST',
  );
  assert.equal(userObjs[0].objectURI(), `kiicloud://users/${a.id}/buckets/${name}/objects/${userObjs[0].getID()}`);
  assert.equal(groupObjs[0].objectURI(), `kiicloud://groups/${gid}/buckets/${name}/objects/${groupObjs[0].getID()}`);

  assert.equal(await countOf(appBucket.count()), 1, 'app bucket');
  assert.equal(await countOf(userBucket.count()), 2, 'user bucket');
  assert.equal(await countOf(groupBucket.count()), 3, 'group bucket');

  for (const [o, where] of [[appObj, 'app'], [userObjs[1], 'user'], [groupObjs[2], 'group']]) {
    const copy = await load(a.sdk, o.objectURI());
    assert.equal(copy.get('where'), where);
  }

  // An object ID from one scope does not resolve in another.
  const wrong = userBucket.createObjectWithID(appObj.getID());
  const r = await expectReject(wrong.refresh(), 'refreshing an app-scope object ID in the user bucket');
  assertKiiError(r, 'OBJECT_NOT_FOUND', 404);

  // B's user bucket of the same name is B's own.
  const bBucket = b.user.bucketWithName(name);
  await createObject(bBucket, { where: 'b' });
  assert.equal(await countOf(bBucket.count()), 1, "B's user bucket");
  assert.equal(await countOf(userBucket.count()), 2, "A's user bucket is unchanged");

  // Deleting the user bucket leaves the others alone.
  await userBucket.delete();
  assert.equal(await countOf(appBucket.count()), 1);
  assert.equal(await countOf(groupBucket.count()), 3);
  assert.equal(await countOf(bBucket.count()), 1);
});

test('objects: Kii.encryptedBucketWithName uses a CRYPTO: bucket and works like a plain one', async () => {
  const a = await registerUser({ prefix: 'enc' });
  const name = uniqueBucket('enc');
  const bucket = a.sdk.Kii.encryptedBucketWithName(name);

  const mark = wire.mark();
  const obj = await createObject(bucket, { secret: 's3cr3t' });
  assert.ok(
    wire.last('POST', new RegExp(`/apps/[^/]+/buckets/CRYPTO:${escapeRe(name)}/objects$`), mark),
    'the SDK should post to /buckets/CRYPTO:{b}/objects',
  );
  assert.equal(obj.objectURI(), `kiicloud://buckets/CRYPTO:${name}/objects/${obj.getID()}`);

  const copy = await load(await sameUserElsewhere(a), obj.objectURI());
  assert.equal(copy.get('secret'), 's3cr3t');
  copy.set('more', 1);
  await copy.save();
  assert.equal(versionOf(copy), '2');

  assert.equal(await countOf(bucket.count()), 1);
  const [, results] = await bucket.executeQuery(a.sdk.KiiQuery.queryWithClause(a.sdk.KiiClause.equals('secret', 's3cr3t')));
  assert.deepEqual(results.map((o) => o.getID()), [obj.getID()]);
  assert.equal(results[0].get('more'), 1);

  await obj.delete();
  await assertEmptyOrMissing(bucket);
});

// ------------------------------------------------------------------------------------------
// Count

test('objects: bucket.count() resolves [bucket, query, count]; countWithQuery counts matches', async () => {
  const a = await registerUser({ prefix: 'cnt' });
  const { KiiQuery, KiiClause } = a.sdk;
  const bucket = a.sdk.Kii.bucketWithName(uniqueBucket('cnt'));
  for (let i = 0; i < 5; i++) await createObject(bucket, { i, kind: i % 2 === 0 ? 'even' : 'odd' });

  const mark = wire.mark();
  const result = await bucket.count();
  assert.equal(result[0], bucket);
  assert.ok(result[1] instanceof KiiQuery, 'count() resolves with the all-query in [1]');
  assert.equal(result[2], 5);
  const req = wire.last('POST', /\/query$/, mark);
  assert.deepEqual(wire.requestJson(req).bucketQuery.aggregations, [{ type: 'COUNT', putAggregationInto: 'count_field' }]);
  assert.deepEqual(JSON.parse(req.resText).aggregations, { count_field: 5 });

  assert.equal(await countOf(bucket.countWithQuery(KiiQuery.queryWithClause(KiiClause.equals('kind', 'even')))), 3);
  assert.equal(await countOf(bucket.countWithQuery(KiiQuery.queryWithClause(KiiClause.greaterThan('i', 2)))), 2);
  assert.equal(await countOf(bucket.countWithQuery(KiiQuery.queryWithClause(KiiClause.equals('kind', 'none')))), 0);
  assert.equal(await countOf(bucket.countWithQuery(null)), 5);
});
