// Node's globals in the sandbox, part `url`: WHATWG `URL` and `URLSearchParams` for the cases
// server code meets (absolute and relative URLs, special and opaque schemes, IPv4 forms,
// percent-encoding, dot segments, query parameters). Not covered: internationalised host names
// (non-ASCII hosts are refused), IPv6 compression (bracketed hosts are kept as written, lower
// case). Pure computation: nothing here reaches the host.
(function (lib) {
  'use strict';

  const text = lib.need('text');

  const SPECIAL = { 'ftp:': '21', 'file:': '', 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };
  const isSpecial = (scheme) => Object.prototype.hasOwnProperty.call(SPECIAL, scheme);

  function invalid(input) {
    const e = new TypeError('Invalid URL');
    e.code = 'ERR_INVALID_URL';
    e.input = input;
    return e;
  }

  const C0 = (c) => c < 0x20 || c > 0x7e;
  const FRAGMENT = (c) => C0(c) || c === 0x20 || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x60;
  const QUERY = (c) => C0(c) || c === 0x20 || c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e;
  const SPECIAL_QUERY = (c) => QUERY(c) || c === 0x27;
  const PATH = (c) => QUERY(c) || c === 0x3f || c === 0x60 || c === 0x7b || c === 0x7d;
  const USERINFO = (c) => PATH(c) || c === 0x2f || c === 0x3a || c === 0x3b || c === 0x3d || c === 0x40 ||
    c === 0x5b || c === 0x5c || c === 0x5d || c === 0x5e || c === 0x7c;

  function hex2(b) { return '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase(); }

  // Percent-encodes (as UTF-8) the characters of `s` that are in the set; `space` replaces
  // U+0020 when given (form encoding). Runs of characters kept as they are are copied as slices
  // and joined once: building the result a character at a time would copy it over and over.
  function encodeSet(s, inSet, space) {
    let parts = null;
    let last = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (!inSet(c)) continue;
      if (parts === null) parts = [];
      parts.push(s.slice(last, i));
      if (c === 0x20 && space !== undefined) {
        parts.push(space);
      } else {
        const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
        const bytes = text.utf8Encode(s.slice(i, pair ? i + 2 : i + 1));
        let enc = '';
        for (let k = 0; k < bytes.length; k++) enc += hex2(bytes[k]);
        parts.push(enc);
        if (pair) i++;
      }
      last = i + 1;
    }
    if (parts === null) return s;
    parts.push(s.slice(last));
    return parts.join('');
  }

  function percentDecodeBytes(s) {
    const bytes = text.utf8Encode(s);
    const out = new Uint8Array(bytes.length);
    let o = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 0x25 && i + 2 < bytes.length) {
        const v = parseInt(String.fromCharCode(bytes[i + 1], bytes[i + 2]), 16);
        if (/^[0-9a-fA-F]{2}$/.test(String.fromCharCode(bytes[i + 1], bytes[i + 2]))) { out[o++] = v; i += 2; continue; }
      }
      out[o++] = b;
    }
    return out.subarray(0, o);
  }
  const percentDecode = (s) => {
    if (s.indexOf('%') < 0) return s;
    const b = percentDecodeBytes(s);
    return text.utf8Decode(b, 0, b.length, false);
  };

  // One IPv4 part: decimal, 0x hex or 0 octal, as the WHATWG host parser reads it.
  function ipv4Number(part) {
    if (part === '') return NaN;
    let radix = 10;
    if (/^0[xX]/.test(part)) { part = part.slice(2); radix = 16; } else if (part.length > 1 && part[0] === '0') { part = part.slice(1); radix = 8; }
    if (part === '') return 0;
    const re = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
    return re.test(part) ? parseInt(part, radix) : NaN;
  }
  function parseIPv4(host, input) {
    const parts = host.split('.');
    if (parts[parts.length - 1] === '' && parts.length > 1) parts.pop();
    if (parts.length > 4) throw invalid(input);
    const numbers = parts.map(ipv4Number);
    if (numbers.some(Number.isNaN)) throw invalid(input);
    const last = numbers.pop();
    if (numbers.some((n) => n > 255) || last >= Math.pow(256, 5 - parts.length)) throw invalid(input);
    let value = last;
    numbers.forEach((n, i) => { value += n * Math.pow(256, 3 - i); });
    const out = [];
    for (let i = 3; i >= 0; i--) out.push(Math.floor(value / Math.pow(256, i)) % 256);
    return out.join('.');
  }
  // The WHATWG rule: a host whose last label is numeric is an IPv4 address.
  function endsInNumber(host) {
    const parts = host.split('.');
    if (parts[parts.length - 1] === '') { if (parts.length === 1) return false; parts.pop(); }
    const last = parts[parts.length - 1];
    return /^[0-9]+$/.test(last) || /^0[xX][0-9a-fA-F]*$/.test(last);
  }

  function parseHost(raw, special, input) {
    if (raw.startsWith('[')) {
      if (!raw.endsWith(']') || !/^\[[0-9a-fA-F:.]+\]$/.test(raw)) throw invalid(input);
      return raw.toLowerCase();
    }
    if (!special) {
      if (/[\x00\t\n\r #/:<>?@[\\\]^|]/.test(raw)) throw invalid(input);
      return encodeSet(raw, C0);
    }
    const host = percentDecode(raw).toLowerCase();
    if (host === '' || /[^\x21-\x7e]/.test(host) || /[ #%/:<>?@[\\\]^|]/.test(host)) throw invalid(input);
    return endsInNumber(host) ? parseIPv4(host, input) : host;
  }

  // Path segments with `.` and `..` resolved onto `segments`.
  function pushPath(segments, path, special) {
    const parts = path.split(special ? /[/\\]/ : '/');
    for (let i = 0; i < parts.length; i++) {
      const seg = parts[i];
      const last = i === parts.length - 1;
      const lower = seg.toLowerCase();
      if (seg === '..' || lower === '.%2e' || lower === '%2e.' || lower === '%2e%2e') {
        if (segments.length > 0) segments.pop();
        if (last) segments.push('');
      } else if (seg === '.' || lower === '%2e') {
        if (last) segments.push('');
      } else {
        segments.push(encodeSet(seg, PATH));
      }
    }
  }

  // Splits off `#fragment` and `?query` from the end of a reference.
  function splitTail(rest) {
    let fragment = null, query = null;
    const h = rest.indexOf('#');
    if (h >= 0) { fragment = rest.slice(h + 1); rest = rest.slice(0, h); }
    const q = rest.indexOf('?');
    if (q >= 0) { query = rest.slice(q + 1); rest = rest.slice(0, q); }
    return [rest, query, fragment];
  }

  function parseAuthority(rec, rest, input) {
    const special = isSpecial(rec.scheme);
    let end = rest.length;
    for (let i = 0; i < rest.length; i++) {
      const c = rest[i];
      if (c === '/' || c === '?' || c === '#' || (special && c === '\\')) { end = i; break; }
    }
    let authority = rest.slice(0, end);
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      authority = authority.slice(at + 1);
      const colon = userinfo.indexOf(':');
      rec.username = encodeSet(colon >= 0 ? userinfo.slice(0, colon) : userinfo, USERINFO);
      rec.password = colon >= 0 ? encodeSet(userinfo.slice(colon + 1), USERINFO) : '';
    }
    let hostPart = authority, port = '';
    const m = /:([^\]:]*)$/.exec(authority);
    if (m && !(authority.startsWith('[') && authority.lastIndexOf(']') > m.index)) {
      hostPart = authority.slice(0, m.index);
      port = m[1];
    }
    if (port !== '') {
      if (!/^[0-9]+$/.test(port) || +port > 65535) throw invalid(input);
      port = String(+port);
      if (special && SPECIAL[rec.scheme] === port) port = '';
    }
    if (hostPart === '' && special && rec.scheme !== 'file:') throw invalid(input);
    if (hostPart === '' && (rec.username !== '' || rec.password !== '' || port !== '')) throw invalid(input);
    rec.host = hostPart === '' ? '' : parseHost(hostPart, special, input);
    if (rec.scheme === 'file:' && rec.host === 'localhost') rec.host = '';
    rec.port = port;
    return rest.slice(end);
  }

  // Sets the path, query and fragment of `rec` from what follows its authority.
  function parsePathAndTail(rec, rest, baseSegments) {
    const special = isSpecial(rec.scheme);
    const [path, query, fragment] = splitTail(rest);
    const segments = baseSegments ? baseSegments.slice() : [];
    if (path !== '') pushPath(segments, path.replace(special ? /^[/\\]/ : /^\//, ''), special);
    else if (special && segments.length === 0) segments.push('');
    rec.path = segments;
    setQuery(rec, query);
    rec.fragment = fragment === null ? null : encodeSet(fragment, FRAGMENT);
  }
  function setQuery(rec, query) {
    rec.query = query === null ? null : encodeSet(query, isSpecial(rec.scheme) ? SPECIAL_QUERY : QUERY);
  }

  // Leading and trailing C0 controls and spaces go, by loops: a regular expression anchored at
  // the end would try every run of spaces in a long input again (quadratic time).
  function trimControls(s) {
    let start = 0, end = s.length;
    while (start < end && s.charCodeAt(start) <= 0x20) start++;
    while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
    return s.slice(start, end);
  }

  function parse(input, base) {
    const s = trimControls(String(input)).replace(/[\t\n\r]/g, '');
    const rec = { scheme: '', username: '', password: '', host: null, port: '', path: [], opaque: null, query: null, fragment: null };
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(s);
    if (m) {
      rec.scheme = m[1].toLowerCase() + ':';
      let rest = s.slice(m[0].length);
      const special = isSpecial(rec.scheme);
      if (special && base && base.scheme === rec.scheme && !/^[/\\]/.test(rest)) return relative(rec, rest, base, input);
      if (special) {
        if (rec.scheme === 'file:') {
          if (!/^[/\\]{2}/.test(rest)) { rec.host = ''; parsePathAndTail(rec, rest, null); return rec; }
          rest = rest.slice(2);
        } else {
          rest = rest.replace(/^[/\\]*/, '');
        }
        rest = parseAuthority(rec, rest, input);
        parsePathAndTail(rec, rest, null);
        return rec;
      }
      if (rest.startsWith('//')) { rest = parseAuthority(rec, rest.slice(2), input); parsePathAndTail(rec, rest, null); return rec; }
      if (rest.startsWith('/')) { parsePathAndTail(rec, rest, null); return rec; }
      const [path, query, fragment] = splitTail(rest);
      rec.opaque = encodeSet(path, C0);
      setQuery(rec, query);
      rec.fragment = fragment === null ? null : encodeSet(fragment, FRAGMENT);
      return rec;
    }
    if (!base) throw invalid(input);
    if (base.opaque !== null) {
      if (!s.startsWith('#')) throw invalid(input);
      const copy = Object.assign({}, base);
      copy.fragment = encodeSet(s.slice(1), FRAGMENT);
      return copy;
    }
    rec.scheme = base.scheme;
    return relative(rec, s, base, input);
  }

  function relative(rec, s, base, input) {
    const special = isSpecial(rec.scheme);
    const slash = special ? /^[/\\]/ : /^\//;
    const twoSlashes = special ? /^[/\\]{2}/ : /^\/\//;
    if (twoSlashes.test(s)) {
      const rest = parseAuthority(rec, s.slice(2), input);
      parsePathAndTail(rec, rest, null);
      return rec;
    }
    rec.username = base.username; rec.password = base.password; rec.host = base.host; rec.port = base.port;
    if (slash.test(s)) { parsePathAndTail(rec, s, null); return rec; }
    if (s === '' || s[0] === '?' || s[0] === '#') {
      rec.path = base.path.slice();
      const [, query, fragment] = splitTail(s);
      if (query !== null) setQuery(rec, query); else rec.query = base.query;
      rec.fragment = fragment === null ? null : encodeSet(fragment, FRAGMENT);
      return rec;
    }
    parsePathAndTail(rec, s, base.path.slice(0, -1));
    return rec;
  }

  function pathOf(rec) {
    if (rec.opaque !== null) return rec.opaque;
    return rec.path.length === 0 ? '' : '/' + rec.path.join('/');
  }
  function serialize(rec, withFragment) {
    let out = rec.scheme;
    if (rec.host !== null) {
      out += '//';
      if (rec.username !== '' || rec.password !== '') out += rec.username + (rec.password !== '' ? ':' + rec.password : '') + '@';
      out += rec.host + (rec.port !== '' ? ':' + rec.port : '');
    } else if (rec.opaque === null && rec.path.length > 1 && rec.path[0] === '') {
      out += '/.';
    }
    out += pathOf(rec);
    if (rec.query !== null) out += '?' + rec.query;
    if (withFragment && rec.fragment !== null) out += '#' + rec.fragment;
    return out;
  }

  // ---- URLSearchParams ----

  function parseQuery(s) {
    const list = [];
    for (const piece of s.split('&')) {
      if (piece === '') continue;
      const eq = piece.indexOf('=');
      const name = eq >= 0 ? piece.slice(0, eq) : piece;
      const value = eq >= 0 ? piece.slice(eq + 1) : '';
      list.push([percentDecode(name.replace(/\+/g, ' ')), percentDecode(value.replace(/\+/g, ' '))]);
    }
    return list;
  }
  // application/x-www-form-urlencoded: everything but ASCII letters, digits and `*-._`.
  const FORM = (c) => !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x2a || c === 0x2d || c === 0x2e || c === 0x5f);
  const formEncode = (s) => encodeSet(s, FORM, '+');

  const paramsState = new WeakMap();
  const state = (p) => {
    const s = paramsState.get(p);
    if (!s) throw new TypeError('Value of "this" must be of type URLSearchParams');
    return s;
  };
  const usv = (v) => String(v);

  class URLSearchParams {
    constructor(init) {
      const s = { list: [], url: null };
      paramsState.set(this, s);
      if (init === undefined || init === null) return;
      if (typeof init === 'object' || typeof init === 'function') {
        if (typeof init[Symbol.iterator] === 'function') {
          for (const pair of init) {
            const p = Array.from(pair);
            if (p.length !== 2) throw new TypeError('Each query pair must be an iterable [name, value] tuple');
            s.list.push([usv(p[0]), usv(p[1])]);
          }
        } else {
          for (const key of Object.keys(init)) s.list.push([usv(key), usv(init[key])]);
        }
        return;
      }
      const str = usv(init);
      s.list = parseQuery(str.startsWith('?') ? str.slice(1) : str);
    }
    get size() { return state(this).list.length; }
    append(name, value) { const s = state(this); s.list.push([usv(name), usv(value)]); update(s); }
    delete(name, value) {
      const s = state(this);
      const n = usv(name);
      s.list = s.list.filter(([k, v]) => !(k === n && (value === undefined || v === usv(value))));
      update(s);
    }
    get(name) { const n = usv(name); const e = state(this).list.find(([k]) => k === n); return e ? e[1] : null; }
    getAll(name) { const n = usv(name); return state(this).list.filter(([k]) => k === n).map(([, v]) => v); }
    has(name, value) { const n = usv(name); return state(this).list.some(([k, v]) => k === n && (value === undefined || v === usv(value))); }
    set(name, value) {
      const s = state(this);
      const n = usv(name), v = usv(value);
      const i = s.list.findIndex(([k]) => k === n);
      if (i < 0) s.list.push([n, v]);
      else { s.list[i][1] = v; s.list = s.list.filter(([k], j) => j <= i || k !== n); }
      update(s);
    }
    sort() {
      const s = state(this);
      s.list = s.list.map((e, i) => [e, i]).sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1])).map(([e]) => e);
      update(s);
    }
    forEach(callback, thisArg) {
      if (typeof callback !== 'function') throw new TypeError('The "callback" argument must be of type function');
      const list = state(this).list;
      for (let i = 0; i < list.length; i++) callback.call(thisArg, list[i][1], list[i][0], this);
    }
    keys() { return state(this).list.map(([k]) => k)[Symbol.iterator](); }
    values() { return state(this).list.map(([, v]) => v)[Symbol.iterator](); }
    entries() { return state(this).list.map(([k, v]) => [k, v])[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return state(this).list.map(([k, v]) => formEncode(k) + '=' + formEncode(v)).join('&'); }
    get [Symbol.toStringTag]() { return 'URLSearchParams'; }
  }
  function update(s) {
    if (!s.url) return;
    const q = s.list.map(([k, v]) => formEncode(k) + '=' + formEncode(v)).join('&');
    s.url.query = q === '' ? null : q;
  }

  // ---- URL ----

  const urlState = new WeakMap();
  const rec = (u) => {
    const r = urlState.get(u);
    if (!r) throw new TypeError('Value of "this" must be of type URL');
    return r;
  };
  function attach(url, r) {
    urlState.set(url, r);
    const params = new URLSearchParams(r.query === null ? '' : r.query);
    paramsState.get(params).url = r;
    r.params = params;
  }
  function refreshParams(r) { paramsState.get(r.params).list = parseQuery(r.query === null ? '' : r.query); }

  class URL {
    constructor(input, base) {
      let baseRec = null;
      if (base !== undefined) baseRec = parse(String(base), null);
      attach(this, parse(String(input), baseRec));
    }
    static canParse(input, base) {
      try { new URL(input, base); return true; } catch (e) { return false; }
    }
    get href() { return serialize(rec(this), true); }
    set href(v) {
      const r = rec(this), next = parse(String(v), null);
      Object.assign(r, next);
      refreshParams(r);
    }
    get origin() {
      const r = rec(this);
      if (!isSpecial(r.scheme) || r.scheme === 'file:') return 'null';
      return r.scheme + '//' + r.host + (r.port !== '' ? ':' + r.port : '');
    }
    get protocol() { return rec(this).scheme; }
    set protocol(v) {
      const r = rec(this);
      const m = /^([a-zA-Z][a-zA-Z0-9+.-]*)/.exec(String(v));
      if (!m) return;
      const scheme = m[1].toLowerCase() + ':';
      if (isSpecial(scheme) !== isSpecial(r.scheme) || scheme === 'file:' || r.scheme === 'file:') return;
      r.scheme = scheme;
      if (isSpecial(scheme) && SPECIAL[scheme] === r.port) r.port = '';
    }
    get username() { return rec(this).username; }
    set username(v) { const r = rec(this); if (r.host) r.username = encodeSet(String(v), USERINFO); }
    get password() { return rec(this).password; }
    set password(v) { const r = rec(this); if (r.host) r.password = encodeSet(String(v), USERINFO); }
    get host() { const r = rec(this); return r.host === null ? '' : r.host + (r.port !== '' ? ':' + r.port : ''); }
    set host(v) {
      const r = rec(this);
      if (r.opaque !== null) return;
      const probe = { scheme: r.scheme, username: r.username, password: r.password };
      try { parseAuthority(probe, String(v), v); } catch (e) { return; }
      r.host = probe.host; r.port = probe.port;
    }
    get hostname() { const r = rec(this); return r.host === null ? '' : r.host; }
    set hostname(v) {
      const r = rec(this);
      if (r.opaque !== null) return;
      try { r.host = parseHost(String(v), isSpecial(r.scheme), v); } catch (e) { /* ignored, as WHATWG setters do */ }
    }
    get port() { return rec(this).port; }
    set port(v) {
      const r = rec(this);
      if (!r.host || r.scheme === 'file:') return;
      const m = /^[0-9]*/.exec(String(v))[0];
      if (String(v) === '') { r.port = ''; return; }
      if (m === '' || +m > 65535) return;
      r.port = isSpecial(r.scheme) && SPECIAL[r.scheme] === String(+m) ? '' : String(+m);
    }
    get pathname() { return pathOf(rec(this)); }
    set pathname(v) {
      const r = rec(this);
      if (r.opaque !== null) return;
      const segments = [];
      const special = isSpecial(r.scheme);
      pushPath(segments, String(v).replace(special ? /^[/\\]/ : /^\//, ''), special);
      r.path = segments;
    }
    get search() { const r = rec(this); return r.query === null || r.query === '' ? '' : '?' + r.query; }
    set search(v) {
      const r = rec(this);
      const s = String(v);
      setQuery(r, s === '' ? null : s.startsWith('?') ? s.slice(1) : s);
      refreshParams(r);
    }
    get searchParams() { return rec(this).params; }
    get hash() { const r = rec(this); return r.fragment === null || r.fragment === '' ? '' : '#' + r.fragment; }
    set hash(v) {
      const r = rec(this);
      const s = String(v);
      r.fragment = s === '' ? null : encodeSet(s.startsWith('#') ? s.slice(1) : s, FRAGMENT);
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
    get [Symbol.toStringTag]() { return 'URL'; }
  }

  lib.URL = URL;
  lib.URLSearchParams = URLSearchParams;
})
