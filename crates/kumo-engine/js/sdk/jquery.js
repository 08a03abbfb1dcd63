// Kumo's in-sandbox Kii SDK, part `jquery`: `$` and `jQuery` (see core.js). A jQuery subset:
// Deferred, when, ajax (through __kii_fetch), param, extend and a few utilities.
(function (sdk) {
  'use strict';

  const { _isPlain: isPlain, _raise: raise } = sdk;

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

  Object.assign(sdk, { $, jQuery: $ });
})
