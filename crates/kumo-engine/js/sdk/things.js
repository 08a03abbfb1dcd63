// Kumo's in-sandbox Kii SDK, part `things`: KiiThing and the admin context's thing methods
// (see core.js). As in 2.4.19, a thing made by an admin context (`registerThing`,
// `thingWithID`, `loadThingWith…`) acts with the admin token; any other acts as the current
// user. Failures are single Error arguments ("<action> failed. statusCode: N error code: C
// message: M", 2.4.19's XHR wording), and every failure is a rejection, never a throw.
(function (sdk) {
  'use strict';

  const {
    _isStr: isStr, _invalidArg: invalidArg, _raise: raise, _is: is, _ok: ok, _ko: ko, _kiiError: kiiError,
    _settle: settle, _appPath: appPath, _tokenOf: tokenOf, _http: http, _statusError: statusError,
    _bucket: bucket, _TOK: TOK, _bindMethods: bindMethods, _secretFields: secretFields,
  } = sdk;

  const REGISTER = 'application/vnd.kii.ThingRegistrationAndAuthorizationRequest+json';
  // 2.4.19's failure: failure(error) and the promise rejected with the same Error.
  const failWith = (head, res, target) => {
    const e = kiiError(statusError(head + ' failed.', res, 'message'), target);
    return ko([e], e);
  };
  const failMessage = (message, target) => {
    const e = kiiError(message, target);
    return ko([e], e);
  };
  const ownerPath = (identifier, owner) => {
    let type;
    if (is(owner, 'KiiUser')) type = 'user';
    else if (is(owner, 'KiiGroup')) type = 'group';
    else throw 'owner should be instance of user or group';
    const oid = owner.getID();
    if (oid == null) throw 'owner instance does not have id';
    return appPath('/things/' + identifier + '/ownership/' + type + ':' + oid);
  };

  class KiiThing {
    constructor(fields, tok) {
      if (tok) this[TOK] = tok;
      this.fields = fields;
      this._online = null;
      this._onlineStatusModifiedAt = null;
      if (fields != null) this._renew(fields);
    }
    _renew(json) {
      this._online = null;
      this._onlineStatusModifiedAt = null;
      this.fields = json;
      this._thingID = json._thingID;
      this._vendorThingID = json._vendorThingID;
      this._accessToken = json._accessToken; // as 2.4.19: a refresh (no token in it) clears it
      this._created = new Date(json._created);
      this._disabled = json._disabled;
      if (json._online != null) this._online = json._online;
      if (json._onlineStatusModifiedAt != null) this._onlineStatusModifiedAt = new Date(json._onlineStatusModifiedAt);
      for (const k of ['_thingID', '_vendorThingID', '_accessToken', '_created', '_disabled']) delete this.fields[k];
    }
    getThingID() { return this._thingID; }
    getVendorThingID() { return this._vendorThingID; }
    getAccessToken() { return this._accessToken; }
    getCreated() { return this._created; }
    getDisabled() { return this._disabled; }
    isOnline() { return this._online; }
    getOnlineStatusModifiedAt() { return this._onlineStatusModifiedAt; }
    _identifier() {
      if (this._thingID != null) return this._thingID;
      if (this._vendorThingID != null) return 'VENDOR_THING_ID:' + this._vendorThingID;
      return null;
    }
    _get() { return http('GET', appPath('/things/' + this._identifier()), { token: tokenOf(this) }); }
    refresh(callbacks) {
      const res = this._get();
      if (!res.ok) return settle(callbacks, failWith('refresh thing', res, this));
      this._renew(res.json || {});
      return settle(callbacks, ok([this]));
    }
    // 2.4.19 reads the thing first, lays its own fields over what it read and sends it all.
    update(callbacks) {
      const got = this._get();
      if (!got.ok) return settle(callbacks, failWith('refresh thing', got, this));
      const merged = got.json || {};
      const mine = this.fields || {};
      for (const k of Object.keys(mine)) merged[k] = mine[k];
      this.fields = merged;
      const res = http('PATCH', appPath('/things/' + this._thingID), {
        token: tokenOf(this), body: merged, ctype: 'application/vnd.kii.ThingUpdateRequest+json',
      });
      return settle(callbacks, res.ok ? ok([this]) : failWith('update thing', res, this));
    }
    deleteThing(callbacks) {
      const res = http('DELETE', appPath('/things/' + this._thingID), { token: tokenOf(this) });
      return settle(callbacks, res.ok ? ok([this]) : failWith('delete thing', res, this));
    }
    isOwner(owner, callbacks) {
      let path;
      try {
        path = ownerPath(this._thingID, owner);
      } catch (m) {
        return settle(callbacks, failMessage(m, this));
      }
      const res = http('HEAD', path, { token: tokenOf(this) });
      if (res.ok) return settle(callbacks, ok([this, owner, true], [this, owner, true]));
      if (res.status === 404) return settle(callbacks, ok([this, owner, false], [this, owner, false]));
      return settle(callbacks, failWith('register owner', res, this));
    }
    registerOwner(owner, callbacks) {
      let path;
      try {
        path = ownerPath(this._thingID, owner);
      } catch (m) {
        return settle(callbacks, failMessage(m, this));
      }
      const res = http('PUT', path, { token: tokenOf(this) });
      return settle(callbacks, res.ok ? ok([this, owner], [this, owner]) : failWith('register owner', res, this));
    }
    registerOwnerWithPassword(owner, password, callbacks) {
      const outcome = ownerWithPassword(this._thingID, owner, password, tokenOf(this));
      return settle(callbacks, outcome.ok ? ok([this, owner], [this, owner]) : outcome);
    }
    unregisterOwner(owner, callbacks) {
      let path;
      try {
        path = ownerPath(this._thingID, owner);
      } catch (m) {
        return settle(callbacks, failMessage(m, this));
      }
      const res = http('DELETE', path, { token: tokenOf(this) });
      return settle(callbacks, res.ok ? ok([this, owner], [this, owner]) : failWith('unregister owner', res, this));
    }
    disable(callbacks) { return this._status(true, callbacks); }
    enable(callbacks) { return this._status(false, callbacks); }
    _status(disabled, callbacks) {
      const res = http('PUT', appPath('/things/' + this._thingID + '/status'), {
        token: tokenOf(this), body: { disabled }, ctype: 'application/vnd.kii.ThingStatusUpdateRequest+json',
      });
      if (!res.ok) return settle(callbacks, failWith('disable thing ' + disabled, res, this));
      this._disabled = disabled;
      return settle(callbacks, ok([this]));
    }
    updatePassword(newPassword, callbacks) {
      if (!this[TOK]) return settle(callbacks, failMessage('updatePassword can be used only by app admin.'));
      if (!isStr(newPassword)) return settle(callbacks, failMessage('newPassword is null or empty'));
      const res = http('PUT', appPath('/things/' + this._identifier() + '/password'), {
        token: this[TOK], body: { newPassword }, ctype: 'application/vnd.kii.ChangeThingPasswordRequest+json',
      });
      return settle(callbacks, res.ok ? ok([this]) : failWith('changing thing password', res));
    }
    bucketWithName(name) { return bucket(name, this, this[TOK], false); }
    encryptedBucketWithName(name) { return bucket(name, this, this[TOK], true); }
    objectURI() { return this._thingID != null ? 'kiicloud://things/' + this._thingID : null; }

    static register(fields, callbacks) { return register(fields, callbacks, undefined); }
    static loadWithThingID(thingID, callbacks) { return load(thingID, callbacks, undefined); }
    static loadWithVendorThingID(vendorThingID, callbacks) {
      return load('VENDOR_THING_ID:' + vendorThingID, callbacks, undefined);
    }
    static thingWithID(thingID) {
      if (thingID == null || thingID === '') raise(invalidArg('thingID should not null or empty'));
      const t = new KiiThing();
      t._thingID = thingID;
      return t;
    }
    static registerOwnerWithThingID(thingID, owner, callbacks) { return ownerWithID(thingID, owner, callbacks, undefined); }
    static registerOwnerWithVendorThingID(vendorThingID, owner, callbacks) {
      return ownerWithID(isStr(vendorThingID) ? 'VENDOR_THING_ID:' + vendorThingID : null, owner, callbacks, undefined);
    }
    static registerOwnerWithThingIDAndPassword(thingID, owner, password, callbacks) {
      return settle(callbacks, ownerWithPassword(thingID, owner, password, undefined, true));
    }
    static registerOwnerWithVendorThingIDAndPassword(vendorThingID, owner, password, callbacks) {
      const id = isStr(vendorThingID) ? 'VENDOR_THING_ID:' + vendorThingID : null;
      return settle(callbacks, ownerWithPassword(id, owner, password, undefined, true));
    }
  }
  // The thing's token stays out of JSON.stringify and Object.keys (core's secret fields).
  secretFields(KiiThing.prototype, ['_accessToken']);
  bindMethods(KiiThing);

  // Kii.authenticateAsThing / authenticateAsThingWithToken: the thing's own context. Its
  // buckets are app-scope buckets used with the thing's token.
  class KiiThingContext {
    constructor(spec) {
      this._token = spec.token;
      this._thingId = spec.thingId;
      if (spec.vendorThingID != null) this._vendorThingID = spec.vendorThingID;
    }
    bucketWithName(name) { return bucket(name, null, this._token, false); }
    encryptedBucketWithName(name) { return bucket(name, null, this._token, true); }
    objectWithURI(uri) { return sdk.need('objects')._objectWithURI(uri, this._token, true); }
    getAuthenticatedThing() {
      const t = new KiiThing(null, this._token);
      t._thingID = this._thingId;
      t._accessToken = this._token;
      t._vendorThingID = this._vendorThingID;
      return t;
    }
    _getToken() { return this._token; }
  }
  secretFields(KiiThingContext.prototype, ['_token']);
  bindMethods(KiiThingContext);

  function authenticateAsThing(vendorThingID, password, callbacks) {
    if (!isStr(vendorThingID) || !isStr(password)) {
      return settle(callbacks, failMessage('vendorThingID or password is invalid'));
    }
    const res = http('POST', '/oauth2/token', {
      body: { username: 'VENDOR_THING_ID:' + vendorThingID, password },
      ctype: 'application/vnd.kii.OauthTokenRequest+json',
    });
    if (!res.ok) return settle(callbacks, failWith('authenticate as thing', res));
    const j = res.json || {};
    if (j.id == null || j.access_token == null) {
      return settle(callbacks, failWith('invalid format response when authenticate thing ', res));
    }
    return settle(callbacks, ok([new KiiThingContext({ thingId: j.id, token: j.access_token, vendorThingID })]));
  }

  function authenticateAsThingWithToken(thingID, token, callbacks) {
    if (!isStr(thingID) || !isStr(token)) return settle(callbacks, failMessage('thingID or token is invalid'));
    return settle(callbacks, ok([new KiiThingContext({ thingId: thingID, token })]));
  }

  // Things owned by a user and/or groups (2.4.19's KiiThingQuery and its result).
  class KiiThingQuery {
    constructor(owner, groups) {
      if (owner == null && (groups == null || groups.length === 0)) {
        raise(invalidArg('Both the owner and groups parameter are optional, but at least one of them must be supplied.'));
      }
      this._owner = owner;
      this._groups = groups;
      this._limit = 0;
    }
    static thingQuery(owner, groups) { return new KiiThingQuery(owner, groups); }
    setLimit(limit) { this._limit = limit > 0 ? limit : 0; return this._limit; }
    getLimit() { return this._limit; }
    setThingType(thingType) { this._thingType = thingType; return thingType; }
    getThingType() { return this._thingType; }
    setPaginationKey(key) { this._paginationKey = key; return key; }
    getPaginationKey() { return this._paginationKey; }
    clone() {
      const c = new KiiThingQuery(this._owner, this._groups && this._groups.slice());
      c._limit = this._limit;
      c._thingType = this._thingType;
      c._paginationKey = this._paginationKey;
      return c;
    }
    _dictValue() {
      const query = {};
      if (this._limit != null && this._limit > 0) query.bestEffortLimit = this._limit;
      if (this._paginationKey != null) query.paginationKey = this._paginationKey;
      const owners = [];
      if (this._owner != null) owners.push({ type: 'contains', field: 'userOwners', value: this._owner.getID() });
      for (const g of this._groups || []) owners.push({ type: 'contains', field: 'groupOwners', value: g.getID() });
      if (owners.length === 0) raise(invalidArg("Query clause must include the 'contains' clause."));
      const ownerClause = owners.length === 1 ? owners[0] : { type: 'or', clauses: owners };
      const clause = this._thingType != null
        ? { type: 'and', clauses: [{ type: 'eq', field: '_thingType', value: this._thingType }, ownerClause] }
        : ownerClause;
      query.thingQuery = { clause };
      return query;
    }
  }

  class KiiThingQueryResult {
    constructor(query, results, paginationKey) {
      this._query = query;
      this._results = results;
      this._paginationKey = paginationKey;
    }
    getResult() { return this._results; }
    hasNext() { return this._paginationKey != null; }
    getNextKiiThingQuery() {
      if (!this.hasNext()) return null;
      const next = this._query.clone();
      next.setPaginationKey(this._paginationKey);
      return next;
    }
    getNextResult(callbacks) {
      if (!this.hasNext()) return settle(callbacks, failMessage('No more pages to fetch', this));
      return executeQuery(this.getNextKiiThingQuery(), callbacks);
    }
  }
  [KiiThingQuery, KiiThingQueryResult].forEach(bindMethods);

  function executeQuery(thingQuery, callbacks) {
    if (thingQuery == null) return settle(callbacks, failMessage('thingQuery is null'));
    let body;
    try {
      body = thingQuery._dictValue();
    } catch (e) {
      return settle(callbacks, failMessage(e && e.message !== undefined ? e.message : String(e)));
    }
    const res = http('POST', appPath('/things/query'), {
      token: tokenOf(null), body, ctype: 'application/vnd.kii.ThingQueryRequest+json',
    });
    if (!res.ok) return settle(callbacks, failWith('query thing', res));
    const j = res.json || {};
    const things = (j.results || []).map((r) => new KiiThing(r));
    return settle(callbacks, ok([new KiiThingQueryResult(thingQuery, things, j.nextPaginationKey)]));
  }
  KiiThing.executeQuery = executeQuery;

  function register(fields, callbacks, tok) {
    const res = http('POST', appPath('/things'), { token: tok || tokenOf(null), body: fields, ctype: REGISTER });
    if (!res.ok) return settle(callbacks, failWith('register thing', res));
    return settle(callbacks, ok([new KiiThing(res.json || {}, tok)]));
  }

  function load(identifier, callbacks, tok) {
    const res = http('GET', appPath('/things/' + identifier), { token: tok || tokenOf(null) });
    if (!res.ok) return settle(callbacks, failWith(tok ? 'refresh thing' : 'load thing', res));
    return settle(callbacks, ok([new KiiThing(res.json || {}, tok)]));
  }

  // PUT …/ownership/{type}:{id}: success(owner), the promise resolved with [owner] (2.4.19).
  function ownerWithID(identifier, owner, callbacks, tok) {
    if (!tok) {
      if (!isStr(identifier)) return settle(callbacks, failMessage('identifier is null or empty'));
      if (owner == null) return settle(callbacks, failMessage('owner is null'));
    }
    let path;
    try {
      path = ownerPath(identifier, owner);
    } catch (m) {
      // 2.4.19's admin variant throws the bare string inside its promise: a rejection with
      // it, and no callback.
      if (tok) return Promise.reject(m);
      return settle(callbacks, failMessage(m));
    }
    const res = http('PUT', path, { token: tok || tokenOf(null) });
    return settle(callbacks, res.ok ? ok([owner], [owner]) : failWith('register owner', res));
  }

  // POST …/ownership with the thing's password: success(owner), resolved with owner.
  function ownerWithPassword(identifier, owner, password, tok) {
    if (!isStr(identifier)) return failMessage('identifier is null or empty');
    if (owner == null) return failMessage('owner is null');
    if (!isStr(password)) return failMessage('password is null or empty');
    const body = { thingPassword: password };
    if (is(owner, 'KiiUser')) body.userID = owner.getID();
    else if (is(owner, 'KiiGroup')) body.groupID = owner.getID();
    else return failMessage('owner should be instance of KiiUser or KiiGroup');
    const res = http('POST', appPath('/things/' + identifier + '/ownership'), {
      token: tok || tokenOf(null), body, ctype: 'application/vnd.kii.ThingOwnershipRequest+json',
    });
    return res.ok ? ok([owner], owner) : failWith('register owner', res);
  }

  // The admin context's thing methods (core's KiiAppAdminContext calls them with itself).
  const adminThings = {
    registerThing(fields, callbacks) { return register(fields, callbacks, this._token); },
    thingWithID(thingID) {
      const t = new KiiThing(null, this._token);
      t._thingID = thingID;
      return t;
    },
    loadThingWithThingID(thingID, callbacks) { return load(thingID, callbacks, this._token); },
    loadThingWithVendorThingID(vendorThingID, callbacks) {
      return load('VENDOR_THING_ID:' + vendorThingID, callbacks, this._token);
    },
    registerOwnerWithThingID(thingID, owner, callbacks) { return ownerWithID(thingID, owner, callbacks, this._token); },
    registerOwnerWithVendorThingID(vendorThingID, owner, callbacks) {
      return ownerWithID('VENDOR_THING_ID:' + vendorThingID, owner, callbacks, this._token);
    },
  };
  Object.assign(sdk, {
    KiiThing, KiiThingQuery, KiiThingQueryResult, KiiThingContext,
    _adminThings: adminThings, _authenticateAsThing: authenticateAsThing,
    _authenticateAsThingWithToken: authenticateAsThingWithToken,
  });
})
