// Kumo's in-sandbox Kii SDK, part `groups`: KiiGroup (see core.js).
(function (sdk) {
  'use strict';

  const {
    _state: state, _isStr: isStr, _MSG_URI: MSG_URI, _invalidArg: invalidArg, _raise: raise, _ok: ok, _ko: ko,
    _kiiError: kiiError, _fail: fail, _settle: settle, _appPath: appPath, _userToken: userToken, _tokenOf: tokenOf,
    _http: http, _statusError: statusError, _httpOK: httpOK, _getCurrent: getCurrent, _bucket: bucket, _user: userWithToken,
    _TOK: TOK,
  } = sdk;
  const values = (map) => Object.keys(map).map((k) => map[k]);

  // What V8 said where Kii's SDK called a method a non-user lacks (QuickJS would say less).
  function notAUser(member) {
    if (typeof member.getUUID !== 'function') throw new TypeError('member.getUUID is not a function');
  }

  class KiiGroup {
    constructor(tok) {
      if (tok) this[TOK] = tok;
      this._addMembers = {};
      this._removeMembers = {};
    }
    getUUID() { return this._uuid; }
    getID() { return this._uuid; }
    getName() { return this._groupName; }
    getCachedOwner() { return this._owner; }
    objectURI() { return this._uuid != null ? 'kiicloud://groups/' + this._uuid : null; }
    bucketWithName(name) { return bucket(name, this, this[TOK], false); }
    encryptedBucketWithName(name) { return bucket(name, this, this[TOK], true); }
    // Membership changes are pending until save().
    addUser(member) {
      if (member == null) return;
      notAUser(member);
      if (member.getUUID() == null) return;
      const id = member.getUUID();
      if (!(id in this._addMembers)) this._addMembers[id] = member;
      delete this._removeMembers[id];
    }
    removeUser(member) {
      if (member == null) return;
      notAUser(member);
      if (member.getUUID() == null) return;
      const id = member.getUUID();
      if (!(id in this._removeMembers)) this._removeMembers[id] = member;
      delete this._addMembers[id];
    }
    _path(rest) { return appPath('/groups/' + this._uuid + (rest || '')); }
    _req(method, rest, o) { return http(method, this._path(rest), Object.assign({ token: tokenOf(this) }, o)); }

    // failure(group, error, addMembersArray, removeMembersArray); the promise's Error carries both.
    _memberFail(message) {
      const adds = values(this._addMembers);
      const removes = values(this._removeMembers);
      const e = kiiError(message, this);
      e.addMembersArray = adds;
      e.removeMembersArray = removes;
      return ko([this, message, adds, removes], e);
    }
    // One request per pending change, additions first, stopping at the first failure (2.4.19).
    _saveMembers() {
      for (const id of Object.keys(this._addMembers)) {
        const res = this._req('PUT', '/members/' + id);
        if (!res.ok) return this._memberFail(res.err);
        delete this._addMembers[id];
      }
      for (const id of Object.keys(this._removeMembers)) {
        const res = this._req('DELETE', '/members/' + id);
        if (!res.ok) return this._memberFail(res.err);
        delete this._removeMembers[id];
      }
      return ok([this]);
    }
    _create(owner) {
      const data = {};
      if (this._groupName != null) data.name = this._groupName;
      if (owner !== undefined) data.owner = owner;
      const res = http('POST', appPath('/groups'), {
        token: tokenOf(this), body: data, ctype: 'application/vnd.kii.GroupCreationRequest+json',
      });
      if (!res.ok) return this._memberFail(res.err);
      this._uuid = res.json && res.json.groupID;
      return this._saveMembers();
    }
    save(callbacks) {
      if (this._uuid != null) return settle(callbacks, this._saveMembers());
      let owner;
      // A user-side group is owned by the current user; an admin-side one gets no owner.
      if (!this[TOK] && state.user) {
        this._owner = getCurrent();
        owner = this._owner.getUUID();
      }
      return settle(callbacks, this._create(owner));
    }
    saveWithOwner(owner, callbacks) {
      if (this._uuid == null) return settle(callbacks, this._create(owner));
      const r = this._saveMembers();
      if (!r.ok) return settle(callbacks, r);
      const res = this._req('PUT', '/owner', { body: { owner }, ctype: 'application/vnd.kii.GroupOwnerChangeRequest+json' });
      return settle(callbacks, res.ok ? ok([this]) : fail(this, res.err));
    }
    refresh(callbacks) { return settle(callbacks, this._refresh()); }
    _refresh() {
      const res = this._req('GET', '', { accept: 'application/vnd.kii.GroupRetrievalResponse+json' });
      if (!res.ok) return fail(this, res.err);
      const j = res.json || {};
      if (j.groupID != null) this._uuid = j.groupID;
      this._groupName = j.name != null ? j.name : null;
      this._owner = j.owner != null ? userWithToken(j.owner, this[TOK]) : null;
      return ok([this]);
    }
    getOwner(callbacks) {
      const r = this._refresh();
      return settle(callbacks, r.ok ? ok([this, this._owner], [this, this._owner]) : r);
    }
    delete(callbacks) {
      const res = this._req('DELETE', '');
      return settle(callbacks, res.ok ? ok([this]) : fail(this, res.err));
    }
    changeGroupName(newName, callbacks) {
      if (this._uuid == null) {
        return settle(callbacks, fail(this, 'Invalid group. Save the group on the server before updating the name.'));
      }
      const res = this._req('PUT', '/name', { body: newName, ctype: 'text/plain' });
      if (!res.ok) return settle(callbacks, fail(this, res.err));
      this._groupName = newName;
      return settle(callbacks, ok([this]));
    }
    getMemberList(callbacks) {
      const res = this._req('GET', '/members', { accept: 'application/vnd.kii.MembersRetrievalResponse+json' });
      if (!res.ok) return settle(callbacks, fail(this, res.err));
      const members = ((res.json && res.json.members) || []).map((m) => userWithToken(m.userID, this[TOK]));
      return settle(callbacks, ok([this, members], [this, members]));
    }
  }

  function groupFromJSON(j, tok) {
    const g = new KiiGroup(tok);
    if (j.groupID != null) g._uuid = j.groupID;
    if (j.name != null) g._groupName = j.name;
    if (j.owner != null) g._owner = userWithToken(j.owner, tok);
    return g;
  }
  function namedGroup(name, members, tok) {
    const g = new KiiGroup(tok);
    g._groupName = name;
    for (const m of members || []) g.addUser(m);
    return g;
  }
  function groupWithID(id, tok) {
    if (id == null || id === '') raise(invalidArg('groupID should not null or empty'));
    const g = new KiiGroup(tok);
    g._uuid = id;
    return g;
  }

  // PUT /groups/{id}: KiiGroup.registerGroupWithID and the admin's registerGroupWithOwnerAndID.
  function registerGroup(token, groupTok, groupID, groupName, owner, members) {
    const bad = (m) => {
      const e = kiiError(m, null);
      e.addMembersArray = members;
      e.removeMembersArray = null;
      return ko([null, m, members, null], e);
    };
    if (!isStr(groupID)) return bad('groupID is null or empty');
    if (!/^[a-z0-9-_.]{1,30}$/.test(groupID)) return bad('invalid groupID : ' + groupID);
    if (!isStr(groupName)) return bad('groupName is null or empty');
    if (owner == null) return bad('owner is null');
    const data = { name: groupName, owner };
    if (members && members.length > 0) data.members = members.map((m) => m.getID());
    const res = http('PUT', appPath('/groups/' + groupID), {
      token, body: data, ctype: 'application/vnd.kii.GroupCreationRequest+json',
    });
    if (!httpOK(res)) return bad(statusError('failed to register group. failed.', res, 'message'));
    const g = new KiiGroup(groupTok); // members were added by the request itself: none pending
    g._groupName = groupName;
    g._uuid = groupID;
    g._owner = userWithToken(owner, groupTok);
    return ok([g]);
  }

  Object.assign(KiiGroup, {
    groupWithName: function (name, members) { return namedGroup(name, members); },
    groupWithNameAndMembers: function (name, members) { return namedGroup(name, members); },
    groupWithID: function (id) { return groupWithID(id); },
    groupWithURI: function (uri) {
      const parts = String(uri).substr('kiicloud://'.length).split('/');
      const g = new KiiGroup();
      g._uuid = parts[parts.length - 1];
      return g;
    },
    registerGroupWithID: function (groupID, groupName, members, callbacks) {
      const me = state.user;
      return settle(callbacks, registerGroup(userToken(), undefined, groupID, groupName, me ? me.getID() : undefined, members));
    },
  });

  // KiiAppAdminContext#groupWithURI: stricter than KiiGroup.groupWithURI (kiicloud://groups/ID only).
  function adminGroupWithURI(uri, tok) {
    if (uri == null || String(uri).indexOf('kiicloud://') !== 0) raise(MSG_URI);
    const parts = String(uri).substr('kiicloud://'.length).split('/');
    if (parts.length !== 2 || parts[0] !== 'groups') raise(MSG_URI);
    return groupWithID(parts[1], tok);
  }

  sdk._bindMethods(KiiGroup);
  Object.assign(sdk, {
    KiiGroup, _groupFromJSON: groupFromJSON, _namedGroup: namedGroup, _groupWithID: groupWithID, _registerGroup: registerGroup,
    _groupWithURI: adminGroupWithURI,
  });
})
