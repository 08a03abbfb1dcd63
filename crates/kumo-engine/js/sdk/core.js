// Kumo's Kii Cloud JavaScript SDK for server code: the core part.
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
// The SDK is split into parts (the files of this directory), so that a run loads only the code
// it uses. Each file is one expression: a function that the engine calls once with the shared
// `sdk` object, to which the part attaches what it exports. This part is loaded first; the
// engine's sdk.need(part) loads another one ('users', 'groups', 'objects', 'query', 'acl',
// 'servercode', 'misc', 'jquery', 'things') once and returns `sdk`. Parts reach each other only through
// sdk.need, at call time. Names starting with '_' are the parts' shared internals and never
// become globals. Every run that uses the SDK loads this part, so it holds only what the common
// paths need (Kii, the admin context, requests and outcomes); the rest is in the other parts,
// e.g. server code entries in 'servercode', KiiErrorParser, KiiGeoPoint and KiiSite in 'misc'.
(function (sdk) {
  'use strict';

  const env = __kii_env;
  // The run's state: the logged-in KiiUser (callers get clones) and Kii.setAccessTokenExpiration
  // (seconds; 0: the server's default).
  const state = { user: null, expiration: 0 };
  let extraHeaders = null; // Kii.setAdditionalHeaders
  let logging = false;

  // ------------------------------------------------------------------------------------------
  // Small helpers

  const isStr = (s) => typeof s === 'string' && s.length > 0;
  // Plain objects (also from another realm, or without prototype); not class instances.
  const isPlain = (o) => {
    if (o === null || typeof o !== 'object' || Object.prototype.toString.call(o) !== '[object Object]') return false;
    const p = Object.getPrototypeOf(o);
    return p === null || Object.getPrototypeOf(p) === null;
  };
  // Messages of 2.4.19's exception objects; Kumo throws real Errors carrying them.
  const MSG_URI = 'Unable to set URI. Must be of the form kiicloud://some/path/to/object/or/entity';
  const invalidArg = (m) => 'InvalidArgument: ' + m;
  function raise(message) {
    throw new Error(message);
  }
  // v instanceof the class `name` of a part, without loading the part (no instances without it).
  const is = (v, name) => !!sdk[name] && v instanceof sdk[name];

  // Secrets (tokens, passwords) are kept under symbols: JSON.stringify, Object.keys and for-in
  // never see a symbol-keyed property, so an SDK object that is returned, passed to done() or
  // logged carries none. TOK holds the token an object made from an admin context (or a user,
  // group or bucket derived from one) acts with. Code that reads a secret on purpose still can,
  // by its usual name (`context.getAppAdminContext()._token`, `user._accessToken`), through
  // accessors on the classes' prototypes.
  const TOK = Symbol('tok');
  const SECRETS = { _token: TOK, _accessToken: Symbol('accessToken'), _password: Symbol('password') };
  function secretFields(proto, names) {
    for (const name of names) {
      const key = SECRETS[name];
      Object.defineProperty(proto, name, {
        get() { return this[key]; },
        set(value) { this[key] = value; },
        configurable: true,
      });
    }
  }
  // Kii's SDK binds every method of an instance to it in its constructor (CoffeeScript's `=>`),
  // so `var f = obj.save; f()` and `(target.objectACL || target.acl)()` work there, and real
  // code relies on it. Here a method is bound on its first read from an instance instead (kept
  // as a non-enumerable own property, so `obj.save === obj.save`), and an object pays only for
  // the public methods it uses. Reads from a prototype (which has its own `constructor`) get the
  // plain method; assigning a method replaces it on that object only.
  function bindMethods(cls) {
    const proto = cls.prototype;
    const own = Object.prototype.hasOwnProperty;
    const desc = { value: undefined, writable: true, configurable: true };
    for (const name of Object.getOwnPropertyNames(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      // Internals (`_…`) stay plain: the SDK calls them on itself, and binding costs a run.
      if (name === 'constructor' || name[0] === '_' || typeof d.value !== 'function') continue;
      const method = d.value;
      Object.defineProperty(proto, name, {
        configurable: true,
        get() {
          if (this === proto || this === null || typeof this !== 'object' || own.call(this, 'constructor')) return method;
          const bound = method.bind(this);
          if (Object.isExtensible(this)) {
            desc.value = bound; // one descriptor for every definition: no allocation per read
            Object.defineProperty(this, name, desc);
            desc.value = undefined;
          }
          return bound;
        },
        set(value) {
          Object.defineProperty(this, name, { value, writable: true, configurable: true, enumerable: true });
        },
      });
    }
  }

  // Copies the secrets `from` holds onto `to` (clones).
  function copySecrets(from, to) {
    if (from[TOK] !== undefined) to[TOK] = from[TOK];
    for (const name of Object.keys(SECRETS)) if (from[name] !== undefined) to[name] = from[name];
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
  const userToken = () => (state.user ? state.user._accessToken : undefined);
  // Things created from an admin context (or a user/group/bucket derived from one) carry the
  // admin token under TOK; everything else acts as the current user, or anonymously.
  const tokenOf = (holder) => (holder && holder[TOK]) || userToken();
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

  // The current user (a KiiUser, so `users` is loaded whenever there is one).
  const setCurrent = (user) => { state.user = user ? user._clone() : null; };
  const getCurrent = () => (state.user ? state.user._clone() : null);

  // Constructors of other parts, loading them on first use.
  const bucket = (name, parent, tok, crypto) => new (sdk.need('objects').KiiBucket)(name, parent, tok, crypto);
  const userWithToken = (id, tok) => sdk.need('users')._userWithToken(id, tok);
  const groupWithID = (id, tok) => sdk.need('groups')._groupWithID(id, tok);
  const findUser = (kind, what, value, callbacks, ctx) => sdk.need('users')._findUser(kind, what, value, callbacks, ctx);
  const things = () => sdk.need('things')._adminThings;

  // ------------------------------------------------------------------------------------------
  // Small classes

  class KiiAnonymousUser {
    getID() { return 'ANONYMOUS_USER'; }
  }
  class KiiAnyAuthenticatedUser {
    getID() { return 'ANY_AUTHENTICATED_USER'; }
  }

  // ------------------------------------------------------------------------------------------
  // App admin

  class KiiAppAdminContext {
    constructor(spec) {
      this._token = spec.token;
      this._id = spec.id;
    }
    bucketWithName(name) { return bucket(name, null, this._token, false); }
    encryptedBucketWithName(name) { return bucket(name, null, this._token, true); }
    groupWithName(name) { return sdk.need('groups')._namedGroup(name, null, this._token); }
    groupWithID(id) { return groupWithID(id, this._token); }
    groupWithURI(uri) { return sdk.need('groups')._groupWithURI(uri, this._token); }
    userWithID(id) { return userWithToken(id, this._token); }
    objectWithURI(uri) { return sdk.need('objects')._objectWithURI(uri, this._token, true); }
    registerGroupWithOwnerAndID(groupID, groupName, owner, members, callbacks) {
      return settle(callbacks, sdk.need('groups')._registerGroup(this._token, this._token, groupID, groupName, owner, members));
    }
    // Things (part `things`).
    registerThing(fields, callbacks) { return things().registerThing.call(this, fields, callbacks); }
    thingWithID(thingID) { return things().thingWithID.call(this, thingID); }
    loadThingWithThingID(thingID, callbacks) { return things().loadThingWithThingID.call(this, thingID, callbacks); }
    loadThingWithVendorThingID(vendorThingID, callbacks) {
      return things().loadThingWithVendorThingID.call(this, vendorThingID, callbacks);
    }
    registerOwnerWithThingID(thingID, owner, callbacks) {
      return things().registerOwnerWithThingID.call(this, thingID, owner, callbacks);
    }
    registerOwnerWithVendorThingID(vendorThingID, owner, callbacks) {
      return things().registerOwnerWithVendorThingID.call(this, vendorThingID, owner, callbacks);
    }
    findUserByUsername(username, callbacks) { return findUser('LOGIN_NAME', 'username', username, callbacks, this); }
    findUserByEmail(email, callbacks) { return findUser('EMAIL', 'email', email, callbacks, this); }
    findUserByPhone(phone, callbacks) { return findUser('PHONE', 'phone', phone, callbacks, this); }
    getAccessToken() { return this._token; }
    _getToken() { return this._token; }
    _getId() { return this._id; }
  }
  secretFields(KiiAppAdminContext.prototype, ['_token']);
  [KiiAnonymousUser, KiiAnyAuthenticatedUser, KiiAppAdminContext].forEach(bindMethods);

  // ------------------------------------------------------------------------------------------
  // Kii

  const Kii = {
    getBuildNumber: function () { return '1'; },
    getSDKVersion: function () { return '2.4.19'; },
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
      state.expiration = expiresIn;
    },
    getAccessTokenExpiration: function () { return state.expiration; },
    bucketWithName: function (name) { return bucket(name, null, undefined, false); },
    encryptedBucketWithName: function (name) { return bucket(name, null, undefined, true); },
    groupWithName: function (name, members) { return sdk.need('groups')._namedGroup(name, members); },
    groupWithNameAndMembers: function (name, members) { return sdk.need('groups')._namedGroup(name, members); },
    getCurrentUser: function () { return getCurrent(); },
    setCurrentUser: function (user) { setCurrent(user); },
    loggedIn: function () { return state.user != null; },
    logOut: function () { state.user = null; },
    // failure(errorString, statusCode); success(adminContext).
    authenticateAsAppAdmin: function (clientId, clientSecret, callbacks) {
      const res = http('POST', '/oauth2/token', { body: { client_id: clientId, client_secret: clientSecret } });
      if (!res.ok) return settle(callbacks, ko([res.err, res.status], kiiError(res.err)));
      const j = res.json || {};
      return settle(callbacks, ok([new KiiAppAdminContext({ token: j.access_token, id: j.id })]));
    },
    authenticateAsAdminWithToken: function (token) { return new KiiAppAdminContext({ token }); },
    authenticateAsThing: function (vendorThingID, password, callbacks) {
      return sdk.need('things')._authenticateAsThing(vendorThingID, password, callbacks);
    },
    authenticateAsThingWithToken: function (thingID, token, callbacks) {
      return sdk.need('things')._authenticateAsThingWithToken(thingID, token, callbacks);
    },
    serverCodeEntry: function (entryName, version, environmentVersion) {
      return sdk.need('servercode')._serverCodeEntry(entryName, version, environmentVersion, false);
    },
    serverCodeEntryWithVersion: function (entryName, version) {
      return sdk.need('servercode')._serverCodeEntry(entryName, version, undefined, true);
    },
  };

  Object.assign(sdk, {
    Kii, KiiAnonymousUser, KiiAnyAuthenticatedUser, KiiAppAdminContext,
    __adminContext: function (token) { return new KiiAppAdminContext({ token }); },
    // For the other parts.
    _TOK: TOK, _secretFields: secretFields, _bindMethods: bindMethods, _copySecrets: copySecrets,
    _env: env, _state: state, _isStr: isStr, _isPlain: isPlain, _MSG_URI: MSG_URI, _invalidArg: invalidArg, _raise: raise, _is: is,
    _ok: ok, _ko: ko, _kiiError: kiiError, _fail: fail, _settle: settle,
    _appPath: appPath, _userToken: userToken, _tokenOf: tokenOf, _http: http, _statusError: statusError, _httpOK: httpOK,
    _setCurrent: setCurrent, _getCurrent: getCurrent, _bucket: bucket, _user: userWithToken, _group: groupWithID,
  });
})
