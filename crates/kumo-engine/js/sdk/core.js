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
// 'jquery') once and returns `sdk`. Parts reach each other only through sdk.need, at call time.
// Names starting with '_' are the parts' shared internals and never become globals.
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

  // The current user (a KiiUser, so `users` is loaded whenever there is one).
  const setCurrent = (user) => { state.user = user ? user._clone() : null; };
  const getCurrent = () => (state.user ? state.user._clone() : null);

  // Constructors of other parts, loading them on first use.
  const bucket = (name, parent, tok, crypto) => new (sdk.need('objects').KiiBucket)(name, parent, tok, crypto);
  const userWithToken = (id, tok) => sdk.need('users')._userWithToken(id, tok);
  const groupWithID = (id, tok) => sdk.need('groups')._groupWithID(id, tok);
  const findUser = (kind, what, value, callbacks, ctx) => sdk.need('users')._findUser(kind, what, value, callbacks, ctx);

  // ------------------------------------------------------------------------------------------
  // Small classes

  class KiiAnonymousUser {
    getID() { return 'ANONYMOUS_USER'; }
  }
  class KiiAnyAuthenticatedUser {
    getID() { return 'ANY_AUTHENTICATED_USER'; }
  }

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
    groupWithURI(uri) {
      if (uri == null || String(uri).indexOf('kiicloud://') !== 0) raise(MSG_URI);
      const parts = String(uri).substr('kiicloud://'.length).split('/');
      if (parts.length !== 2 || parts[0] !== 'groups') raise(MSG_URI);
      return groupWithID(parts[1], this._token);
    }
    userWithID(id) { return userWithToken(id, this._token); }
    objectWithURI(uri) { return sdk.need('objects')._objectWithURI(uri, this._token, true); }
    registerGroupWithOwnerAndID(groupID, groupName, owner, members, callbacks) {
      return settle(callbacks, sdk.need('groups')._registerGroup(this._token, this._token, groupID, groupName, owner, members));
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
  const isEntryName = (v) => typeof v === 'string' && /^[a-zA-Z][_a-zA-Z0-9]*$/.test(v);

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
    serverCodeEntry: function (entryName, version, environmentVersion) {
      if (!isEntryName(entryName)) raise(invalidArg('entryName is invalid'));
      if (version && !isStr(version)) raise(invalidArg('version is invalid'));
      return new KiiServerCodeEntry(entryName, version, environmentVersion);
    },
    serverCodeEntryWithVersion: function (entryName, version) {
      if (!isEntryName(entryName)) raise(invalidArg('entryName is invalid'));
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

  Object.assign(sdk, {
    Kii, KiiSite, KiiErrorParser, KiiServerCodeEntry, KiiServerCodeExecResult, KiiServerCodeEnvironmentVersion,
    KiiAnonymousUser, KiiAnyAuthenticatedUser, KiiGeoPoint, KiiAppAdminContext,
    __adminContext: function (token) { return new KiiAppAdminContext({ token }); },
    // For the other parts.
    _env: env, _state: state, _isStr: isStr, _isPlain: isPlain, _MSG_URI: MSG_URI, _invalidArg: invalidArg, _raise: raise, _is: is,
    _ok: ok, _ko: ko, _kiiError: kiiError, _fail: fail, _settle: settle,
    _appPath: appPath, _userToken: userToken, _tokenOf: tokenOf, _http: http, _statusError: statusError, _httpOK: httpOK,
    _setCurrent: setCurrent, _getCurrent: getCurrent, _bucket: bucket, _user: userWithToken, _group: groupWithID,
  });
})
