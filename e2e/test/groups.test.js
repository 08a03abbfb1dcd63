'use strict';
// Groups: create, members, group lists, rename, owner change, client-chosen IDs, delete, and
// what a non-owner may not do. Wire behaviour: shared/spec/kii-rest-wire.md §2.9 and §4.

const assert = require('node:assert/strict');
const { readEnv, randomHex, registerUser, expectReject, assertKiiError, kumoTest: test, ids, wire } = require('./helpers');

readEnv(); // fail the whole file at once, with a clear message, if the server is not configured

/** Registers an owner A and a second user B, each in their own client. */
async function twoUsers(tag) {
  const a = await registerUser({ prefix: `${tag}a` });
  const b = await registerUser({ prefix: `${tag}b` });
  return { a, b };
}

/** A creates a group `name` with B as a member (POST /groups, then PUT .../members/{B}). */
async function createGroupWithMember(a, b, name = 'team') {
  const group = a.sdk.Kii.groupWithName(name);
  group.addUser(a.sdk.KiiUser.userWithID(b.id));
  const saved = await group.save();
  assert.equal(saved, group, 'save() resolves with the group it was called on');
  assert.equal(typeof group.getID(), 'string');
  assert.ok(group.getID().length > 0, 'saved group has no ID');
  return group;
}

/** Resolves with the KiiGroup list of a group-list call ([user, groups]). */
async function groupList(promise) {
  const result = await promise;
  const groups = result[1];
  assert.ok(Array.isArray(groups), 'group list call should resolve with [user, groups]');
  return groups;
}

async function memberIds(group) {
  const result = await group.getMemberList();
  assert.equal(result[0], group);
  return ids(result[1]);
}

test('groups: create with a member; member list, memberOfGroups and ownerOfGroups show it', async () => {
  const { a, b } = await twoUsers('gc');
  const group = await createGroupWithMember(a, b, 'team');
  const gid = group.getID();
  assert.equal(group.getName(), 'team');

  const members = await memberIds(group);
  assert.ok(members.includes(a.id), `the owner should be a member; members: ${members}`);
  assert.ok(members.includes(b.id), `B should be a member; members: ${members}`);
  assert.equal(members.length, 2, `expected exactly A and B as members, got ${members}`);

  const bGroups = await groupList(b.sdk.KiiUser.getCurrentUser().memberOfGroups());
  const seenByB = bGroups.find((g) => g.getID() === gid);
  assert.ok(seenByB, `B's memberOfGroups should contain ${gid}; got ${ids(bGroups)}`);
  assert.equal(seenByB.getName(), 'team');
  assert.equal(seenByB.getCachedOwner().getID(), a.id);

  const aMember = await groupList(a.sdk.KiiUser.getCurrentUser().memberOfGroups());
  assert.ok(ids(aMember).includes(gid), `the owner's memberOfGroups should contain ${gid}; got ${ids(aMember)}`);

  const aOwned = await groupList(a.sdk.KiiUser.getCurrentUser().ownerOfGroups());
  assert.ok(ids(aOwned).includes(gid), `A's ownerOfGroups should contain ${gid}; got ${ids(aOwned)}`);

  const bOwned = await groupList(b.sdk.KiiUser.getCurrentUser().ownerOfGroups());
  assert.ok(!ids(bOwned).includes(gid), `B does not own ${gid}; B's ownerOfGroups: ${ids(bOwned)}`);
});

test('groups: changeGroupName is visible to a member who refreshes the group', async () => {
  const { a, b } = await twoUsers('gr');
  const group = await createGroupWithMember(a, b, 'team');

  const renamed = await group.changeGroupName('team2');
  assert.equal(renamed.getName(), 'team2');

  const seen = b.sdk.KiiGroup.groupWithID(group.getID());
  await seen.refresh();
  assert.equal(seen.getID(), group.getID());
  assert.equal(seen.getName(), 'team2');
  assert.equal(seen.getCachedOwner().getID(), a.id);
});

test('groups: removeUser + save removes the member', async () => {
  const { a, b } = await twoUsers('gm');
  const group = await createGroupWithMember(a, b, 'team');
  const gid = group.getID();

  group.removeUser(a.sdk.KiiUser.userWithID(b.id));
  await group.save();

  const members = await memberIds(group);
  assert.ok(!members.includes(b.id), `B was removed but is still listed; members: ${members}`);
  assert.ok(members.includes(a.id), `the owner should still be a member; members: ${members}`);

  const bGroups = await groupList(b.sdk.KiiUser.getCurrentUser().memberOfGroups());
  assert.ok(!ids(bGroups).includes(gid), `B's memberOfGroups should no longer contain ${gid}`);
});

