// Kumo's in-sandbox Kii SDK, part `users`: KiiUser (see core.js).
(function (sdk) {
  'use strict';

  const {
    _state: state, _isStr: isStr, _isPlain: isPlain, _MSG_URI: MSG_URI, _invalidArg: invalidArg, _raise: raise,
    _ok: ok, _ko: ko, _kiiError: kiiError, _fail: fail, _settle: settle, _appPath: appPath, _userToken: userToken,
    _tokenOf: tokenOf, _http: http, _statusError: statusError, _httpOK: httpOK, _setCurrent: setCurrent,
    _getCurrent: getCurrent, _bucket: bucket, _secretFields: secretFields, _copySecrets: copySecrets,
    _TOK: TOK,
  } = sdk;
  const MAX_DATE_MS = 100000000 * 24 * 60 * 60 * 1000; // 2.4.19's "never expires"

  const trim = (v) => String(v == null ? '' : v).replace(/^(\s|\u00A0)+|(\s|\u00A0)+$/g, '');

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
  };

  // Messages of 2.4.19's exception objects.
  const MSG = {
    displayName: 'Unable to set displayName. Must be between 1-50 characters.',
    password: 'Unable to set password. Must be between 4-50 characters composed with ascii (exclude control character)',
    username: "Unable to set username. Must be between 3 and 64 characters, which can include alphanumeric characters as well as underscores '_' and periods '.'",
    identifier: 'User identifier should be one of user name, phone number or email',
    email: 'Unable to set email address. Must be a valid email',
    phone: "Unable to set phone number. Must begin with a '+' and be at least 10 digits",
    country: 'Unable to set country code. Must be 2 alphabetic characters. Ex: US, JP, CN',
    localPhone: 'needs to provide country for the local phone number',
  };

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
    bucketWithName(name) { return bucket(name, this, this[TOK], false); }
    encryptedBucketWithName(name) { return bucket(name, this, this[TOK], true); }

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
      const list = ((res.json && res.json.groups) || []).map((g) => sdk.need('groups')._groupFromJSON(g, this[TOK]));
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
      copySecrets(this, u);
      return u;
    }
  }
  secretFields(KiiUser.prototype, ['_accessToken', '_password']);

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
    if (state.expiration > 0) data.expiresAt = expiry(state.expiration);
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
    if (tok) u[TOK] = tok;
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
    logOut: function () { state.user = null; },
    loggedIn: function () { return state.user != null; },
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
      if (!m) raise(MSG_URI);
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

  sdk._bindMethods(KiiUser);
  Object.assign(sdk, { KiiUser, _userWithToken: userWithToken, _findUser: findUser });
})
