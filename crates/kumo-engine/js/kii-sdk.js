// Kumo's Kii Cloud JavaScript SDK for server code.
//
// A compact re-implementation of the public v2 API of kii-cloud-sdk 2.4.19 (names, argument
// order, callback arguments, promise results, request shapes and error strings), written for
// Kumo's QuickJS sandbox. The host provides synchronous bridges:
//   __kii_env                             {appID, appKey, baseURL}
//   __kii_http(method, path, headers, body)  one Kii REST call in-process -> {status, headers, body}
//   __kii_fetch(method, url, headers, body)  outbound HTTP for $.ajax (throws on refusal / network)
// Requests therefore complete inside the call; results are still delivered asynchronously
// (microtasks), so callback and promise ordering matches what code written for Kii expects.
//
// The whole file is one expression whose value maps global names to their values.
(function () {
  'use strict';

  const SDK_VERSION = '2.4.19';
  const MAX_DATE_MS = 100000000 * 24 * 60 * 60 * 1000; // 2.4.19's "never expires"
  const env = __kii_env;

  let currentUser = null; // the logged-in KiiUser of this run; callers get clones
  let tokenExpiration = 0; // Kii.setAccessTokenExpiration, seconds (0: server default)
  let extraHeaders = null; // Kii.setAdditionalHeaders
  let logging = false;

  // ------------------------------------------------------------------------------------------
  // Small helpers

  const isStr = (s) => typeof s === 'string' && s.length > 0;
  const trim = (v) => String(v == null ? '' : v).replace(/^(\s|\u00A0)+|(\s|\u00A0)+$/g, '');
  // Plain objects (also from another realm, or without prototype); not class instances.
  const isPlain = (o) => {
    if (o === null || typeof o !== 'object' || Object.prototype.toString.call(o) !== '[object Object]') return false;
    const p = Object.getPrototypeOf(o);
    return p === null || Object.getPrototypeOf(p) === null;
  };
  const values = (map) => Object.keys(map).map((k) => map[k]);

  // Deep copy of JSON-like data (plain objects, arrays, dates); anything else is shared.
  function copy(v) {
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Date) return new Date(v.getTime());
    if (Array.isArray(v)) return v.map(copy);
    if (!isPlain(v)) return v;
    const out = {};
    for (const k of Object.keys(v)) out[k] = copy(v[k]);
    return out;
  }

  function expiry(seconds) {
    const ms = Date.now() + seconds * 1000;
    return Math.abs(ms) > MAX_DATE_MS ? MAX_DATE_MS : ms;
  }

  // 2.4.19's validators (same accepted sets, including its permissive username class).
  const valid = {
    username: (v) => typeof v === 'string' && /^[a-zA-Z0-9-_\\.]{3,64}$/i.test(v),
    email: (v) => typeof v === 'string' && /^[^@]+@[^@]+$/.test(trim(v)),
    phone: (v) => typeof v === 'string' && /^[\\+]?[0-9]{10,}$/.test(trim(v)),
    globalPhone: (v) => typeof v === 'string' && /^\+[0-9]{2}/.test(trim(v)),
    password: (v) => typeof v === 'string' && /^[\x20-\x7E]{4,50}$/.test(v),
    country: (v) => typeof v === 'string' && /^[a-z]{2}$/i.test(trim(v)),
    displayName: (v) => typeof v === 'string' && v.length >= 1 && v.length <= 50,
    groupID: (v) => typeof v === 'string' && /^[a-z0-9-_.]{1,30}$/.test(v),
    objectID: (v) => typeof v === 'string' && /^[a-zA-Z0-9-_.]{2,100}$/.test(v),
    entryName: (v) => typeof v === 'string' && /^[a-zA-Z][_a-zA-Z0-9]*$/.test(v),
  };

  // Messages of 2.4.19's exception objects; Kumo throws real Errors carrying them.
  const MSG = {
    displayName: 'Unable to set displayName. Must be between 1-50 characters.',
    password: 'Unable to set password. Must be between 4-50 characters composed with ascii (exclude control character)',
    username: "Unable to set username. Must be between 3 and 64 characters, which can include alphanumeric characters as well as underscores '_' and periods '.'",
    identifier: 'User identifier should be one of user name, phone number or email',
    email: 'Unable to set email address. Must be a valid email',
    phone: "Unable to set phone number. Must begin with a '+' and be at least 10 digits",
    country: 'Unable to set country code. Must be 2 alphabetic characters. Ex: US, JP, CN',
    uri: 'Unable to set URI. Must be of the form kiicloud://some/path/to/object/or/entity',
    aclAction: 'Unable to set ACL action. Must be one of the permitted values in KiiACLAction',
    aclSubject: 'Unable to set ACL subject. Must be of type KiiUser or KiiGroup',
    aclGrant: 'Unable to set ACL grant. Must be a boolean type',
    limit: 'Unable to set query limit. Must be an integer > 0',
    localPhone: 'needs to provide country for the local phone number',
    refreshFirst: 'IllegalState! Call KiiObject#refresh() prior call this method.',
  };
  const invalidArg = (m) => 'InvalidArgument: ' + m;
  function raise(message) {
    throw new Error(message);
  }

  // ------------------------------------------------------------------------------------------
  // Outcomes and their delivery.
  //
  // Every asynchronous API method performs its requests synchronously and produces an outcome:
  // the arguments for the success or failure callback plus the promise's value or error. settle()
  // reports it in a microtask, so nothing is reported before the caller's own code has run on.
  // A callback that throws rejects the returned promise with that exception (it never triggers
  // the other callback), so the failure stays visible. A failure delivered to a failure callback
  // counts as handled: callback-style code does not leave unhandled rejections behind.

  const ok = (args, value) => ({ ok: true, args, value: value === undefined ? args[0] : value });
  const ko = (args, error) => ({ ok: false, args, error });

  function kiiError(message, target) {
    const e = new Error(message);
    e.target = target;
    return e;
  }
  // The common failure shape: failure(target, message), promise rejected with Error(message).
  const fail = (target, message) => ko([target, message], kiiError(message, target));

  const ignore = () => {};
  function settle(callbacks, outcome) {
    const promise = Promise.resolve().then(() => {
      const fn = callbacks && (outcome.ok ? callbacks.success : callbacks.failure);
      if (typeof fn === 'function') {
        fn.apply(callbacks, outcome.args);
        if (!outcome.ok) promise.catch(ignore); // before the rejection, so it is never "unhandled"
      }
      if (outcome.ok) return outcome.value;
      throw outcome.error;
    });
    return promise;
  }

  // ------------------------------------------------------------------------------------------
  // REST

  const appPath = (p) => '/apps/' + env.appID + p;
  const userToken = () => (currentUser ? currentUser._accessToken : undefined);
  // Things created from an admin context (or a user/group/bucket derived from one) carry the
  // admin token in _tok; everything else acts as the current user, or anonymously.
  const tokenOf = (holder) => (holder && holder._tok) || userToken();
  const isJsonType = (ct) => /\+?json(;.*)?$/i.test(ct);

  // One request. o: {token, body, ctype, accept, headers}. Adds res.json, res.ok (2xx/3xx and no
  // errorCode, as 2.4.19 judges) and res.err (2.4.19's KiiRequest error string).
  function http(method, path, o) {
    o = o || {};
    const h = {};
    if (extraHeaders) for (const k of Object.keys(extraHeaders)) h[k.toLowerCase()] = String(extraHeaders[k]);
    if (o.accept) h.accept = o.accept;
    let body = null;
    if (o.body !== undefined && method !== 'GET' && method !== 'DELETE') {
      const ct = o.ctype || 'application/json';
      h['content-type'] = ct;
      body = isJsonType(ct) ? JSON.stringify(o.body) : String(o.body);
    }
    if (o.token) h.authorization = 'Bearer ' + o.token;
    if (o.headers) for (const k of Object.keys(o.headers)) h[k.toLowerCase()] = o.headers[k];
    const res = __kii_http(method, path, h, body);
    const out = { status: res.status, headers: res.headers || {}, body: res.body == null ? '' : String(res.body), json: null };
    try {
      out.json = out.body ? JSON.parse(out.body) : null;
    } catch (e) {
      out.json = null;
    }
    const j = out.json;
    out.ok = out.status >= 200 && out.status < 400 && !(j && j.errorCode != null);
    if (!out.ok) {
      if (j && j.errorCode != null) {
        out.err = j.errorCode;
        if (j.message != null) out.err += ': ' + j.message;
        else if (j.error_description != null) out.err += ': ' + j.error_description;
      } else {
        out.err = out.status + ' : ' + env.baseURL + path;
      }
    }
    return out;
  }

  // The other error format of 2.4.19 (its XHR wrapper): "<head> statusCode: N error code: C <label>: M".
  function statusError(head, res, label) {
    let s = head + ' statusCode: ' + res.status;
    const j = res.json;
    if (j && j.errorCode != null) s += ' error code: ' + j.errorCode;
    if (j && j.message != null) s += ' ' + label + ': ' + j.message;
    return s;
  }
  const httpOK = (res) => res.status >= 200 && res.status < 400;

  // ------------------------------------------------------------------------------------------
  // Users

  function setCurrent(user) {
    currentUser = user ? user._clone() : null;
  }
  function getCurrent() {
    return currentUser ? currentUser._clone() : null;
  }

  class KiiUser {
    constructor() {
      this._customInfo = {};
    }
    getUUID() { return this._uuid; }
    getID() { return this._uuid; }
    getUsername() { return this._username; }
    getDisplayName() { return this._displayName; }
    setDisplayName(v) {
      if (!valid.displayName(v)) raise(MSG.displayName);
      this._displayName = v;
    }
    isPseudoUser() {
      if (this._hasPassword != null) return !this._hasPassword;
      return !this._username && !this._emailAddress && !this._phoneNumber;
    }
    getEmailAddress() { return this._emailAddress; }
    getPendingEmailAddress() { return this._emailAddressPending; }
    getPhoneNumber() { return this._phoneNumber; }
    getPendingPhoneNumber() { return this._phoneNumberPending; }
    getCountry() { return this._country; }
    setCountry(v) {
      if (!valid.country(v)) raise(MSG.country);
      this._country = v;
    }
    getLocale() { return this._locale; }
    setLocale(v) { this._locale = v; }
    getCreated() { return this._created; }
    getModified() { return this._modified; }
    getEmailVerified() { return this._emailVerified; }
    getPhoneVerified() { return this._phoneVerified; }
    disabled() { return this._disabled; }
    getLinkedSocialAccounts() { return this._thirdPartyAccounts || (this._thirdPartyAccounts = {}); }
    getAccessToken() { return this._accessToken; }
    getAccessTokenObject() {
      return this._accessToken != null ? { access_token: this._accessToken, expires_at: this._expiresAt } : null;
    }
    getScope() { return this._scope; }
    objectURI() { return this._uuid != null ? 'kiicloud://users/' + this._uuid : null; }
    getURI() { return this.objectURI(); } // Kumo alias of objectURI()
    set(key, value) {
      if (!isStr(key) || key[0] === '_') return; // reserved, ignored like 2.4.19
      this._customInfo[key] = value;
    }
    get(key) { return this._customInfo[key]; }
    remove(key) { delete this._customInfo[key]; } // Kumo addition: drop a custom field before save()
    bucketWithName(name) { return new KiiBucket(name, this, this._tok, false); }
    encryptedBucketWithName(name) { return new KiiBucket(name, this, this._tok, true); }

    register(callbacks) {
      return settle(callbacks, this._register());
    }
    _register() {
      const data = { password: this._password };
      if (this._username != null) data.loginName = this._username;
      if (this._displayName != null) data.displayName = this._displayName;
      if (this._emailAddress != null) data.emailAddress = this._emailAddress;
      if (this._phoneNumber != null) data.phoneNumber = this._phoneNumber;
      if (!localPhoneOK(this._phoneNumber, this._country)) return fail(this, MSG.localPhone);
      if (this._country != null) data.country = this._country;
      if (this._locale != null) data.locale = this._locale;
      Object.assign(data, this._customInfo);
      const res = http('POST', appPath('/users'), { body: data, ctype: 'application/vnd.kii.RegistrationRequest+json' });
      if (!res.ok) {
        this._password = null;
        return fail(this, res.err);
      }
      this._update(res.json || {});
      return login(this); // like 2.4.19: registering also logs the user in
    }

    refresh(callbacks) {
      return settle(callbacks, this._refresh());
    }
    _refresh() {
      const res = http('GET', appPath('/users/' + this._uuid), { token: tokenOf(this) });
      if (!res.ok) return fail(this, res.err);
      this._phoneNumberPending = null;
      this._emailAddressPending = null;
      this._update(res.json || {});
      return ok([this]);
    }

    save(callbacks) {
      const data = copy(this._customInfo);
      if (this._country != null) data.country = this._country;
      if (this._locale != null) data.locale = this._locale;
      if (this._displayName != null) data.displayName = this._displayName;
      const res = http('POST', appPath('/users/' + this._uuid), {
        token: tokenOf(this), body: data, ctype: 'application/vnd.kii.UserUpdateRequest+json',
      });
      if (!res.ok) return settle(callbacks, fail(this, res.err));
      if (res.json) this._modified = res.json.modifiedAt;
      return settle(callbacks, ok([this]));
    }

    update(identityData, callbacks, userFields, removeFields) {
      return settle(callbacks, this._updateAttrs(false, identityData, null, userFields, removeFields));
    }
    putIdentity(identityData, password, callbacks, userFields, removeFields) {
      return settle(callbacks, this._updateAttrs(true, identityData, password, userFields, removeFields));
    }
    // update() and putIdentity(): refresh, then send every field back with the changes applied.
    _updateAttrs(put, identity, password, userFields, removeFields) {
      if (put && !this.isPseudoUser()) return fail(this, 'This user has the identity already');
      if (put && identity == null) return fail(this, 'identityData is null');
      const bad = identityProblem(identity);
      if (bad) return fail(this, bad);
      const hasIdentity = !!identity && (identity.emailAddress != null || identity.phoneNumber != null || identity.username != null);
      if (put) {
        if (!hasIdentity) return fail(this, 'needs to provide at least one of login name, email address or phone number');
        if (password == null) return fail(this, 'password is null');
        if (!valid.password(password)) return fail(this, 'invalid password');
      } else if (!hasIdentity && !(userFields && Object.keys(userFields).length) && !(removeFields && removeFields.length)) {
        return fail(this, 'all arguments are null or empty');
      }
      if (identity && identity.phoneNumber != null && !localPhoneOK(identity.phoneNumber, userFields ? userFields.country : null)) {
        return fail(this, MSG.localPhone);
      }
      const r = this._refresh();
      if (!r.ok) return r;
      if (put && !this.isPseudoUser()) return fail(this, 'This user has the identity already');
      if (!put && hasIdentity && this.isPseudoUser()) return fail(this, 'Pseudo user must use putIdentity()');
      const data = copy(this._customInfo);
      if (identity) {
        if (identity.emailAddress != null) data.emailAddress = identity.emailAddress;
        if (identity.phoneNumber != null) data.phoneNumber = identity.phoneNumber;
        if (identity.username != null) data.loginName = identity.username;
      }
      if (put) data.password = password;
      if (userFields) Object.assign(data, userFields);
      for (const f of removeFields || []) delete data[f];
      const res = http('POST', appPath('/users/' + this._uuid), {
        token: tokenOf(this), body: data, ctype: 'application/vnd.kii.UserUpdateRequest+json',
      });
      if (!httpOK(res)) return fail(this, statusError(put ? 'failed to put identity data.' : 'failed to update user.', res, 'error message'));
      if (res.json) this._modified = res.json.modifiedAt;
      if (identity) {
        if (identity.username != null) this._username = identity.username;
        if (identity.emailAddress != null) this._emailAddress = identity.emailAddress;
        if (identity.phoneNumber != null) this._phoneNumber = identity.phoneNumber;
      }
      for (const k of Object.keys(userFields || {})) {
        const v = userFields[k];
        if (k === 'displayName') this._displayName = v;
        else if (k === 'country') this._country = v;
        else if (k === 'locale') this._locale = v;
        else if (k[0] !== '_') this._customInfo[k] = v;
      }
      for (const f of removeFields || []) delete this._customInfo[f];
      if (put) this._hasPassword = true;
      return ok([this]);
    }

    updatePassword(fromPassword, toPassword, callbacks) {
      if (!valid.password(toPassword)) return settle(callbacks, fail(this, MSG.password));
      const res = http('PUT', appPath('/users/' + this._uuid + '/password'), {
        token: tokenOf(this),
        body: { oldPassword: fromPassword, newPassword: toPassword },
        ctype: 'application/vnd.kii.ChangePasswordRequest+json',
      });
      return settle(callbacks, res.ok ? ok([this]) : fail(this, res.err));
    }
    changePassword(fromPassword, toPassword, callbacks) { // Kumo alias of updatePassword()
      return this.updatePassword(fromPassword, toPassword, callbacks);
    }

    delete(callbacks) {
      const res = http('DELETE', appPath('/users/' + this._uuid), { token: tokenOf(this) });
      return settle(callbacks, res.ok ? ok([this]) : fail(this, res.err));
    }

    memberOfGroups(callbacks) { return this._groups('is_member', callbacks); }
    ownerOfGroups(callbacks) { return this._groups('owner', callbacks); }
    _groups(param, callbacks) {
      const res = http('GET', appPath('/groups?' + param + '=' + this._uuid), {
        token: tokenOf(this), accept: 'application/vnd.kii.GroupsRetrievalResponse+json',
      });
      if (!res.ok) return settle(callbacks, fail(this, res.err));
      const list = ((res.json && res.json.groups) || []).map((g) => groupFromJSON(g, this._tok));
      return settle(callbacks, ok([this, list], [this, list]));
    }

    // Applies a user document (same key mapping as 2.4.19; unknown "_" keys are not custom fields).
    _update(json) {
      this._thirdPartyAccounts = {};
      for (const key of Object.keys(json)) {
        const v = json[key];
        switch (key) {
          case 'userID': case 'id': this._uuid = v; break;
          case 'created': case 'createdAt': case '_created': this._created = v; break;
          case 'modified': case 'modifiedAt': case '_modified': this._modified = v; break;
          case 'loginName': this._username = v; break;
          case 'displayName': this._displayName = v; break;
          case 'country': this._country = v; break;
          case 'locale': this._locale = v; break;
          case 'emailAddress': this._emailAddress = v; break;
          case '_emailAddressPending': this._emailAddressPending = v; break;
          case 'phoneNumber': this._phoneNumber = v; break;
          case '_phoneNumberPending': this._phoneNumberPending = v; break;
          case 'emailAddressVerified': this._emailVerified = v; break;
          case 'phoneNumberVerified': this._phoneVerified = v; break;
          case '_hasPassword': this._hasPassword = v; break;
          case '_disabled': this._disabled = v; break;
          case '_thirdPartyAccounts': this._thirdPartyAccounts = v || {}; break;
          default: if (key[0] !== '_') this._customInfo[key] = v;
        }
      }
    }
    _clone() {
      const u = new KiiUser();
      for (const k of Object.keys(this)) u[k] = copy(this[k]);
      return u;
    }
  }

  function localPhoneOK(phone, country) {
    if (phone != null && !valid.globalPhone(phone)) return country != null && valid.country(country);
    return true;
  }
  function identityProblem(identity) {
    if (!identity) return null;
    if (identity.emailAddress != null && !valid.email(identity.emailAddress)) return 'invalid email';
    if (identity.phoneNumber != null && !valid.phone(identity.phoneNumber)) return 'invalid phone number';
    if (identity.username != null && !valid.username(identity.username)) return 'invalid username';
    return null;
  }

  function newUser(fields) {
    const u = new KiiUser();
    if (fields.email !== undefined) {
      const e = trim(fields.email);
      if (!valid.email(e)) raise(MSG.email);
      u._emailAddress = e;
    }
    if (fields.phone !== undefined) {
      if (!valid.phone(fields.phone)) raise(MSG.phone);
      u._phoneNumber = fields.phone;
    }
    if (fields.username !== undefined) {
      const n = trim(fields.username);
      if (!valid.username(n)) raise(MSG.username);
      u._username = n;
    }
    if (!valid.password(fields.password)) raise(MSG.password);
    u._password = fields.password;
    return u;
  }

  // POST /oauth2/token for a user built by a factory; on success it becomes the current user.
  function login(user) {
    let username = user._username;
    if (username == null) {
      if (user._emailAddress != null && user._emailVerified === true) username = user._emailAddress;
      else if (user._phoneNumber != null && user._phoneVerified === true) username = user._phoneNumber;
      else username = user._emailAddress != null ? user._emailAddress : user._phoneNumber;
    }
    const data = { username, password: user._password };
    if (tokenExpiration > 0) data.expiresAt = expiry(tokenExpiration);
    const res = http('POST', '/oauth2/token', { body: data });
    user._password = null;
    if (!res.ok) return fail(user, res.err);
    const j = res.json || {};
    user._uuid = j.id;
    user._accessToken = j.access_token;
    user._scope = j.scope;
    if (j.expires_in != null) user._expiresAt = new Date(expiry(j.expires_in));
    setCurrent(user);
    return ok([getCurrent()]);
  }

  function userWithToken(id, tok) {
    const u = new KiiUser();
    u._uuid = id;
    if (tok) u._tok = tok;
    return u;
  }

  // GET /users/{KIND:value}; with an admin context the results carry its token.
  function findUser(kind, what, value, callbacks, ctx) {
    if (!ctx && !userToken()) {
      const m = 'IllegalState: User is not logged in';
      return settle(callbacks, ko([m], kiiError(m)));
    }
    const failWith = (m) => settle(callbacks, ctx ? ko([ctx, m], kiiError(m, ctx)) : ko([m], kiiError(m)));
    if (value == null || value === '') return failWith(invalidArg(what + ' should not null or empty'));
    const res = http('GET', appPath('/users/' + kind + ':' + value), { token: ctx ? ctx._token : userToken() });
    if (!httpOK(res)) return failWith(statusError('Failed to find user.', res, 'error message'));
    if (!res.json) return failWith('Unable to parse response');
    const user = userWithToken(undefined, ctx && ctx._token);
    user._update(res.json);
    return settle(callbacks, ctx ? ok([ctx, user], [ctx, user]) : ok([user]));
  }

  Object.assign(KiiUser, {
    getCurrentUser: function () { return getCurrent(); },
    logOut: function () { currentUser = null; },
    loggedIn: function () { return currentUser != null; },
    userWithUsername: function (username, password) { return newUser({ username, password }); },
    userWithEmailAddress: function (email, password) { return newUser({ email, password }); },
    userWithPhoneNumber: function (phone, password) { return newUser({ phone, password }); },
    userWithPhoneNumberAndUsername: function (phone, username, password) { return newUser({ phone, username, password }); },
    userWithEmailAddressAndUsername: function (email, username, password) { return newUser({ email, username, password }); },
    userWithEmailAddressAndPhoneNumber: function (email, phone, password) { return newUser({ email, phone, password }); },
    userWithCredentials: function (email, phone, username, password) { return newUser({ email, phone, username, password }); },
    userWithID: function (id) {
      if (id == null || id === '') raise(invalidArg('userID should not null or empty'));
      return userWithToken(id);
    },
    userWithURI: function (uri) {
      const m = /^kiicloud:\/\/users\/(.*$)/i.exec(trim(uri));
      if (!m) raise(MSG.uri);
      return userWithToken(m[1]);
    },
    authenticate: function (identifier, password, callbacks) {
      let user;
      try {
        if (!valid.password(password)) raise(MSG.password);
        if (valid.email(identifier)) user = newUser({ email: identifier, password });
        else if (valid.phone(identifier)) user = newUser({ phone: identifier, password });
        else if (valid.username(identifier)) user = newUser({ username: identifier, password });
        else raise(MSG.identifier);
      } catch (e) {
        return settle(callbacks, fail(null, e.message));
      }
      return settle(callbacks, login(user));
    },
    authenticateWithToken: function (token, callbacks, expiresAt) {
      if (expiresAt !== undefined && !(expiresAt instanceof Date)) {
        return settle(callbacks, fail(null, invalidArg('Specified expiresAt must be a Date')));
      }
      const user = new KiiUser();
      const res = http('GET', appPath('/users/me'), { token });
      if (!res.ok) return settle(callbacks, fail(user, res.err));
      user._update(res.json || {});
      user._accessToken = token;
      user._expiresAt = expiresAt === undefined ? new Date(MAX_DATE_MS) : expiresAt;
      setCurrent(user);
      return settle(callbacks, ok([getCurrent()]));
    },
    registerAsPseudoUser: function (callbacks, userFields) {
      const res = http('POST', appPath('/users'), {
        body: userFields || {}, ctype: 'application/vnd.kii.RegistrationAndAuthorizationRequest+json',
      });
      if (!httpOK(res)) {
        const m = statusError('failed to register pseudo user.', res, 'error message');
        return settle(callbacks, ko([null, m], kiiError(m)));
      }
      if (!res.json) return settle(callbacks, ko([null, 'failed to parse response'], kiiError('failed to parse response')));
      const user = new KiiUser();
      user._update(res.json);
      user._accessToken = res.json._accessToken;
      user._expiresAt = new Date(MAX_DATE_MS);
      setCurrent(user);
      return settle(callbacks, ok([user]));
    },
    findUserByUsername: function (username, callbacks) { return findUser('LOGIN_NAME', 'username', username, callbacks); },
    findUserByEmail: function (email, callbacks) { return findUser('EMAIL', 'email', email, callbacks); },
    findUserByPhone: function (phone, callbacks) { return findUser('PHONE', 'phone', phone, callbacks); },
  });

  class KiiAnonymousUser {
    getID() { return 'ANONYMOUS_USER'; }
  }
  class KiiAnyAuthenticatedUser {
    getID() { return 'ANY_AUTHENTICATED_USER'; }
  }

  // ------------------------------------------------------------------------------------------
  // Groups

  class KiiGroup {
    constructor(tok) {
      if (tok) this._tok = tok;
      this._addMembers = {};
      this._removeMembers = {};
    }
    getUUID() { return this._uuid; }
    getID() { return this._uuid; }
    getName() { return this._groupName; }
    getCachedOwner() { return this._owner; }
    objectURI() { return this._uuid != null ? 'kiicloud://groups/' + this._uuid : null; }
    bucketWithName(name) { return new KiiBucket(name, this, this._tok, false); }
    encryptedBucketWithName(name) { return new KiiBucket(name, this, this._tok, true); }
    // Membership changes are pending until save().
    addUser(member) {
      if (member == null || member.getUUID() == null) return;
      const id = member.getUUID();
      if (!(id in this._addMembers)) this._addMembers[id] = member;
      delete this._removeMembers[id];
    }
    removeUser(member) {
      if (member == null || member.getUUID() == null) return;
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
      if (!this._tok && currentUser) {
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
      this._owner = j.owner != null ? userWithToken(j.owner, this._tok) : null;
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
      const members = ((res.json && res.json.members) || []).map((m) => userWithToken(m.userID, this._tok));
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
    if (!valid.groupID(groupID)) return bad('invalid groupID : ' + groupID);
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
      const me = currentUser;
      return settle(callbacks, registerGroup(userToken(), undefined, groupID, groupName, me ? me.getID() : undefined, members));
    },
  });

  // ------------------------------------------------------------------------------------------
  // Buckets, objects, queries

  class KiiBucket {
    constructor(name, parent, tok, crypto) {
      if (!isStr(name)) raise(invalidArg('Specified bucket name is null or empty.'));
      if (crypto && name.indexOf('CRYPTO:') === 0) name = name.substr(7);
      this._bucketName = name;
      this._crypto = !!crypto;
      if (tok) this._tok = tok;
      if (parent instanceof KiiGroup) this._group = parent;
      else if (parent instanceof KiiUser) this._user = parent;
    }
    getUser() { return this._user; }
    getGroup() { return this._group; }
    getThing() { return undefined; }
    getBucketName() { return this._bucketName; }
    _qualifiedName() { return (this._crypto ? 'CRYPTO:' : '') + this._bucketName; }
    _scope() {
      if (this._user) return '/users/' + this._user.getUUID();
      if (this._group) return '/groups/' + this._group.getUUID();
      return '';
    }
    _path() { return appPath(this._scope() + '/buckets/' + this._qualifiedName()); }
    createObject() { return new KiiObject(this, null, this._tok); }
    createObjectWithType(type) { return new KiiObject(this, type, this._tok); }
    createObjectWithID(id) {
      if (!valid.objectID(id)) raise(invalidArg('Specified obejctID is invalid.'));
      const o = new KiiObject(this, null, this._tok);
      o._uuid = id;
      return o;
    }
    objectWithJSON(json) {
      const o = this.createObject();
      o._update(json);
      return o;
    }
    acl() { return new KiiACL(this, this._tok); }

    _query(data) {
      return http('POST', this._path() + '/query', {
        token: tokenOf(this), body: data, ctype: 'application/vnd.kii.QueryRequest+json',
      });
    }
    executeQuery(query, callbacks) {
      let data;
      try {
        data = query != null ? query._dictValue() : { bucketQuery: { clause: KiiQuery._emptyDictValue() } };
      } catch (e) {
        return settle(callbacks, fail(this, e && e.message));
      }
      const res = this._query(data);
      if (!res.ok) return settle(callbacks, fail(this, res.err));
      const j = res.json || {};
      const results = (j.results || []).map((r) => this.objectWithJSON(r));
      let next = null;
      if (j.nextPaginationKey != null) {
        next = new KiiQuery(query);
        next.setPaginationKey(j.nextPaginationKey);
      }
      return settle(callbacks, ok([query, results, next], [query, results, next]));
    }
    countWithQuery(query, callbacks) {
      if (query == null) query = KiiQuery.queryWithClause();
      const data = query._dictValue();
      data.bucketQuery.aggregations = [{ type: 'COUNT', putAggregationInto: 'count_field' }];
      const res = this._query(data);
      if (!res.ok) return settle(callbacks, fail(this, res.err));
      const count = res.json && res.json.aggregations ? res.json.aggregations.count_field : undefined;
      return settle(callbacks, ok([this, query, count], [this, query, count]));
    }
    count(callbacks) { return this.countWithQuery(KiiQuery.queryWithClause(), callbacks); }
    delete(callbacks) {
      const res = http('DELETE', this._path(), { token: tokenOf(this) });
      return settle(callbacks, res.ok ? ok([this]) : fail(this, res.err));
    }
  }

  class KiiObject {
    constructor(bucket, type, tok) {
      this._customInfo = {};
      this._alteredFields = [];
      this._bucket = bucket;
      this._objectType = type;
      if (tok) this._tok = tok;
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
      if (!(point instanceof KiiGeoPoint)) raise(invalidArg('Specified kiiGeoPoint is not an instance of KiiGeoPoint'));
      this._customInfo[key] = point._toDict();
      this._alteredFields.push(key);
    }
    getGeoPoint(key) {
      const p = this._customInfo[key];
      return KiiGeoPoint.geoPoint(p.lat, p.lon);
    }
    objectACL() { return new KiiACL(this, this._tok); }
    acl() { return this.objectACL(); } // Kumo alias of objectACL()
    objectURI() {
      if (this._bucket == null || this._uuid == null) return undefined;
      const b = this._bucket;
      let uri = 'kiicloud://';
      if (b.getGroup()) uri += 'groups/' + b.getGroup().getUUID() + '/';
      else if (b.getUser()) uri += 'users/' + b.getUser().getUUID() + '/';
      return uri + 'buckets/' + b._qualifiedName() + '/objects/' + this._uuid;
    }
    _objectsPath() { return this._bucket._path() + '/objects'; }
    _path() { return this._objectsPath() + '/' + this._uuid; }
    _ctype() { return this._objectType != null ? 'application/vnd.' + env.appID + '.' + this._objectType + '+json' : undefined; }

    // A server document: system fields to properties, the rest (and _calculated) to custom fields.
    _update(json, patch) {
      if (!patch) this._customInfo = {};
      for (const key of Object.keys(json)) {
        const v = json[key];
        if (key === '_id') { if (this._uuid == null) this._uuid = v; }
        else if (key === '_created') this._created = v;
        else if (key === '_modified') this._modified = v;
        else if (key === '_owner') this._owner = userWithToken(v, this._tok);
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
          if (this._etag == null) return fail(this, MSG.refreshFirst);
          headers['if-match'] = this._etag;
        } else {
          if (patch && this._etag == null) return fail(this, MSG.refreshFirst);
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
  }

  // kiicloud://[users|groups/ID/]buckets/NAME/objects/ID. strict: the admin context's checks.
  function objectWithURI(uri, tok, strict) {
    if (strict && (!uri || String(uri).indexOf('kiicloud://') !== 0)) raise(MSG.uri);
    const parts = String(uri).substr('kiicloud://'.length).split('/');
    const n = parts.length;
    if (n < 4 || (strict && n !== 4 && n !== 6)) raise(MSG.uri);
    const name = parts[n === 4 ? 1 : 3];
    let subject = null;
    if (parts[0] === 'groups') subject = groupWithID(parts[1], tok);
    else if (parts[0] === 'users') subject = userWithToken(parts[1], tok);
    const bucket = new KiiBucket(name, subject, tok, name.indexOf('CRYPTO:') === 0);
    const o = bucket.createObject();
    o._uuid = parts[n - 1];
    return o;
  }

  Object.assign(KiiObject, {
    objectWithURI: function (uri) { return objectWithURI(uri); },
    isValidObjectID: function (id) { return valid.objectID(id); },
  });

  class KiiQuery {
    // new KiiQuery(other) copies other (how 2.4.19 builds nextQuery).
    constructor(query) {
      if (query instanceof KiiQuery) {
        for (const k of ['_clause', '_limit', '_sortField', '_sortDescending', '_paginationKey']) {
          if (query[k] !== undefined) this[k] = query[k];
        }
      }
    }
    getPaginationKey() { return this._paginationKey; }
    setPaginationKey(key) { this._paginationKey = key; }
    getLimit() { return this._limit; }
    setLimit(value) {
      if (!(value > 0)) raise(MSG.limit);
      this._limit = value;
    }
    sortByDesc(field) {
      this._sortField = field;
      this._sortDescending = true;
    }
    sortByAsc(field) {
      this._sortField = field;
      this._sortDescending = false;
    }
    _dictValue() {
      const data = { bestEffortLimit: this._limit };
      if (this._paginationKey != null) data.paginationKey = this._paginationKey;
      const bq = { descending: this._sortDescending };
      bq.clause = this._clause != null ? this._clause._getDictValue() : KiiQuery._emptyDictValue();
      if (this._sortField != null) bq.orderBy = this._sortField;
      data.bucketQuery = bq;
      return data;
    }
  }
  Object.assign(KiiQuery, {
    queryWithClause: function (clause) {
      const q = new KiiQuery();
      q._clause = clause;
      return q;
    },
    _emptyDictValue: function () { return { type: 'all' }; },
  });

  class KiiClause {
    _getDictValue() {
      const cs = this._whereClauses;
      if (cs && this._whereType) {
        if (cs.length === 1) {
          return this._whereType === 'not' ? { type: 'not', clause: cs[0]._getDictValue() } : cs[0]._getDictValue();
        }
        return { type: this._whereType, clauses: cs.map((c) => c._getDictValue()) };
      }
      return this._dictExpression || {};
    }
  }
  function leaf(dict) {
    const c = new KiiClause();
    c._dictExpression = dict;
    return c;
  }
  function combine(type, clauses) {
    const c = new KiiClause();
    c._whereType = type;
    // KiiClause.and(a, b) as documented; a single array argument is accepted as well.
    c._whereClauses = clauses.length === 1 && Array.isArray(clauses[0]) ? clauses[0] : clauses;
    return c;
  }
  const range = (key, bound, value, included) =>
    leaf(bound === 'upper'
      ? { type: 'range', field: key, upperLimit: value, upperIncluded: included }
      : { type: 'range', field: key, lowerLimit: value, lowerIncluded: included });
  const isGeo = (p) => p instanceof KiiGeoPoint;

  Object.assign(KiiClause, {
    and: function (...clauses) { return combine('and', clauses); },
    or: function (...clauses) { return combine('or', clauses); },
    not: function (clause) { return combine('not', [clause]); },
    createWithWhere: function (type, clauses) { return combine(type, [...clauses]); },
    equals: function (key, value) { return leaf({ type: 'eq', field: key, value }); },
    notEquals: function (key, value) { return combine('not', [KiiClause.equals(key, value)]); },
    greaterThan: function (key, value) { return range(key, 'lower', value, false); },
    greaterThanOrEqual: function (key, value) { return range(key, 'lower', value, true); },
    lessThan: function (key, value) { return range(key, 'upper', value, false); },
    lessThanOrEqual: function (key, value) { return range(key, 'upper', value, true); },
    inClause: function (key, values) { return leaf({ type: 'in', field: key, values }); },
    in: function (key, values) { return leaf({ type: 'in', field: key, values }); },
    startsWith: function (key, prefix) { return leaf({ type: 'prefix', field: key, prefix }); },
    hasField: function (key, fieldType) {
      if (['STRING', 'INTEGER', 'DECIMAL', 'BOOLEAN'].indexOf(fieldType) < 0) raise(invalidArg('fieldType is invalid.'));
      return leaf({ type: 'hasField', field: key, fieldType });
    },
    geoDistance: function (key, center, radius, putDistanceInto) {
      if (!isStr(key)) raise(invalidArg('Specified key is not a string or is an empty string.'));
      if (!isGeo(center)) raise(invalidArg('center is not a reference of KiiGeoPoint.'));
      if (putDistanceInto != null && !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(putDistanceInto)) raise(invalidArg('putDistanceInto is invalid.'));
      if (radius <= 0 || radius > 20000000 || isNaN(radius)) raise(invalidArg('radius is invalid.'));
      return leaf({ type: 'geodistance', field: key, center: center._toDict(), radius, putDistanceInto });
    },
    geoBox: function (key, northEast, southWest) {
      if (!isStr(key)) raise(invalidArg('Specified key is not a string or is an empty string.'));
      if (!isGeo(northEast) || !isGeo(southWest)) raise(invalidArg('northEast or southWest is not a reference of KiiGeoPoint.'));
      return leaf({ type: 'geobox', field: key, box: { ne: northEast._toDict(), sw: southWest._toDict() } });
    },
  });

  class KiiGeoPoint {
    constructor(latitude, longitude) {
      const inside = (min, max, n) => n > min && n < max && !isNaN(n);
      if (!inside(-90, 90, latitude) || !inside(-180, 180, longitude)) raise(invalidArg('Specified latitide or longitude is invalid'));
      this._latitude = latitude;
      this._longitude = longitude;
    }
    getLatitude() { return this._latitude; }
    getLongitude() { return this._longitude; }
    _toDict() { return { _type: 'point', lat: this._latitude, lon: this._longitude }; }
  }
  KiiGeoPoint.geoPoint = function (latitude, longitude) { return new KiiGeoPoint(latitude, longitude); };

  // ------------------------------------------------------------------------------------------
  // ACLs

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

  class KiiACLEntry {
    constructor() {
      this._action = -1;
      this._grant = true;
    }
    setAction(value) {
      if (!(value > KiiACLAction.KiiACLActionStart && value < KiiACLAction.KiiACLActionEnd)) raise(MSG.aclAction);
      this._action = value;
    }
    getAction() { return this._action; }
    setSubject(s) {
      const okSubject = ((s instanceof KiiGroup || s instanceof KiiUser) && s.getID() != null) ||
        s instanceof KiiAnyAuthenticatedUser || s instanceof KiiAnonymousUser;
      if (!okSubject) raise(MSG.aclSubject);
      this._subject = s;
    }
    getSubject() { return this._subject; }
    setGrant(value) {
      if (value !== true && value !== false) raise(MSG.aclGrant);
      this._grant = value;
    }
    getGrant() { return this._grant; }
    getActionString() { return ACTION_NAMES[this._action]; }
    getEntityString() {
      const s = this._subject;
      if (s instanceof KiiGroup) return 'GroupID:' + s.getUUID();
      if (s instanceof KiiUser) return 'UserID:' + s.getUUID();
      if (s instanceof KiiAnyAuthenticatedUser || s instanceof KiiAnonymousUser) return 'UserID:' + s.getID();
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
      if (tok) this._tok = tok;
      this._entriesMap = {};
    }
    // Path under /apps/{app}, as 2.4.19's aclPath().
    aclPath() {
      const p = this._parent;
      const bucket = p instanceof KiiObject ? p.getBucket() : p;
      let path = '/';
      if (bucket.getGroup()) path += 'groups/' + bucket.getGroup().getUUID() + '/';
      else if (bucket.getUser()) path += 'users/' + bucket.getUser().getUUID() + '/';
      path += 'buckets/' + bucket._qualifiedName();
      return path + (p instanceof KiiObject ? '/objects/' + p.getUUID() : '') + '/acl';
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
          if (who.groupID != null) subject = groupWithID(who.groupID, this._tok);
          else if (who.userID === 'ANONYMOUS_USER') subject = new KiiAnonymousUser();
          else if (who.userID === 'ANY_AUTHENTICATED_USER') subject = new KiiAnyAuthenticatedUser();
          else if (who.userID != null) subject = userWithToken(who.userID, this._tok);
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
  KiiACL.aclWithParent = function (parent) { return new KiiACL(parent, parent && parent._tok); };

  // ------------------------------------------------------------------------------------------
  // App admin

  class KiiAppAdminContext {
    constructor(spec) {
      this._token = spec.token;
      this._id = spec.id;
    }
    bucketWithName(name) { return new KiiBucket(name, null, this._token, false); }
    encryptedBucketWithName(name) { return new KiiBucket(name, null, this._token, true); }
    groupWithName(name) { return namedGroup(name, null, this._token); }
    groupWithID(id) { return groupWithID(id, this._token); }
    groupWithURI(uri) {
      if (uri == null || String(uri).indexOf('kiicloud://') !== 0) raise(MSG.uri);
      const parts = String(uri).substr('kiicloud://'.length).split('/');
      if (parts.length !== 2 || parts[0] !== 'groups') raise(MSG.uri);
      return groupWithID(parts[1], this._token);
    }
    userWithID(id) { return userWithToken(id, this._token); }
    objectWithURI(uri) { return objectWithURI(uri, this._token, true); }
    registerGroupWithOwnerAndID(groupID, groupName, owner, members, callbacks) {
      return settle(callbacks, registerGroup(this._token, this._token, groupID, groupName, owner, members));
    }
    findUserByUsername(username, callbacks) { return findUser('LOGIN_NAME', 'username', username, callbacks, this); }
    findUserByEmail(email, callbacks) { return findUser('EMAIL', 'email', email, callbacks, this); }
    findUserByPhone(phone, callbacks) { return findUser('PHONE', 'phone', phone, callbacks, this); }
    getAccessToken() { return this._token; }
    _getToken() { return this._token; }
    _getId() { return this._id; }
  }

  // ------------------------------------------------------------------------------------------
  // Server code

  class KiiServerCodeExecResult {
    constructor(returnObject, steps, environmentVersion) {
      this.returnObject = returnObject;
      this.exeSteps = steps;
      this.environmentVersion = environmentVersion;
    }
    getExecutedSteps() { return this.exeSteps; }
    getEnvironmentVersion() { return this.environmentVersion; }
    getReturnedValue() { return this.returnObject; }
  }

  class KiiServerCodeEntry {
    constructor(entryName, version, environmentVersion) {
      this.entryName = entryName;
      this.version = version;
      this.environmentVersion = environmentVersion;
    }
    getEntryName() { return this.entryName; }
    // failure(entry, argument, execResult (null), errorString), as 2.4.19.
    execute(argument, callbacks) {
      const failed = (m) => {
        const e = kiiError(m, this);
        e.argument = argument;
        return settle(callbacks, ko([this, argument, null, m], e));
      };
      // 2.4.19 accepts null or a non-empty object only.
      if (!(argument === null || (Object.prototype.toString.call(argument) === '[object Object]' && Object.keys(argument).length > 0))) {
        return failed(invalidArg('arugment is invalid'));
      }
      let path = appPath('/server-code/versions/' + (this.version != null ? this.version : 'current') + '/' + this.entryName);
      if (this.environmentVersion) path += '?environment-version=' + this.environmentVersion;
      const res = http('POST', path, { token: userToken(), body: argument != null ? argument : {} });
      const steps = res.headers['x-step-count'] != null ? res.headers['x-step-count'] : null;
      if (!httpOK(res)) {
        let m = 'fail to execute server code. statusCode: ' + res.status + ' executedSteps: ' + steps;
        const j = res.json;
        if (!j) m += ' error code: failed_to_parse_response message: ' + res.body;
        else {
          if (j.errorCode != null) m += ' error code: ' + j.errorCode;
          if (j.message != null) m += ' message: ' + j.message;
          if (j.details != null && j.details.message != null) m += ' detailMessage: ' + j.details.message;
        }
        return failed(m);
      }
      let returned;
      try {
        returned = JSON.parse(res.body);
      } catch (e) {
        return failed('fail to parse response. statusCode: ' + res.status + ' executedSteps: ' + steps +
          ' error code: failed_to_parse_response response: ' + res.body);
      }
      const result = new KiiServerCodeExecResult(returned, steps, res.headers['x-environment-version']);
      return settle(callbacks, ok([this, argument, result], [this, argument, result]));
    }
  }

  // ------------------------------------------------------------------------------------------
  // Kii

  const KiiSite = {
    US: 'https://api.kii.com/api',
    JP: 'https://api-jp.kii.com/api',
    SG: 'https://api-sg.kii.com/api',
    EU: 'https://api-eu.kii.com/api',
  };
  const KiiServerCodeEnvironmentVersion = { V0: '0', V6: '6' };

  const Kii = {
    getBuildNumber: function () { return '1'; },
    getSDKVersion: function () { return SDK_VERSION; },
    getBaseURL: function () { return env.baseURL; },
    getAppID: function () { return env.appID; },
    getAppKey: function () { return env.appKey; },
    // The app and site are fixed by the server running the code.
    initialize: function () {},
    initializeWithSite: function () {},
    isLogging: function () { return logging; },
    setLogging: function (on) { logging = !!on; },
    logger: function (message) {
      if (logging && typeof console !== 'undefined') console.log(message);
    },
    getAdditionalHeaders: function () { return extraHeaders; },
    setAdditionalHeaders: function (headers) { extraHeaders = headers; },
    setAccessTokenExpiration: function (expiresIn) {
      if (isNaN(parseInt(expiresIn, 10))) raise(invalidArg('expiresIn should be a number'));
      if (expiresIn < 0) raise(invalidArg('expiresIn should not negative number'));
      tokenExpiration = expiresIn;
    },
    getAccessTokenExpiration: function () { return tokenExpiration; },
    bucketWithName: function (name) { return new KiiBucket(name, null, undefined, false); },
    encryptedBucketWithName: function (name) { return new KiiBucket(name, null, undefined, true); },
    groupWithName: function (name, members) { return namedGroup(name, members); },
    groupWithNameAndMembers: function (name, members) { return namedGroup(name, members); },
    getCurrentUser: function () { return getCurrent(); },
    setCurrentUser: function (user) { setCurrent(user); },
    loggedIn: function () { return currentUser != null; },
    logOut: function () { currentUser = null; },
    // failure(errorString, statusCode); success(adminContext).
    authenticateAsAppAdmin: function (clientId, clientSecret, callbacks) {
      const res = http('POST', '/oauth2/token', { body: { client_id: clientId, client_secret: clientSecret } });
      if (!res.ok) return settle(callbacks, ko([res.err, res.status], kiiError(res.err)));
      const j = res.json || {};
      return settle(callbacks, ok([new KiiAppAdminContext({ token: j.access_token, id: j.id })]));
    },
    authenticateAsAdminWithToken: function (token) { return new KiiAppAdminContext({ token }); },
    serverCodeEntry: function (entryName, version, environmentVersion) {
      if (!valid.entryName(entryName)) raise(invalidArg('entryName is invalid'));
      if (version && !isStr(version)) raise(invalidArg('version is invalid'));
      return new KiiServerCodeEntry(entryName, version, environmentVersion);
    },
    serverCodeEntryWithVersion: function (entryName, version) {
      if (!valid.entryName(entryName)) raise(invalidArg('entryName is invalid'));
      if (!isStr(version)) raise(invalidArg('version is invalid'));
      return new KiiServerCodeEntry(entryName, version);
    },
  };

  // KiiErrorParser.parse(errorOrMessage) -> {status, code, message}, for the strings above.
  let errorStatus = null; // errorCode -> HTTP status, built on first use
  function statusOfCode(code) {
    if (!errorStatus) {
      errorStatus = {};
      const table = {
        400: 'INVALID_BUCKET INVALID_DATA_TYPE INVALID_INPUT_DATA INVALID_JSON INVALID_JSON_SCHEMA MISSING_DATA OAUTH2_ERROR ' +
          'QUERY_NOT_SUPPORTED INVALID_ACCOUNT_STATUS INVALID_OBJECT_ID ACCOUNT_TYPE_NOT_SUPPORTED BUCKET_TYPE_NOT_SUPPORTED ' +
          'VERSIONED_UPDATES_NOT_SUPPORTED NO_ACCOUNT_PROVIDED ENDPOINT_INVOCATION_ERROR SERVER_CODE_VERIFICATION_ERROR TASK_NOT_RECURRENT',
        401: 'UNAUTHORIZED THING_DISABLED AUTHENTICATION_FAILED USER_DISABLED WRONG_PASSWORD',
        403: 'APP_DISABLED WRONG_TOKEN WRONG_REFRESH_TOKEN OPERATION_NOT_SUPPORTED INVALID_VERIFICATION_CODE',
        404: 'APP_NOT_FOUND USER_NOT_FOUND THING_NOT_FOUND THING_TYPE_NOT_FOUND FIRMWARE_VERSION_NOT_FOUND ' +
          'THING_END_NODE_DOES_NOT_BELONG_TO_GATEWAY BUCKET_NOT_FOUND FILTER_NOT_FOUND OBJECT_NOT_FOUND PUBLICATION_NOT_FOUND ' +
          'USER_ADDRESS_NOT_FOUND VERIFICATION_CODE_NOT_FOUND OBJECT_BODY_NOT_FOUND OBJECT_BODY_UPLOAD_NOT_FOUND GROUP_NOT_FOUND ' +
          'INSTALLATION_NOT_FOUND ACL_NOT_FOUND GCMKEY_NOT_FOUND APNSKEY_NOT_FOUND JSON_WEB_KEY_NOT_FOUND JPUSHKEY_NOT_FOUND ' +
          'PUSH_SUBSCRIPTION_NOT_FOUND TOPIC_NOT_FOUND USER_LOCALE_NOT_FOUND TEMPLATE_NOT_FOUND USER_COUNTRY_NOT_FOUND ' +
          'USER_DISPLAY_NAME_NOT_FOUND SERVER_CODE_VERSION_NOT_FOUND SERVER_CODE_HOOK_VERSION_NOT_FOUND SCHEDULE_EXECUTION_NOT_FOUND ' +
          'PAYLOAD_ID_NOT_FOUND REPLACEMENT_SQL_QUERY_NOT_FOUND APP_CONFIG_PARAMETER_NOT_FOUND TRANSACTION_ID_NOT_FOUND ' +
          'CLIENT_CREDENTIALS_NOT_FOUND ACCESS_CODE_NOT_FOUND THING_OWNERSHIP_NOT_FOUND MQTT_ENDPOINT_NOT_FOUND TASK_NOT_FOUND ' +
          'ADDRESS_VERIFICATION_CODE_NOT_FOUND',
        409: 'THING_ALREADY_EXISTS OPERATION_NOT_ALLOWED THING_END_NODE_ALREADY_BELONGS_TO_GATEWAY APP_ALREADY_EXISTS ' +
          'BUCKET_ALREADY_EXISTS OBJECT_VERSION_IS_STALE OBJECT_ALREADY_EXISTS OBJECT_CONFLICT USER_ALREADY_EXISTS ' +
          'OBJECT_BODY_UPLOAD_ALREADY_EXISTS GROUP_ALREADY_EXISTS INSTALLATION_ALREADY_EXISTS ACL_ALREADY_EXISTS ' +
          'FACEBOOK_USER_ALREADY_LINKED QQ_USER_ALREADY_LINKED GOOGLE_USER_ALREADY_LINKED USER_ALREADY_LINKED USER_NOT_LINKED ' +
          'UNIQUE_CONSTRAINT_VIOLATED GCMKEY_ALREADY_EXISTS PUSH_SUBSCRIPTION_ALREADY_EXISTS TOPIC_ALREADY_EXISTS ' +
          'TRANSACTION_ID_ALREADY_EXISTS THING_OWNERSHIP_ALREADY_EXISTS INVALID_THING_OWNERSHIP_CODE INVALID_STATUS',
        410: 'PUBLICATION_EXPIRED PHONE_NUMBER_VERIFICATION_CODE_EXPIRED PIN_CODE_EXPIRED',
        412: 'OBJECT_BODY_INTEGRITY_NOT_ASSURED',
        416: 'OBJECT_BODY_RANGE_NOT_SATISFIABLE',
        500: 'UNDEFINED_ERROR INDEX_FAILED',
        501: 'OPERATION_NOT_IMPLEMENTED',
        503: 'RESOURCE_TEMPORARILY_UNAVAILABLE LOCK_FAILED QUERY_TIMEOUT TEMPORARY_UNAVAILABLE_ERROR MQTT_ENDPOINT_NOT_READY',
      };
      for (const status of Object.keys(table)) for (const c of table[status].split(' ')) errorStatus[c] = Number(status);
    }
    return errorStatus[code];
  }
  const KiiErrorParser = {
    parse: function (error) {
      const s = typeof error === 'string' ? error : error && error.message;
      if (!s) return null;
      const network = { status: 0, code: null, message: 'Network Error' };
      const tooMany = { status: 429, code: 'TOO_MANY_REQUESTS', message: 'Number of requests exceeds the limit.' };
      if (s.indexOf('0 : http') === 0 || s.indexOf('fail to execute server code. statusCode: 0') === 0) return network;
      if (s.indexOf('429 : http') === 0) return tooMany;
      if (s.indexOf('invalid_grant: ') === 0) return { status: 400, code: 'invalid_grant', message: s.substr('invalid_grant: '.length) };
      let m = /statusCode: (\d{1,3})$/.exec(s);
      if (m) return Number(m[1]) === 429 ? tooMany : network;
      m = /(^[A-Z_]+): (.*)/.exec(s);
      if (m) return { status: statusOfCode(m[1]) || -2, code: m[1], message: m[2] };
      const forms = [
        / statusCode: (\d{3}) error code: ([A-Z_]+) message: (.*)$/,
        / statusCode: (\d{3}) error code: ([A-Z_]+) error message: (.*)$/,
        / statusCode: (\d{3}) executedSteps: \d+ error code: ([A-Z_]+) message: (.*) detailMessage: (.*)$/,
        / statusCode: (\d{3}) executedSteps: null error code: ([A-Z_]+) message: (.*)$/,
      ];
      for (const re of forms) {
        m = re.exec(s);
        if (m) return { status: Number(m[1]), code: m[2], message: m[3] };
      }
      return { status: -1, code: null, message: s };
    },
  };

  // ------------------------------------------------------------------------------------------
  // jQuery subset: Deferred, when, ajax (through __kii_fetch), param, extend and a few utilities.

  const microtask = (fn) => Promise.resolve().then(fn);
  const isThenable = (v) => v != null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
  function flatFns(list, out) {
    for (const f of list) {
      if (Array.isArray(f)) flatFns(f, out);
      else if (typeof f === 'function') out.push(f);
    }
    return out;
  }

  // jQuery 3 semantics: done/fail/always run synchronously on settlement (or at once if already
  // settled); then/catch are Promises/A+ (asynchronous, exceptions reject, thenables adopted).
  function Deferred(init) {
    let state = 'pending';
    let ctx;
    let args = [];
    const lists = { resolved: [], rejected: [], progress: [] };
    const add = (which, fns) => {
      for (const f of flatFns(fns, [])) {
        if (state === which) f.apply(ctx, args);
        else if (state === 'pending') lists[which].push(f);
      }
    };
    const settleTo = (to, c, a) => {
      if (state !== 'pending') return;
      state = to;
      ctx = c;
      args = a;
      const l = lists[to];
      lists.resolved = lists.rejected = lists.progress = [];
      for (const f of l) f.apply(c, a);
    };
    const promise = {
      state: function () { return state; },
      done: function (...fns) { add('resolved', fns); return this; },
      fail: function (...fns) { add('rejected', fns); return this; },
      always: function (...fns) { add('resolved', fns); add('rejected', fns); return this; },
      progress: function (...fns) { if (state === 'pending') flatFns(fns, lists.progress); return this; },
      then: function (onResolved, onRejected) {
        const next = Deferred();
        const link = (handler, resolved) => function (...a) {
          const c = this;
          microtask(() => {
            if (typeof handler !== 'function') {
              if (resolved) next.resolveWith(c, a); else next.rejectWith(c, a);
              return;
            }
            let r;
            try {
              r = handler.apply(c, a);
            } catch (e) {
              next.reject(e);
              return;
            }
            // Adopt thenables; the handlers return nothing (a Deferred is itself thenable).
            if (isThenable(r)) r.then((...v) => { next.resolve(...v); }, (...v) => { next.reject(...v); });
            else next.resolve(r);
          });
        };
        add('resolved', [link(onResolved, true)]);
        add('rejected', [link(onRejected, false)]);
        return next.promise();
      },
      catch: function (onRejected) { return promise.then(null, onRejected); },
      pipe: function (onResolved, onRejected) { return promise.then(onResolved, onRejected); },
      promise: function (obj) { return obj != null ? Object.assign(obj, promise) : promise; },
    };
    const deferred = Object.assign({}, promise, {
      resolve: function (...a) { settleTo('resolved', undefined, a); return this; },
      reject: function (...a) { settleTo('rejected', undefined, a); return this; },
      resolveWith: function (c, a) { settleTo('resolved', c, a ? [...a] : []); return this; },
      rejectWith: function (c, a) { settleTo('rejected', c, a ? [...a] : []); return this; },
      notify: function (...a) { if (state === 'pending') for (const f of lists.progress) f.apply(undefined, a); return this; },
      notifyWith: function (c, a) { if (state === 'pending') for (const f of lists.progress) f.apply(c, a ? [...a] : []); return this; },
    });
    if (typeof init === 'function') init.call(deferred, deferred);
    return deferred;
  }

  function when(...subs) {
    if (subs.length === 1 && isThenable(subs[0])) {
      const s = subs[0];
      if (typeof s.promise === 'function' && typeof s.done === 'function') return s.promise();
      const d = Deferred();
      s.then((v) => { d.resolve(v); }, (e) => { d.reject(e); });
      return d.promise();
    }
    const d = Deferred();
    let remaining = subs.length;
    const results = subs.slice();
    if (subs.length <= 1) {
      d.resolve(...subs);
      return d.promise();
    }
    subs.forEach((s, i) => {
      if (!isThenable(s)) {
        if (--remaining === 0) d.resolve(...results);
        return;
      }
      const onOk = (...v) => {
        results[i] = v.length > 1 ? v : v[0];
        if (--remaining === 0) d.resolve(...results);
      };
      const onErr = (...v) => { d.reject(...v); };
      if (typeof s.done === 'function' && typeof s.fail === 'function') s.done(onOk).fail(onErr);
      else s.then(onOk, onErr);
    });
    return d.promise();
  }

  function param(a, traditional) {
    const out = [];
    const add = (k, v) => {
      if (typeof v === 'function') v = v();
      out.push(encodeURIComponent(k) + '=' + encodeURIComponent(v == null ? '' : v));
    };
    const build = (prefix, v) => {
      if (Array.isArray(v)) {
        v.forEach((x, i) => {
          if (traditional || /\[\]$/.test(prefix)) add(prefix, x);
          else build(prefix + '[' + (x !== null && typeof x === 'object' ? i : '') + ']', x);
        });
      } else if (!traditional && v !== null && typeof v === 'object') {
        for (const k of Object.keys(v)) build(prefix + '[' + k + ']', v[k]);
      } else add(prefix, v);
    };
    if (Array.isArray(a)) for (const x of a) add(x.name, x.value);
    else for (const k of Object.keys(a || {})) build(k, a[k]);
    return out.join('&').replace(/%20/g, '+');
  }

  function extend(...argv) {
    let deep = false;
    if (typeof argv[0] === 'boolean') deep = argv.shift();
    let target = argv.length > 1 || argv.length === 0 ? argv.shift() : {};
    if (target == null || (typeof target !== 'object' && typeof target !== 'function')) target = {};
    for (const src of argv) {
      if (src == null) continue;
      for (const k of Object.keys(src)) {
        const v = src[k];
        if (k === '__proto__' || v === target) continue;
        if (deep && v && (isPlain(v) || Array.isArray(v))) {
          const base = target[k];
          const start = Array.isArray(v) ? (Array.isArray(base) ? base : []) : (isPlain(base) ? base : {});
          target[k] = extend(true, start, v);
        } else if (v !== undefined) target[k] = v;
      }
    }
    return target;
  }

  const REASONS = {
    200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found',
    304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
    405: 'Method Not Allowed', 409: 'Conflict', 410: 'Gone', 413: 'Payload Too Large', 415: 'Unsupported Media Type',
    422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway',
    503: 'Service Unavailable', 504: 'Gateway Timeout',
  };

  // $.ajax(url?, settings): the request runs now through __kii_fetch; the returned jqXHR (a
  // Deferred promise) settles in a microtask: success/error, then done/fail/always, then complete.
  function ajax(url, options) {
    if (typeof url === 'object' && url !== null) {
      options = url;
      url = undefined;
    }
    const s = extend({}, $.ajaxSettings, options || {});
    url = String(url || s.url || '');
    const method = s.method !== undefined ? s.method : s.type !== undefined ? s.type : 'GET';
    const reqHeaders = {};
    let resHeaders = {};
    const d = Deferred();
    const complete = Deferred();
    const xhr = d.promise({
      readyState: 0,
      status: 0,
      statusText: '',
      setRequestHeader: function (name, value) { reqHeaders[String(name).toLowerCase()] = String(value); return this; },
      getResponseHeader: function (name) {
        const v = resHeaders[String(name).toLowerCase()];
        return v === undefined ? null : v;
      },
      getAllResponseHeaders: function () {
        return Object.keys(resHeaders).map((k) => k + ': ' + resHeaders[k]).join('\r\n');
      },
      overrideMimeType: function () { return this; },
      abort: function () { return this; }, // the request has already completed
      statusCode: function () { return this; },
    });
    xhr.success = xhr.done; // jQuery < 3 names
    xhr.error = xhr.fail;
    xhr.complete = function (...fns) { complete.done(...fns); return this; };
    const ctx = s.context || s;
    if (typeof s.success === 'function') xhr.done(s.success);
    if (typeof s.error === 'function') xhr.fail(s.error);
    if (typeof s.complete === 'function') complete.done(s.complete);

    const finish = (good, data, textStatus, errorThrown) => {
      microtask(() => {
        xhr.readyState = 4;
        if (good) d.resolveWith(ctx, [data, textStatus, xhr]);
        else d.rejectWith(ctx, [xhr, textStatus, errorThrown]);
        complete.resolveWith(ctx, [xhr, textStatus]);
      });
      return xhr;
    };

    // Kii's server code documents upper-case method names; anything else is refused.
    if (typeof method !== 'string' || !/^[A-Z]+$/.test(method)) {
      return finish(false, undefined, 'error', new Error('$.ajax: the HTTP method must be an upper-case name such as "GET" or "POST", got ' + JSON.stringify(method)));
    }
    let data = s.data;
    if (data != null && typeof data !== 'string' && s.processData !== false) data = param(data, s.traditional);
    let body = null;
    if (data != null && data !== '' && (method === 'GET' || method === 'HEAD')) {
      url += (url.indexOf('?') >= 0 ? '&' : '?') + data;
    } else if (data != null) {
      body = typeof data === 'string' ? data : JSON.stringify(data);
    }
    const dataType = s.dataType ? String(s.dataType).toLowerCase() : '';
    reqHeaders.accept = dataType === 'json' ? 'application/json, text/javascript, */*; q=0.01'
      : dataType === 'text' ? 'text/plain, */*; q=0.01' : '*/*';
    if (s.contentType !== false && (body != null || s.contentType)) {
      reqHeaders['content-type'] = s.contentType || 'application/x-www-form-urlencoded; charset=UTF-8';
    }
    for (const k of Object.keys(s.headers || {})) reqHeaders[k.toLowerCase()] = String(s.headers[k]);
    if (typeof s.beforeSend === 'function' && s.beforeSend.call(ctx, xhr, s) === false) {
      return finish(false, undefined, 'canceled', 'canceled');
    }

    let res;
    try {
      res = __kii_fetch(method, url, reqHeaders, body);
    } catch (e) {
      return finish(false, undefined, 'error', e);
    }
    resHeaders = {};
    for (const k of Object.keys(res.headers || {})) resHeaders[k.toLowerCase()] = res.headers[k];
    const text = res.body == null ? '' : String(res.body);
    xhr.status = res.status;
    xhr.statusText = REASONS[res.status] || (res.status >= 200 && res.status < 300 ? 'success' : 'error');
    xhr.responseText = text;
    if (!((res.status >= 200 && res.status < 300) || res.status === 304)) {
      return finish(false, undefined, 'error', xhr.statusText);
    }
    if (res.status === 204 || method === 'HEAD') return finish(true, undefined, 'nocontent');
    if (res.status === 304) return finish(true, undefined, 'notmodified');
    const type = dataType || (/json/i.test(resHeaders['content-type'] || '') ? 'json' : 'text');
    if (type !== 'json') return finish(true, text, 'success');
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return finish(false, undefined, 'parsererror', e);
    }
    xhr.responseJSON = parsed;
    return finish(true, parsed, 'success');
  }

  // $ itself: server code has no DOM, so only the static utilities below exist.
  const $ = function jQuery() {
    raise('jQuery: DOM functions are not available in Kii server code; use $.ajax, $.Deferred and $.when');
  };
  const shorthand = (method) => function (url, data, success, dataType) {
    if (typeof data === 'function') {
      dataType = dataType || success;
      success = data;
      data = undefined;
    }
    return ajax(extend({ url, type: method, dataType, data, success }, isPlain(url) ? url : {}));
  };
  Object.assign($, {
    ajaxSettings: {},
    ajaxSetup: function (settings) { return extend($.ajaxSettings, settings); },
    ajax,
    get: shorthand('GET'),
    post: shorthand('POST'),
    getJSON: function (url, data, success) {
      if (typeof data === 'function') { success = data; data = undefined; }
      return ajax({ url, data, success, dataType: 'json' });
    },
    Deferred,
    when,
    param,
    extend,
    each: function (obj, fn) {
      if (Array.isArray(obj)) {
        for (let i = 0; i < obj.length; i++) if (fn.call(obj[i], i, obj[i]) === false) break;
      } else {
        for (const k of Object.keys(obj || {})) if (fn.call(obj[k], k, obj[k]) === false) break;
      }
      return obj;
    },
    map: function (obj, fn) {
      const out = [];
      const push = (r) => { if (r != null) { if (Array.isArray(r)) out.push(...r); else out.push(r); } };
      if (Array.isArray(obj)) obj.forEach((v, i) => push(fn(v, i)));
      else for (const k of Object.keys(obj || {})) push(fn(obj[k], k));
      return out;
    },
    isArray: Array.isArray,
    isFunction: function (v) { return typeof v === 'function'; },
    isPlainObject: isPlain,
    trim: function (s) { return s == null ? '' : String(s).trim(); },
    parseJSON: function (s) { return JSON.parse(s); },
    noop: function () {},
  });

  return {
    Kii, KiiUser, KiiGroup, KiiBucket, KiiObject, KiiQuery, KiiClause, KiiACL, KiiACLEntry, KiiACLAction,
    KiiAnonymousUser, KiiAnyAuthenticatedUser, KiiAppAdminContext, KiiServerCodeEntry, KiiServerCodeExecResult,
    KiiGeoPoint, KiiSite, KiiServerCodeEnvironmentVersion, KiiErrorParser,
    $, jQuery: $,
    __adminContext: function (token) { return new KiiAppAdminContext({ token }); },
  };
})()
