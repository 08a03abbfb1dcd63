// Kumo's in-sandbox Kii SDK, part `acl`: KiiACL, KiiACLEntry and KiiACLAction (see core.js).
(function (sdk) {
  'use strict';

  const {
    _invalidArg: invalidArg, _raise: raise, _is: is, _ok: ok, _fail: fail, _settle: settle, _appPath: appPath,
    _tokenOf: tokenOf, _http: http, _user: userWithToken, _group: groupWithID, KiiAnonymousUser, KiiAnyAuthenticatedUser,
    _TOK: TOK,
  } = sdk;

  const KiiACLAction = {
    KiiACLActionStart: -1,
    KiiACLBucketActionCreateObjects: 0,
    KiiACLBucketActionQueryObjects: 1,
    KiiACLBucketActionDropBucket: 2,
    KiiACLBucketActionReadObjects: 3,
    KiiACLObjectActionRead: 4,
    KiiACLObjectActionWrite: 5,
    KiiACLSubscribeToTopic: 6,
    KiiACLSendMessageToTopic: 7,
    KiiACLActionEnd: 8,
  };
  // Wire names, indexed by action value.
  const ACTION_NAMES = [
    'CREATE_OBJECTS_IN_BUCKET', 'QUERY_OBJECTS_IN_BUCKET', 'DROP_BUCKET_WITH_ALL_CONTENT', 'READ_OBJECTS_IN_BUCKET',
    'READ_EXISTING_OBJECT', 'WRITE_EXISTING_OBJECT', 'SUBSCRIBE_TO_TOPIC', 'SEND_MESSAGE_TO_TOPIC',
  ];
  const isAnyone = (s) => s instanceof KiiAnyAuthenticatedUser || s instanceof KiiAnonymousUser;

  class KiiACLEntry {
    constructor() {
      this._action = -1;
      this._grant = true;
    }
    setAction(value) {
      if (!(value > KiiACLAction.KiiACLActionStart && value < KiiACLAction.KiiACLActionEnd)) {
        raise('Unable to set ACL action. Must be one of the permitted values in KiiACLAction');
      }
      this._action = value;
    }
    getAction() { return this._action; }
    setSubject(s) {
      const okSubject = ((is(s, 'KiiGroup') || is(s, 'KiiUser')) && s.getID() != null) || isAnyone(s);
      if (!okSubject) raise('Unable to set ACL subject. Must be of type KiiUser or KiiGroup');
      this._subject = s;
    }
    getSubject() { return this._subject; }
    setGrant(value) {
      if (value !== true && value !== false) raise('Unable to set ACL grant. Must be a boolean type');
      this._grant = value;
    }
    getGrant() { return this._grant; }
    getActionString() { return ACTION_NAMES[this._action]; }
    getEntityString() {
      const s = this._subject;
      if (is(s, 'KiiGroup')) return 'GroupID:' + s.getUUID();
      if (is(s, 'KiiUser')) return 'UserID:' + s.getUUID();
      if (isAnyone(s)) return 'UserID:' + s.getID();
      return 'undefined:undefined';
    }
  }
  KiiACLEntry.entryWithSubject = function (subject, action) {
    const e = new KiiACLEntry();
    e.setSubject(subject);
    e.setAction(action);
    return e;
  };

  class KiiACL {
    constructor(parent, tok) {
      this._parent = parent;
      if (tok) this[TOK] = tok;
      this._entriesMap = {};
    }
    // Path under /apps/{app}, as 2.4.19's aclPath().
    aclPath() {
      const p = this._parent;
      const isObject = is(p, 'KiiObject');
      const bucket = isObject ? p.getBucket() : p;
      let path = '/';
      if (bucket.getGroup()) path += 'groups/' + bucket.getGroup().getUUID() + '/';
      else if (bucket.getUser()) path += 'users/' + bucket.getUser().getUUID() + '/';
      path += 'buckets/' + bucket._qualifiedName();
      // An object not saved yet has no path of its own: 2.4.19 then names its bucket's ACL.
      return path + (isObject && p.getUUID() != null ? '/objects/' + p.getUUID() : '') + '/acl';
    }
    listACLEntries(callbacks) {
      const res = http('GET', appPath(this.aclPath()), { token: tokenOf(this) });
      if (!res.ok) return settle(callbacks, fail(this, res.err));
      const entries = [];
      const j = res.json || {};
      for (const key of Object.keys(j)) {
        const action = ACTION_NAMES.indexOf(key);
        if (action < 0 || !Array.isArray(j[key])) continue;
        for (const who of j[key]) {
          let subject;
          if (who.groupID != null) subject = groupWithID(who.groupID, this[TOK]);
          else if (who.userID === 'ANONYMOUS_USER') subject = new KiiAnonymousUser();
          else if (who.userID === 'ANY_AUTHENTICATED_USER') subject = new KiiAnyAuthenticatedUser();
          else if (who.userID != null) subject = userWithToken(who.userID, this[TOK]);
          else continue; // things are not supported in server code
          entries.push(KiiACLEntry.entryWithSubject(subject, action));
        }
      }
      return settle(callbacks, ok([this, entries], [this, entries]));
    }
    _key(entry) { return entry.getActionString() + '/' + entry.getEntityString() + ':' + entry.getGrant(); }
    putACLEntry(entry) {
      if (!(entry instanceof KiiACLEntry)) raise(invalidArg('invalid entry'));
      this._entriesMap[this._key(entry)] = entry;
    }
    removeACLEntry(entry) {
      if (!(entry instanceof KiiACLEntry)) raise(invalidArg('invalid entry'));
      delete this._entriesMap[this._key(entry)];
    }
    // One PUT (grant) or DELETE (revoke) per pending entry; saved entries leave the pending set.
    save(callbacks) {
      const keys = Object.keys(this._entriesMap);
      if (keys.length < 1) return settle(callbacks, fail(this, 'There is no entry to save.'));
      for (const k of keys) {
        const e = this._entriesMap[k];
        const path = appPath(this.aclPath() + '/' + e.getActionString() + '/' + e.getEntityString());
        const res = http(e.getGrant() === true ? 'PUT' : 'DELETE', path, { token: tokenOf(this) });
        if (!res.ok) return settle(callbacks, fail(this, res.err));
        delete this._entriesMap[k];
      }
      return settle(callbacks, ok([this]));
    }
  }
  KiiACL.aclWithParent = function (parent) { return new KiiACL(parent, parent && parent[TOK]); };

  [KiiACL, KiiACLEntry].forEach(sdk._bindMethods);
  Object.assign(sdk, { KiiACL, KiiACLEntry, KiiACLAction });
})