test('groups: registerGroupWithID creates a group with the chosen ID; the same ID again gives GROUP_ALREADY_EXISTS', async () => {
  const { a, b } = await twoUsers('gi');
  const gid = 'g' + randomHex(6); // client rule: ^[a-z0-9-_.]{1,30}$

  const group = await a.sdk.KiiGroup.registerGroupWithID(gid, 'named', [a.sdk.KiiUser.userWithID(b.id)]);
  assert.equal(group.getID(), gid);
  assert.equal(group.getName(), 'named');

  const seen = b.sdk.KiiGroup.groupWithID(gid);
  await seen.refresh();
  assert.equal(seen.getName(), 'named');
  assert.equal(seen.getCachedOwner().getID(), a.id);

  const members = await memberIds(a.sdk.KiiGroup.groupWithID(gid));
  assert.ok(members.includes(a.id), `the owner should be a member; members: ${members}`);
  assert.ok(members.includes(b.id), `B was listed in registerGroupWithID; members: ${members}`);

  const r = await expectReject(a.sdk.KiiGroup.registerGroupWithID(gid, 'again', []), 'registering an existing group ID');
  assertKiiError(r, 'GROUP_ALREADY_EXISTS', 409);

  await seen.refresh();
  assert.equal(seen.getName(), 'named', 'the failed registration must not change the group');
});

test('groups: delete() removes the group; refresh then fails with GROUP_NOT_FOUND', async () => {
  const { a, b } = await twoUsers('gd');
  const group = await createGroupWithMember(a, b, 'doomed');
  const gid = group.getID();

  await group.delete();

  const r = await expectReject(a.sdk.KiiGroup.groupWithID(gid).refresh(), 'refreshing a deleted group');
  assertKiiError(r, 'GROUP_NOT_FOUND', 404);

  const bGroups = await groupList(b.sdk.KiiUser.getCurrentUser().memberOfGroups());
  assert.ok(!ids(bGroups).includes(gid), `a deleted group must not be listed; B's memberOfGroups: ${ids(bGroups)}`);
  const aOwned = await groupList(a.sdk.KiiUser.getCurrentUser().ownerOfGroups());
  assert.ok(!ids(aOwned).includes(gid), `a deleted group must not be listed; A's ownerOfGroups: ${ids(aOwned)}`);
});

test('groups: saveWithOwner on an existing group hands ownership to a member', async () => {
  const { a, b } = await twoUsers('go');
  const group = await createGroupWithMember(a, b, 'handover');
  const gid = group.getID();

  // On a saved group, saveWithOwner saves pending members, then PUT /groups/{id}/owner.
  await group.saveWithOwner(b.id);

  const [same, owner] = await group.getOwner();
  assert.equal(same, group);
  assert.equal(owner.getID(), b.id);

  const seen = b.sdk.KiiGroup.groupWithID(gid);
  await seen.refresh();
  assert.equal(seen.getCachedOwner().getID(), b.id);

  const bOwned = await groupList(b.sdk.KiiUser.getCurrentUser().ownerOfGroups());
  assert.ok(ids(bOwned).includes(gid), `B's ownerOfGroups should contain ${gid}; got ${ids(bOwned)}`);
  const aOwned = await groupList(a.sdk.KiiUser.getCurrentUser().ownerOfGroups());
  assert.ok(!ids(aOwned).includes(gid), `A no longer owns ${gid}; A's ownerOfGroups: ${ids(aOwned)}`);

  // The new owner can now do owner-only things.
  await seen.changeGroupName('handed-over');
  await group.refresh();
  assert.equal(group.getName(), 'handed-over');
});

test('groups: a member who is not the owner cannot rename the group (401, as the group name reference documents)', async () => {
  const { a, b } = await twoUsers('gn');
  const group = await createGroupWithMember(a, b, 'team');

  const asB = b.sdk.KiiGroup.groupWithID(group.getID());
  const mark = wire.mark();
  const r = await expectReject(asB.changeGroupName('hijacked'), 'a non-owner renaming the group');
  // The SDK drops the HTTP status of this call; the recorded exchange has it.
  const exchange = wire.last('PUT', /\/groups\/[^/]+\/name$/, mark);
  assert.ok(exchange, 'no PUT /groups/{id}/name was recorded');
  assert.equal(exchange.status, 401, `a non-owner rename should be refused with HTTP 401, got ${exchange.status} ${exchange.resText}`);
  assert.ok(r.code, `the error body should carry an errorCode; SDK message: ${r.raw}`);

  await group.refresh();
  assert.equal(group.getName(), 'team', 'the refused rename must not change the name');
});

test('groups: a member who is not the owner cannot delete the group (401, like every group change the reference documents)', async () => {
  const { a, b } = await twoUsers('gx');
  const group = await createGroupWithMember(a, b, 'keep');

  const asB = b.sdk.KiiGroup.groupWithID(group.getID());
  const mark = wire.mark();
  await expectReject(asB.delete(), 'a non-owner deleting the group');
  const exchange = wire.last('DELETE', /\/groups\/[^/]+$/, mark);
  assert.ok(exchange, 'no DELETE /groups/{id} was recorded');
  assert.equal(exchange.status, 401, `a non-owner delete should be refused with HTTP 401, got ${exchange.status} ${exchange.resText}`);

  await group.refresh();
  assert.equal(group.getName(), 'keep', 'the group must still exist');
});
