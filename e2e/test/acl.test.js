'use strict';
// Access control: default permissions of app-, user- and group-scope buckets and objects,
// object and bucket grants / revokes, ACL listing, and who may change an ACL.
// Defaults: shared/spec/kii-acl-defaults.md. Wire format: shared/spec/kii-rest-wire.md §7.

const assert = require('node:assert/strict');
const {
  readEnv,
  newClient,
  randomHex,
  registerUser,
  expectReject,
  kumoTest: test,
  wire,
} = require('./helpers');

const env = readEnv(); // fail the whole file at once, with a clear message, if the server is not configured

// ------------------------------------------------------------------------------------------
// Local helpers

/** A unique bucket name (2-64 chars of [a-zA-Z0-9_-]). */
function uniqueBucket(prefix = 'acl') {
  return `${prefix}_${Date.now().toString(36)}_${randomHex(3)}`;
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Creates and saves an object with the given custom fields in `bucket`. */
async function createObject(bucket, fields) {
  const obj = bucket.createObject();
  for (const [k, v] of Object.entries(fields)) obj.set(k, v);
  await obj.save();
  assert.ok(obj.getID(), 'saved object has no ID');
  return obj;
}

/** A refreshed handle on object `uri` in namespace (or admin context) `ctx`. */
async function load(ctx, uri) {
  const obj = ctx.objectWithURI ? ctx.objectWithURI(uri) : ctx.KiiObject.objectWithURI(uri);
  await obj.refresh();
  return obj;
}

/** All results of an executeQuery on `bucket` (single page is enough for these small sets). */
async function queryIds(bucket) {
  const [, results] = await bucket.executeQuery(null);
  return results.map((o) => o.getID()).sort();
}

// Regexes for the recorded exchanges.
const RE = {
  objects: /\/buckets\/[^/]+\/objects$/,
  object: /\/buckets\/[^/]+\/objects\/[^/]+$/,
  query: /\/buckets\/[^/]+\/query$/,
  bucket: /\/buckets\/[^/]+$/,
  bucketAcl: /\/buckets\/[^/]+\/acl$/,
  aclEntry: /\/acl\/[A-Z_]+\/[A-Za-z]+:[^/]+$/,
};

/**
 * Runs `fn()` (an SDK call), expects it to be rejected, and checks the HTTP status of the
 * recorded `method` exchange whose path matches `pathRe` (the SDK does not pass the status
 * through). Returns the parsed error.
 */
async function expectRefused(fn, what, method, pathRe, statuses = [403]) {
  const mark = wire.mark();
  const r = await expectReject(fn(), what);
  const exchange = wire.last(method, pathRe, mark);
  assert.ok(exchange, `${what}: no ${method} matching ${pathRe} was recorded (SDK message: ${r.raw})`);
  assert.ok(
    statuses.includes(exchange.status),
    `${what}: expected HTTP ${statuses.join(' or ')}, got ${exchange.status} ${exchange.resText}`,
  );
  assert.ok(r.code, `${what}: the error body should carry an errorCode; SDK message: ${r.raw}`);
  return r;
}

/** An anonymous caller is refused with 401 or 403, on the wire and in KiiErrorParser's reading. */
async function expectAnonymousRefused(fn, what, method, pathRe) {
  const mark = wire.mark();
  const r = await expectRefused(fn, what, method, pathRe, [401, 403]);
  const exchange = wire.last(method, pathRe, mark);
  assert.equal(exchange.reqHeaders.authorization, undefined, `${what}: the anonymous request must carry no Authorization`);
  assert.ok(
    r.status === 401 || r.status === 403,
    `${what}: KiiErrorParser should give status 401 or 403, got ${r.status} for code ${r.code} (SDK message: ${r.raw})`,
  );
  return r;
}

/** Does `entries` (from listACLEntries) contain `action` for the subject with ID `subjectId`? */
function hasEntry(entries, action, subjectId) {
  return entries.some((e) => e.getAction() === action && e.getSubject() && e.getSubject().getID() === subjectId);
}

function describeEntries(entries) {
  return entries.map((e) => `${e.getActionString()}→${e.getEntityString()}`).join(', ');
}

/** acl.putACLEntry for each [subject, action, grant] then acl.save(). */
async function saveAcl(sdk, acl, entries) {
  for (const [subject, action, grant = true] of entries) {
    const entry = sdk.KiiACLEntry.entryWithSubject(subject, action);
    entry.setGrant(grant);
    acl.putACLEntry(entry);
  }
  const saved = await acl.save();
  assert.equal(saved, acl, 'acl.save() resolves with the ACL');
}

async function adminContext() {
  const sdk = newClient();
  const admin = await sdk.Kii.authenticateAsAppAdmin(env.clientId, env.clientSecret);
  return { sdk, admin };
}

/** A (owner) creates a group with member B. */
async function groupOf(a, b, name = 'acl-team') {
  const group = a.sdk.Kii.groupWithName(name);
  group.addUser(a.sdk.KiiUser.userWithID(b.id));
  await group.save();
  assert.ok(group.getID(), 'group has no ID');
  return group;
}

// ------------------------------------------------------------------------------------------
// Defaults: application scope

test('acl defaults: app bucket: anonymous may query, count and read, but not create, update or delete', async () => {
  const a = await registerUser({ prefix: 'aclapp' });
  const name = uniqueBucket('aclapp');
  const obj = await createObject(a.sdk.Kii.bucketWithName(name), { msg: 'hello' }); // a logged-in user may create

  const anon = newClient();
  assert.equal(anon.KiiUser.getCurrentUser(), null);
  const anonBucket = anon.Kii.bucketWithName(name);

  const mark = wire.mark();
  assert.deepEqual(await queryIds(anonBucket), [obj.getID()], 'anonymous may query an app bucket');
  const q = wire.last('POST', RE.query, mark);
  assert.equal(q.reqHeaders.authorization, undefined, 'the anonymous query carries no Authorization');
  assert.equal((await anonBucket.count())[2], 1, 'anonymous may count');
  const seen = await load(anon, obj.objectURI());
  assert.equal(seen.get('msg'), 'hello', 'anonymous may read an app-scope object');

  await expectAnonymousRefused(
    () => {
      const o = anonBucket.createObject();
      o.set('by', 'anonymous');
      return o.save();
    },
    'anonymous creating an object in an app bucket',
    'POST',
    RE.objects,
  );
  seen.set('msg', 'defaced');
  await expectAnonymousRefused(() => seen.save(), 'anonymous updating an app-scope object', 'POST', RE.object);
  await expectAnonymousRefused(() => seen.saveAllFields(), 'anonymous replacing an app-scope object', 'PUT', RE.object);
  await expectAnonymousRefused(() => seen.delete(), 'anonymous deleting an app-scope object', 'DELETE', RE.object);
  await expectAnonymousRefused(() => anonBucket.delete(), 'anonymous dropping an app bucket', 'DELETE', RE.bucket);

  const after = await load(a.sdk, obj.objectURI());
  assert.equal(after.get('msg'), 'hello', 'refused writes change nothing');
  assert.equal((await a.sdk.Kii.bucketWithName(name).count())[2], 1, 'the refused create added nothing');
});

test('acl defaults: app bucket: another logged-in user may create, query, read and update, but not change the object ACL', async () => {
  const a = await registerUser({ prefix: 'aclappa' });
  const b = await registerUser({ prefix: 'aclappb' });
  const name = uniqueBucket('aclapp2');
  const objA = await createObject(a.sdk.Kii.bucketWithName(name), { by: 'a' });

  const bBucket = b.sdk.Kii.bucketWithName(name);
  const objB = await createObject(bBucket, { by: 'b' });
  assert.deepEqual(await queryIds(bBucket), [objA.getID(), objB.getID()].sort());
  const seen = await load(b.sdk, objA.objectURI());
  assert.equal(seen.get('by'), 'a');

  // WRITE_EXISTING_OBJECT defaults to any authenticated user in the app scope.
  seen.set('edited', 'by b');
  await seen.save();
  const check = await load(a.sdk, objA.objectURI());
  assert.equal(check.get('edited'), 'by b');

  // Only the object's creator (or the admin) may change its ACL.
  const acl = b.sdk.KiiObject.objectWithURI(objA.objectURI()).objectACL();
  await expectRefused(
    () => saveAcl(b.sdk, acl, [[new b.sdk.KiiAnonymousUser(), b.sdk.KiiACLAction.KiiACLObjectActionWrite]]),
    "B changing the ACL of A's app-scope object",
    'PUT',
    RE.aclEntry,
    [401],
  );
  // The refused grant had no effect: anonymous still may not write.
  const anon = newClient();
  const anonCopy = await load(anon, objA.objectURI());
  anonCopy.set('edited', 'by anonymous');
  await expectAnonymousRefused(() => anonCopy.save(), 'anonymous writing after a refused grant', 'POST', RE.object);
});

// ------------------------------------------------------------------------------------------
// Defaults: user scope

test("acl defaults: user bucket: another user cannot query, read, create in or drop A's bucket (403) or see its ACL (401)", async () => {
  const a = await registerUser({ prefix: 'aclusra' });
  const b = await registerUser({ prefix: 'aclusrb' });
  const name = uniqueBucket('aclusr');
  const mine = a.user.bucketWithName(name);
  const obj = await createObject(mine, { secret: 'a-only' });

  const theirs = b.sdk.KiiUser.userWithID(a.id).bucketWithName(name);
  await expectRefused(() => theirs.executeQuery(null), "B querying A's user bucket", 'POST', RE.query);
  await expectRefused(() => theirs.count(), "B counting A's user bucket", 'POST', RE.query);
  await expectRefused(
    () => b.sdk.KiiObject.objectWithURI(obj.objectURI()).refresh(),
    "B reading an object in A's user bucket",
    'GET',
    RE.object,
  );
  await expectRefused(
    () => {
      const o = theirs.createObject();
      o.set('x', 1);
      return o.save();
    },
    "B creating an object in A's user bucket",
    'POST',
    RE.objects,
  );
  const bCopy = b.sdk.KiiObject.objectWithURI(obj.objectURI());
  bCopy.set('secret', 'stolen');
  await expectRefused(() => bCopy.save(), "B updating an object in A's user bucket", 'POST', RE.object);
  await expectRefused(() => bCopy.delete(), "B deleting an object in A's user bucket", 'DELETE', RE.object);
  await expectRefused(() => theirs.delete(), "B dropping A's user bucket", 'DELETE', RE.bucket);
  await expectRefused(() => theirs.acl().listACLEntries(), "B reading the ACL of A's user bucket", 'GET', RE.bucketAcl, [401]);

  // Anonymous is refused as well.
  const anon = newClient();
  const anonBucket = anon.KiiUser.userWithID(a.id).bucketWithName(name);
  await expectAnonymousRefused(() => anonBucket.executeQuery(null), "anonymous querying A's user bucket", 'POST', RE.query);
  await expectAnonymousRefused(
    () => anon.KiiObject.objectWithURI(obj.objectURI()).refresh(),
    "anonymous reading A's user-scope object",
    'GET',
    RE.object,
  );

  // A still has everything.
  assert.deepEqual(await queryIds(mine), [obj.getID()]);
  const back = await load(a.sdk, obj.objectURI());
  assert.equal(back.get('secret'), 'a-only');
});

// ------------------------------------------------------------------------------------------
// Defaults: group scope

test('acl defaults: group bucket: members create, read, query and update; a non-member cannot (403)', async () => {
  const a = await registerUser({ prefix: 'aclgrpa' });
  const b = await registerUser({ prefix: 'aclgrpb' });
  const c = await registerUser({ prefix: 'aclgrpc' });
  const group = await groupOf(a, b);
  const gid = group.getID();
  const name = uniqueBucket('aclgrp');

  // The member (not the owner) creates the bucket with the first object.
  const bBucket = b.sdk.KiiGroup.groupWithID(gid).bucketWithName(name);
  const objB = await createObject(bBucket, { by: 'b' });
  const aBucket = group.bucketWithName(name);
  const objA = await createObject(aBucket, { by: 'a' });

  assert.deepEqual(await queryIds(bBucket), [objA.getID(), objB.getID()].sort(), 'a member queries the group bucket');
  assert.deepEqual(await queryIds(aBucket), [objA.getID(), objB.getID()].sort(), 'the owner queries the group bucket');
  assert.equal((await load(b.sdk, objA.objectURI())).get('by'), 'a', "a member reads the owner's object");
  assert.equal((await load(a.sdk, objB.objectURI())).get('by'), 'b', "the owner reads a member's object");

  // WRITE_EXISTING_OBJECT defaults to the group's members.
  const bOnA = await load(b.sdk, objA.objectURI());
  bOnA.set('note', 'member edit');
  await bOnA.save();
  assert.equal((await load(a.sdk, objA.objectURI())).get('note'), 'member edit');

  // C is not a member.
  const cBucket = c.sdk.KiiGroup.groupWithID(gid).bucketWithName(name);
  await expectRefused(() => cBucket.executeQuery(null), 'a non-member querying a group bucket', 'POST', RE.query);
  await expectRefused(
    () => c.sdk.KiiObject.objectWithURI(objA.objectURI()).refresh(),
    'a non-member reading a group-scope object',
    'GET',
    RE.object,
  );
  await expectRefused(
    () => {
      const o = cBucket.createObject();
      o.set('by', 'c');
      return o.save();
    },
    'a non-member creating an object in a group bucket',
    'POST',
    RE.objects,
  );
  const cOnB = c.sdk.KiiObject.objectWithURI(objB.objectURI());
  cOnB.set('by', 'c');
  await expectRefused(() => cOnB.save(), 'a non-member updating a group-scope object', 'POST', RE.object);
  assert.equal((await aBucket.count())[2], 2, 'nothing was added by the non-member');

  // Once C is added to the group, C may read and create.
  group.addUser(a.sdk.KiiUser.userWithID(c.id));
  await group.save();
  assert.equal((await load(c.sdk, objA.objectURI())).get('by'), 'a', 'a new member reads');
  await createObject(cBucket, { by: 'c' });
  assert.equal((await aBucket.count())[2], 3);
});

// ------------------------------------------------------------------------------------------
// Object grants

test('acl: A grants READ_EXISTING_OBJECT on an object in A\'s user bucket to B; B reads it; revoking refuses B again', async () => {
  const a = await registerUser({ prefix: 'aclgra' });
  const b = await registerUser({ prefix: 'aclgrb' });
  const { KiiACLAction } = a.sdk;
  const bucket = a.user.bucketWithName(uniqueBucket('aclgrant'));
  const obj = await createObject(bucket, { doc: 'shared' });
  const other = await createObject(bucket, { doc: 'private' });
  const uri = obj.objectURI();

  await expectRefused(() => b.sdk.KiiObject.objectWithURI(uri).refresh(), 'B reading before the grant', 'GET', RE.object);

  // Grant: PUT .../objects/{id}/acl/READ_EXISTING_OBJECT/UserID:{B}
  const mark = wire.mark();
  await saveAcl(a.sdk, obj.objectACL(), [[a.sdk.KiiUser.userWithID(b.id), KiiACLAction.KiiACLObjectActionRead]]);
  const put = wire.last('PUT', RE.aclEntry, mark);
  assert.ok(put, 'no ACL PUT was recorded');
  assert.ok(
    wire.path(put).endsWith(`/objects/${obj.getID()}/acl/READ_EXISTING_OBJECT/UserID:${b.id}`),
    `unexpected ACL path ${wire.path(put)}`,
  );
  assert.ok(put.status >= 200 && put.status < 300, `the grant should answer 2xx, got ${put.status} ${put.resText}`);

  const seen = await load(b.sdk, uri);
  assert.equal(seen.get('doc'), 'shared', 'B reads the object after the grant');
  // The grant is for that object only, and for reading only.
  await expectRefused(
    () => b.sdk.KiiObject.objectWithURI(other.objectURI()).refresh(),
    'B reading another object of the bucket',
    'GET',
    RE.object,
  );
  seen.set('doc', 'changed by b');
  await expectRefused(() => seen.save(), 'B writing with only a read grant', 'POST', RE.object);
  await expectRefused(
    () => b.sdk.KiiUser.userWithID(a.id).bucketWithName(bucket.getBucketName()).executeQuery(null),
    'B querying the bucket with only an object grant',
    'POST',
    RE.query,
  );

  // The owner sees the entry in the object's ACL.
  const [aclObj, entries] = await obj.objectACL().listACLEntries();
  assert.ok(aclObj, 'listACLEntries resolves with [acl, entries]');
  assert.ok(
    hasEntry(entries, KiiACLAction.KiiACLObjectActionRead, b.id),
    `the object ACL should list READ_EXISTING_OBJECT for B; entries: ${describeEntries(entries)}`,
  );

  // Revoke: DELETE .../acl/READ_EXISTING_OBJECT/UserID:{B}
  const mark2 = wire.mark();
  await saveAcl(a.sdk, obj.objectACL(), [[a.sdk.KiiUser.userWithID(b.id), KiiACLAction.KiiACLObjectActionRead, false]]);
  const del = wire.last('DELETE', RE.aclEntry, mark2);
  assert.ok(del, 'revoking sent no DELETE');
  assert.ok(del.status >= 200 && del.status < 300, `the revoke should answer 2xx, got ${del.status} ${del.resText}`);

  await expectRefused(() => b.sdk.KiiObject.objectWithURI(uri).refresh(), 'B reading after the revoke', 'GET', RE.object);
  const [, after] = await obj.objectACL().listACLEntries();
  assert.ok(
    !hasEntry(after, KiiACLAction.KiiACLObjectActionRead, b.id),
    `the revoked entry must be gone; entries: ${describeEntries(after)}`,
  );
  // The owner still reads it.
  assert.equal((await load(a.sdk, uri)).get('doc'), 'shared');
});

test('acl: WRITE_EXISTING_OBJECT lets B update and delete A\'s object; a grant to a group lets its members read', async () => {
  const a = await registerUser({ prefix: 'aclwra' });
  const b = await registerUser({ prefix: 'aclwrb' });
  const c = await registerUser({ prefix: 'aclwrc' });
  const { KiiACLAction } = a.sdk;
  const bucket = a.user.bucketWithName(uniqueBucket('aclwrite'));
  const obj = await createObject(bucket, { v: 1 });

  await saveAcl(a.sdk, obj.objectACL(), [
    [a.sdk.KiiUser.userWithID(b.id), KiiACLAction.KiiACLObjectActionRead],
    [a.sdk.KiiUser.userWithID(b.id), KiiACLAction.KiiACLObjectActionWrite],
  ]);
  const bCopy = await load(b.sdk, obj.objectURI());
  bCopy.set('v', 2);
  await bCopy.save();
  assert.equal((await load(a.sdk, obj.objectURI())).get('v'), 2, "B's update is visible to A");
  bCopy.set('w', true);
  await bCopy.saveAllFields();
  assert.equal((await load(a.sdk, obj.objectURI())).get('w'), true);

  // A group subject: every member of the group may read.
  const group = await groupOf(b, c, 'readers'); // owner B, member C
  const obj2 = await createObject(bucket, { v: 'for the group' });
  await expectRefused(() => c.sdk.KiiObject.objectWithURI(obj2.objectURI()).refresh(), 'C reading before the group grant', 'GET', RE.object);
  const mark = wire.mark();
  await saveAcl(a.sdk, obj2.objectACL(), [[a.sdk.KiiGroup.groupWithID(group.getID()), KiiACLAction.KiiACLObjectActionRead]]);
  assert.ok(
    wire.path(wire.last('PUT', RE.aclEntry, mark)).endsWith(`/acl/READ_EXISTING_OBJECT/GroupID:${group.getID()}`),
    'a group grant uses the GroupID: subject',
  );
  assert.equal((await load(c.sdk, obj2.objectURI())).get('v'), 'for the group', 'a group member reads after the group grant');
  assert.equal((await load(b.sdk, obj2.objectURI())).get('v'), 'for the group', 'the group owner reads too');
  const [, entries] = await obj2.objectACL().listACLEntries();
  assert.ok(
    hasEntry(entries, KiiACLAction.KiiACLObjectActionRead, group.getID()),
    `the object ACL should list the group; entries: ${describeEntries(entries)}`,
  );

  // WRITE also allows delete.
  await bCopy.delete();
  const r = await expectReject(a.sdk.KiiObject.objectWithURI(obj.objectURI()).refresh(), 'reading an object B deleted');
  assert.equal(r.code, 'OBJECT_NOT_FOUND');
});

// ------------------------------------------------------------------------------------------
// Bucket grants

test('acl: the admin grants CREATE_OBJECTS_IN_BUCKET to anonymous on an app bucket; it is listed; revoking refuses again', async () => {
  const owner = await registerUser({ prefix: 'aclbkt' });
  const name = uniqueBucket('aclbkt');
  await createObject(owner.sdk.Kii.bucketWithName(name), { seed: true }); // the bucket exists

  const anon = newClient();
  const anonBucket = anon.Kii.bucketWithName(name);
  const tryAnonCreate = () => {
    const o = anonBucket.createObject();
    o.set('by', 'anonymous');
    return o.save();
  };
  await expectAnonymousRefused(tryAnonCreate, 'anonymous creating before the grant', 'POST', RE.objects);

  const { sdk, admin } = await adminContext();
  const { KiiACLAction, KiiAnonymousUser } = sdk;
  const adminBucket = admin.bucketWithName(name);
  const mark = wire.mark();
  await saveAcl(sdk, adminBucket.acl(), [[new KiiAnonymousUser(), KiiACLAction.KiiACLBucketActionCreateObjects]]);
  const put = wire.last('PUT', RE.aclEntry, mark);
  assert.ok(
    wire.path(put).endsWith(`/buckets/${name}/acl/CREATE_OBJECTS_IN_BUCKET/UserID:ANONYMOUS_USER`),
    `unexpected ACL path ${wire.path(put)}`,
  );
  assert.ok(put.status >= 200 && put.status < 300, `the admin grant should answer 2xx, got ${put.status} ${put.resText}`);

  const created = await tryAnonCreate();
  assert.ok(created.getID(), 'anonymous may create after the grant');
  assert.equal((await adminBucket.count())[2], 2);

  // (Through the admin's KiiACLWithToken the SDK turns ANONYMOUS_USER into a user object with
  // that ID rather than a KiiAnonymousUser, so match on the ID.)
  const [, entries] = await adminBucket.acl().listACLEntries();
  assert.ok(
    hasEntry(entries, KiiACLAction.KiiACLBucketActionCreateObjects, 'ANONYMOUS_USER'),
    `the bucket ACL should list CREATE_OBJECTS_IN_BUCKET for ANONYMOUS_USER; entries: ${describeEntries(entries)}`,
  );

  await saveAcl(sdk, adminBucket.acl(), [[new KiiAnonymousUser(), KiiACLAction.KiiACLBucketActionCreateObjects, false]]);
  await expectAnonymousRefused(tryAnonCreate, 'anonymous creating after the revoke', 'POST', RE.objects);
  const [, after] = await adminBucket.acl().listACLEntries();
  assert.ok(
    !hasEntry(after, KiiACLAction.KiiACLBucketActionCreateObjects, 'ANONYMOUS_USER'),
    `the revoked entry must be gone; entries: ${describeEntries(after)}`,
  );
  assert.equal((await adminBucket.count())[2], 2);
});

test('acl: a user who is not the admin cannot change an app bucket ACL (401, as Kii\'s ACL reference)', async () => {
  const a = await registerUser({ prefix: 'aclnoadm' });
  const { KiiACLAction, KiiAnonymousUser, KiiAnyAuthenticatedUser } = a.sdk;
  const name = uniqueBucket('aclnoadm');
  const bucket = a.sdk.Kii.bucketWithName(name);
  await createObject(bucket, { mine: true }); // A created the bucket, and still may not change its ACL

  await expectRefused(
    () => saveAcl(a.sdk, bucket.acl(), [[new KiiAnonymousUser(), KiiACLAction.KiiACLBucketActionCreateObjects]]),
    'a user granting CREATE_OBJECTS_IN_BUCKET on an app bucket',
    'PUT',
    RE.aclEntry,
    [401],
  );
  await expectRefused(
    () => saveAcl(a.sdk, bucket.acl(), [[new KiiAnyAuthenticatedUser(), KiiACLAction.KiiACLBucketActionQueryObjects, false]]),
    'a user revoking QUERY_OBJECTS_IN_BUCKET on an app bucket',
    'DELETE',
    RE.aclEntry,
    [401],
  );

  // Nothing changed: anonymous still may not create, and logged-in users still may query.
  const anon = newClient();
  await expectAnonymousRefused(
    () => {
      const o = anon.Kii.bucketWithName(name).createObject();
      o.set('x', 1);
      return o.save();
    },
    'anonymous creating after a refused grant',
    'POST',
    RE.objects,
  );
  const b = await registerUser({ prefix: 'aclnoadmb' });
  assert.equal((await queryIds(b.sdk.Kii.bucketWithName(name))).length, 1);
});

test("acl: in A's user bucket, QUERY lets B query only objects B may read; READ_OBJECTS_IN_BUCKET shows all", async () => {
  const a = await registerUser({ prefix: 'aclqa' });
  const b = await registerUser({ prefix: 'aclqb' });
  const { KiiACLAction } = a.sdk;
  const name = uniqueBucket('aclq');
  const bucket = a.user.bucketWithName(name);
  const o1 = await createObject(bucket, { n: 1 });
  const o2 = await createObject(bucket, { n: 2 });
  const asB = b.sdk.KiiUser.userWithID(a.id).bucketWithName(name);
  const userB = a.sdk.KiiUser.userWithID(b.id);

  await expectRefused(() => asB.executeQuery(null), 'B querying without a grant', 'POST', RE.query);

  // The scope owner may change the bucket ACL.
  await saveAcl(a.sdk, bucket.acl(), [[userB, KiiACLAction.KiiACLBucketActionQueryObjects]]);
  const [, entries] = await bucket.acl().listACLEntries();
  assert.ok(
    hasEntry(entries, KiiACLAction.KiiACLBucketActionQueryObjects, b.id),
    `the bucket ACL should list QUERY_OBJECTS_IN_BUCKET for B; entries: ${describeEntries(entries)}`,
  );
  assert.deepEqual(await queryIds(asB), [], 'B may query but may read none of the objects');

  await saveAcl(a.sdk, o1.objectACL(), [[userB, KiiACLAction.KiiACLObjectActionRead]]);
  assert.deepEqual(await queryIds(asB), [o1.getID()], 'the query returns only the object B may read');

  await saveAcl(a.sdk, bucket.acl(), [[userB, KiiACLAction.KiiACLBucketActionReadObjects]]);
  assert.deepEqual(await queryIds(asB), [o1.getID(), o2.getID()].sort(), 'READ_OBJECTS_IN_BUCKET makes every object readable');
  assert.equal((await load(b.sdk, o2.objectURI())).get('n'), 2, 'READ_OBJECTS_IN_BUCKET lets B read any object');

  // B may not change A's bucket ACL.
  await expectRefused(
    () => saveAcl(b.sdk, asB.acl(), [[b.sdk.KiiUser.userWithID(b.id), b.sdk.KiiACLAction.KiiACLBucketActionCreateObjects]]),
    "B granting itself CREATE on A's user bucket",
    'PUT',
    RE.aclEntry,
    [401],
  );

  // Revoking QUERY refuses B's queries again (reading o2 is still allowed by READ_OBJECTS_IN_BUCKET).
  await saveAcl(a.sdk, bucket.acl(), [[userB, KiiACLAction.KiiACLBucketActionQueryObjects, false]]);
  await expectRefused(() => asB.executeQuery(null), 'B querying after the revoke', 'POST', RE.query);
  assert.equal((await load(b.sdk, o2.objectURI())).get('n'), 2);
});

// ------------------------------------------------------------------------------------------
// Admin

test('acl: the app admin reads, queries and writes objects in any scope', async () => {
  const a = await registerUser({ prefix: 'acladm' });
  const b = await registerUser({ prefix: 'acladmb' });
  const name = uniqueBucket('acladm');
  const userObj = await createObject(a.user.bucketWithName(name), { scope: 'user' });
  const group = await groupOf(a, b, 'adm-group');
  const groupObj = await createObject(group.bucketWithName(name), { scope: 'group' });

  const { admin } = await adminContext();
  assert.equal((await load(admin, userObj.objectURI())).get('scope'), 'user', "the admin reads A's user-scope object");
  assert.equal((await load(admin, groupObj.objectURI())).get('scope'), 'group', 'the admin reads a group-scope object');
  const adminUserBucket = admin.userWithID(a.id).bucketWithName(name);
  assert.deepEqual(await queryIds(adminUserBucket), [userObj.getID()], "the admin queries A's user bucket");

  const edit = await load(admin, userObj.objectURI());
  edit.set('by', 'admin');
  await edit.save();
  assert.equal((await load(a.sdk, userObj.objectURI())).get('by'), 'admin');

  // The admin creates in an app bucket; users read it.
  const appObj = await createObject(admin.bucketWithName(name), { scope: 'app' });
  assert.equal((await load(a.sdk, appObj.objectURI())).get('scope'), 'app');
  // And reads A's user bucket ACL.
  const [, entries] = await adminUserBucket.acl().listACLEntries();
  assert.ok(Array.isArray(entries));
});
