// Kumo's in-sandbox Kii SDK, part `objects`: KiiBucket and KiiObject (see core.js).
(function (sdk) {
  'use strict';

  const {
    _isStr: isStr, _MSG_URI: MSG_URI, _invalidArg: invalidArg, _raise: raise, _is: is, _ok: ok, _fail: fail,
    _settle: settle, _appPath: appPath, _tokenOf: tokenOf, _http: http, _user: userWithToken, _group: groupWithID,
    _env: env,
    _TOK: TOK,
  } = sdk;
  const isObjectID = (v) => typeof v === 'string' && /^[a-zA-Z0-9-_.]{2,100}$/.test(v);
  const REFRESH_FIRST = 'IllegalState! Call KiiObject#refresh() prior call this method.';
  const BODY_REFUSED = (m) => 'KiiObject#' + m + ' is not available in server code: object bodies cannot be uploaded or downloaded there, as on Kii Cloud';

  class KiiBucket {
    constructor(name, parent, tok, crypto) {
      if (!isStr(name)) raise(invalidArg('Specified bucket name is null or empty.'));
      if (crypto && name.indexOf('CRYPTO:') === 0) name = name.substr(7);
      this._bucketName = name;
      this._crypto = !!crypto;
      if (tok) this[TOK] = tok;
      if (is(parent, 'KiiGroup')) this._group = parent;
      else if (is(parent, 'KiiUser')) this._user = parent;
      else if (is(parent, 'KiiThing')) this._thing = parent;
    }
    getUser() { return this._user; }
    getGroup() { return this._group; }
    getThing() { return this._thing; }
    getBucketName() { return this._bucketName; }
    _qualifiedName() { return (this._crypto ? 'CRYPTO:' : '') + this._bucketName; }
    _scope() {
      if (this._user) return '/users/' + this._user.getUUID();
      if (this._group) return '/groups/' + this._group.getUUID();
      if (this._thing) return '/things/' + this._thing.getThingID();
      return '';
    }
    _path() { return appPath(this._scope() + '/buckets/' + this._qualifiedName()); }
    createObject() { return new KiiObject(this, null, this[TOK]); }
    createObjectWithType(type) { return new KiiObject(this, type, this[TOK]); }
    createObjectWithID(id) {
      // 2.4.19 checks the ID only for buckets without a token (its *WithToken classes do not).
      if (!this[TOK] && !isObjectID(id)) raise(invalidArg('Specified obejctID is invalid.'));
      const o = new KiiObject(this, null, this[TOK]);
      o._uuid = id;
      return o;
    }
    objectWithJSON(json) {
      const o = this.createObject();
      o._update(json);
      return o;
    }
    acl() { return new (sdk.need('acl').KiiACL)(this, this[TOK]); }

    _query(data) {
      return http('POST', this._path() + '/query', {
        token: tokenOf(this), body: data, ctype: 'application/vnd.kii.QueryRequest+json',
      });
    }
    executeQuery(query, callbacks) {
      let data;
      try {
        if (query != null && typeof query._dictValue !== 'function') {
          throw new TypeError('query._dictValue is not a function');
        }
        data = query != null ? query._dictValue() : { bucketQuery: { clause: { type: 'all' } } };
      } catch (e) {
        // As 2.4.19 reports it: the exception as a string (V8's words where Kii's came from V8).
        return settle(callbacks, fail(this, String(e)));
      }
      const res = this._query(data);
      if (!res.ok) return settle(callbacks, fail(this, res.err));
      const j = res.json || {};
      const results = (j.results || []).map((r) => this.objectWithJSON(r));
      let next = null;
      if (j.nextPaginationKey != null) {
        next = new (sdk.need('query').KiiQuery)(query);
        next.setPaginationKey(j.nextPaginationKey);
      }
      return settle(callbacks, ok([query, results, next], [query, results, next]));
    }
    countWithQuery(query, callbacks) {
      if (query == null) query = sdk.need('query').KiiQuery.queryWithClause();
      // As 2.4.19: a query without `_dictValue` is a TypeError thrown inside the promise's
      // executor, so a rejection with that error (no callback is called).
      if (typeof query._dictValue !== 'function') return Promise.reject(new TypeError('query._dictValue is not a function'));
      const data = query._dictValue();
      data.bucketQuery.aggregations = [{ type: 'COUNT', putAggregationInto: 'count_field' }];
      const res = this._query(data);
      if (!res.ok) return settle(callbacks, fail(this, res.err));
      const count = res.json && res.json.aggregations ? res.json.aggregations.count_field : undefined;
      return settle(callbacks, ok([this, query, count], [this, query, count]));
    }
    count(callbacks) { return this.countWithQuery(sdk.need('query').KiiQuery.queryWithClause(), callbacks); }
    delete(callbacks) {
      const res = http('DELETE', this._path(), { token: tokenOf(this) });
      return settle(callbacks, res.ok ? ok([this]) : fail(this, res.err));
    }
  }

  // o._owner = the owner as a KiiUser. Unless `users` is loaded already, the KiiUser is made on
  // first read, so that reading objects does not load `users`.
  function setOwner(o, id) {
    if (sdk.KiiUser) {
      o._owner = userWithToken(id, o[TOK]);
      return;
    }
    const tok = o[TOK];
    const set = (value) => Object.defineProperty(o, '_owner', { value, writable: true, enumerable: true, configurable: true });
    const get = () => {
      const user = userWithToken(id, tok);
      set(user);
      return user;
    };
    Object.defineProperty(o, '_owner', { get, set, enumerable: true, configurable: true });
  }

  class KiiObject {
    constructor(bucket, type, tok) {
      this._customInfo = {};
      this._alteredFields = [];
      this._bucket = bucket;
      this._objectType = type;
      if (tok) this[TOK] = tok;
    }
    getUUID() { return this._uuid; }
    getID() { return this._uuid; }
    getCreated() { return this._created; }
    getModified() { return this._modified; }
    getObjectType() { return this._objectType; }
    getBucket() { return this._bucket; }
    getBodyContentType() { return this._bodyContentType; }
    set(key, value) {
      if (!isStr(key) || key[0] === '_') return; // reserved, ignored like 2.4.19
      this._customInfo[key] = value;
      this._alteredFields.push(key);
    }
    get(key) { return this._customInfo[key]; }
    getKeys() { return Object.keys(this._customInfo); }
    remove(key) {
      delete this._customInfo[key];
      const i = this._alteredFields.indexOf(key);
      if (i >= 0) this._alteredFields.splice(i, 1);
    }
    setGeoPoint(key, point) {
      if (!is(point, 'KiiGeoPoint')) raise(invalidArg('Specified kiiGeoPoint is not an instance of KiiGeoPoint'));
      this._customInfo[key] = point._toDict();
      this._alteredFields.push(key);
    }
    getGeoPoint(key) {
      const p = this._customInfo[key];
      return sdk.need('misc').KiiGeoPoint.geoPoint(p.lat, p.lon);
    }
    objectACL() { return new (sdk.need('acl').KiiACL)(this, this[TOK]); }
    acl() { return this.objectACL(); } // Kumo alias of objectACL()
    objectURI() {
      if (this._bucket == null || this._uuid == null) return undefined;
      const b = this._bucket;
      let uri = 'kiicloud://';
      if (b.getGroup()) uri += 'groups/' + b.getGroup().getUUID() + '/';
      else if (b.getUser()) uri += 'users/' + b.getUser().getUUID() + '/';
      else if (b.getThing()) uri += 'things/' + b.getThing().getThingID() + '/';
      return uri + 'buckets/' + b._qualifiedName() + '/objects/' + this._uuid;
    }
    _objectsPath() { return this._bucket._path() + '/objects'; }
    // Without an ID, the objects collection itself, as 2.4.19 sends it (`…/objects/`): the
    // server answers for that path (405), and the call rejects with its error.
    _path() { return this._uuid == null ? this._objectsPath() : this._objectsPath() + '/' + this._uuid; }
    _ctype() { return this._objectType != null ? 'application/vnd.' + env.appID + '.' + this._objectType + '+json' : undefined; }

    // A server document: system fields to properties, the rest (and _calculated) to custom fields.
    _update(json, patch) {
      if (!patch) this._customInfo = {};
      for (const key of Object.keys(json)) {
        const v = json[key];
        if (key === '_id') { if (this._uuid == null) this._uuid = v; }
        else if (key === '_created') this._created = v;
        else if (key === '_modified') this._modified = v;
        else if (key === '_owner') setOwner(this, v);
        else if (key === '_dataType') this._objectType = v;
        else if (key === '_version') this._etag = v;
        else if (key === '_calculated' || key[0] !== '_') this._customInfo[key] = v;
      }
    }
    _create() {
      const res = http('POST', this._objectsPath(), { token: tokenOf(this), body: this._customInfo, ctype: this._ctype() });
      if (!res.ok) return fail(this, res.err);
      const j = res.json || {};
      this._etag = res.headers.etag;
      if (j.objectID == null) return fail(this, 'No objectID response');
      this._uuid = j.objectID;
      if (j.createdAt != null) this._created = j.createdAt;
      this._modified = this._created;
      this._alteredFields = [];
      return ok([this]);
    }
    // patch: send only the fields set since the last save (PATCH); otherwise replace all (PUT).
    // With overwrite === false the write is conditional, exactly as 2.4.19 does it.
    _write(patch, overwrite) {
      const headers = {};
      let method = 'PUT';
      let data = this._customInfo;
      if (patch) {
        method = 'POST';
        headers['x-http-method-override'] = 'PATCH';
        data = {};
        for (const k of this._alteredFields) data[k] = this._customInfo[k];
      }
      if (!overwrite) {
        if (this._created > 0) {
          if (this._etag == null) return fail(this, REFRESH_FIRST);
          headers['if-match'] = this._etag;
        } else {
          if (patch && this._etag == null) return fail(this, REFRESH_FIRST);
          headers['if-none-match'] = '*';
        }
      }
      const res = http(method, this._path(), { token: tokenOf(this), body: data, ctype: this._ctype(), headers });
      if (!res.ok) return fail(this, res.err);
      this._etag = res.headers.etag;
      const j = res.json || {};
      if (patch) this._update(j, true);
      else {
        if (j.createdAt != null) this._created = j.createdAt;
        if (j.modifiedAt != null) this._modified = j.modifiedAt;
      }
      this._alteredFields = [];
      return ok([this]);
    }
    save(callbacks, overwrite) {
      if (overwrite == null) overwrite = true;
      return settle(callbacks, this._uuid != null ? this._write(true, overwrite) : this._create());
    }
    saveAllFields(callbacks, overwrite) {
      if (overwrite == null) overwrite = true;
      return settle(callbacks, this._uuid != null ? this._write(false, overwrite) : this._create());
    }
    refresh(callbacks) {
      const res = http('GET', this._path(), { token: tokenOf(this) });
      if (!res.ok) return settle(callbacks, fail(this, res.err));
      this._etag = res.headers.etag;
      this._update(res.json || {}, false);
      return settle(callbacks, ok([this]));
    }
    delete(callbacks) {
      const res = http('DELETE', this._path(), { token: tokenOf(this) });
      return settle(callbacks, res.ok ? ok([this]) : fail(this, res.err));
    }
    // Kii's server code cannot transfer object bodies (its guides say so, and its runtime has
    // no XMLHttpRequest Level 2 or Blob): the call fails as an SDK call fails, never a throw.
    uploadBody(srcDataBlob, callbacks) { return settle(callbacks, fail(this, BODY_REFUSED('uploadBody'))); }
    downloadBody(callbacks) { return settle(callbacks, fail(this, BODY_REFUSED('downloadBody'))); }
  }

  // kiicloud://[users|groups|things/ID/]buckets/NAME/objects/ID. strict: the admin context's
  // checks.
  function objectWithURI(uri, tok, strict) {
    if (strict && (!uri || String(uri).indexOf('kiicloud://') !== 0)) raise(MSG_URI);
    const parts = String(uri).substr('kiicloud://'.length).split('/');
    const n = parts.length;
    if (n < 4 || (strict && n !== 4 && n !== 6)) raise(MSG_URI);
    const name = parts[n === 4 ? 1 : 3];
    let subject = null;
    if (parts[0] === 'groups') subject = groupWithID(parts[1], tok);
    else if (parts[0] === 'users') subject = userWithToken(parts[1], tok);
    else if (parts[0] === 'things') {
      subject = new (sdk.need('things').KiiThing)(null, tok);
      subject._thingID = parts[1];
    }
    const bucket = new KiiBucket(name, subject, tok, name.indexOf('CRYPTO:') === 0);
    const o = bucket.createObject();
    o._uuid = parts[n - 1];
    return o;
  }

  Object.assign(KiiObject, {
    objectWithURI: function (uri) { return objectWithURI(uri); },
    isValidObjectID: function (id) { return isObjectID(id); },
  });

  [KiiBucket, KiiObject].forEach(sdk._bindMethods);
  Object.assign(sdk, { KiiBucket, KiiObject, _objectWithURI: objectWithURI });
})
