// Node's globals in the sandbox, part `buffer`: Node's `Buffer`, a Uint8Array subclass as on
// Node, with the encodings Kii-era code used (Kii's tutorials build Basic-auth headers with
// `new Buffer(…).toString('base64')`). Pure computation: nothing here reaches the host.
(function (lib) {
  'use strict';

  const text = lib.need('text');

  // Node's own limit on one buffer; anything larger is a RangeError before any allocation.
  // Below it, the run's memory limit still applies (and ends the run cleanly).
  const MAX_LENGTH = 0x100000000;

  class FastBuffer extends Uint8Array {}

  function rangeError(name, value) {
    const e = new RangeError('The value of "' + name + '" is out of range. It must be >= 0 && <= ' +
      MAX_LENGTH + '. Received ' + received(value));
    e.code = 'ERR_OUT_OF_RANGE';
    return e;
  }
  // Node writes large integers with separators (1_000_000_000_000).
  function received(value) {
    const s = String(value);
    if (!Number.isInteger(value) || Math.abs(value) <= MAX_LENGTH) return s;
    let out = '';
    let i = s.length;
    for (; i > (s[0] === '-' ? 4 : 3); i -= 3) out = '_' + s.slice(i - 3, i) + out;
    return s.slice(0, i) + out;
  }
  function typeError(message, code) {
    const e = new TypeError(message);
    e.code = code || 'ERR_INVALID_ARG_TYPE';
    return e;
  }
  function checkSize(size) {
    if (typeof size !== 'number') throw typeError('The "size" argument must be of type number. Received ' + describe(size));
    if (!(size >= 0 && size <= MAX_LENGTH)) throw rangeError('size', size);
    return Math.floor(size);
  }
  function describe(v) {
    if (v === null) return 'null';
    if (typeof v === 'string') return "type string ('" + (v.length > 25 ? v.slice(0, 25) + '...' : v) + "')";
    if (typeof v === 'object' || typeof v === 'function') return 'an instance of ' + ((v.constructor && v.constructor.name) || 'Object');
    return 'type ' + typeof v + ' (' + String(v) + ')';
  }

  function normalizeEncoding(enc) {
    if (enc === undefined || enc === null || enc === '') return 'utf8';
    switch (String(enc).toLowerCase()) {
      case 'utf8': case 'utf-8': return 'utf8';
      case 'hex': return 'hex';
      case 'base64': return 'base64';
      case 'base64url': return 'base64url';
      case 'latin1': case 'binary': return 'latin1';
      case 'ascii': return 'ascii';
      case 'ucs2': case 'ucs-2': case 'utf16le': case 'utf-16le': return 'utf16le';
      default: {
        const e = typeError('Unknown encoding: ' + enc, 'ERR_UNKNOWN_ENCODING');
        throw e;
      }
    }
  }

  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const B64_VALUE = new Int8Array(128).fill(-1);
  for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;
  B64_VALUE['-'.charCodeAt(0)] = 62;
  B64_VALUE['_'.charCodeAt(0)] = 63;

  // As Node: both alphabets, characters outside them skipped, decoding stops at the first '='.
  function fromBase64(s) {
    let sextets = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 61) break;
      if (c < 128 && B64_VALUE[c] >= 0) sextets++;
    }
    const out = new FastBuffer(Math.floor(sextets * 3 / 4));
    let acc = 0, bits = 0, o = 0;
    for (let i = 0; i < s.length && o < out.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 61) break;
      const v = c < 128 ? B64_VALUE[c] : -1;
      if (v < 0) continue;
      acc = (acc << 6) | v; bits += 6;
      if (bits >= 8) { bits -= 8; out[o++] = (acc >> bits) & 0xff; }
    }
    return out;
  }
  function toBase64(bytes, start, end, alphabet, pad) {
    const parts = [];
    let chunk = '';
    let i = start;
    for (; i + 2 < end; i += 3) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      chunk += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
      if (chunk.length >= 8192) { parts.push(chunk); chunk = ''; }
    }
    if (end - i === 1) {
      const n = bytes[i] << 16;
      chunk += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + (pad ? '==' : '');
    } else if (end - i === 2) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
      chunk += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + (pad ? '=' : '');
    }
    parts.push(chunk);
    return parts.join('');
  }

  function hexValue(c) {
    if (c >= 48 && c <= 57) return c - 48;
    if (c >= 97 && c <= 102) return c - 87;
    if (c >= 65 && c <= 70) return c - 55;
    return -1;
  }
  // As Node: decoding stops at the first pair that is not hex.
  function fromHex(s) {
    const out = new FastBuffer(s.length >>> 1);
    let o = 0;
    for (; o < out.length; o++) {
      const hi = hexValue(s.charCodeAt(2 * o)), lo = hexValue(s.charCodeAt(2 * o + 1));
      if (hi < 0 || lo < 0) break;
      out[o] = (hi << 4) | lo;
    }
    return o === out.length ? out : out.subarray(0, o);
  }
  const HEX = '0123456789abcdef';
  function toHex(bytes, start, end) {
    const parts = [];
    let chunk = '';
    for (let i = start; i < end; i++) {
      chunk += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
      if (chunk.length >= 8192) { parts.push(chunk); chunk = ''; }
    }
    parts.push(chunk);
    return parts.join('');
  }

  function fromLatin1(s) {
    const out = new FastBuffer(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
    return out;
  }
  function fromUtf16le(s) {
    const out = new FastBuffer(s.length * 2);
    for (let i = 0; i < s.length; i++) { const c = s.charCodeAt(i); out[2 * i] = c & 0xff; out[2 * i + 1] = c >> 8; }
    return out;
  }
  // Byte values as code units, a chunk at a time (see text.js).
  function toCodeUnits(bytes, start, end, mask) {
    const parts = [];
    const CHUNK = 1024;
    for (let i = start; i < end; i += CHUNK) {
      let units = bytes.subarray(i, Math.min(end, i + CHUNK));
      if (mask !== 0xff) units = units.map((b) => b & mask);
      parts.push(String.fromCharCode.apply(null, units));
    }
    return parts.join('');
  }
  function toUtf16le(bytes, start, end) {
    const parts = [];
    const units = [];
    for (let i = start; i + 1 < end; i += 2) {
      units.push(bytes[i] | (bytes[i + 1] << 8));
      if (units.length >= 1024) { parts.push(String.fromCharCode.apply(null, units)); units.length = 0; }
    }
    parts.push(String.fromCharCode.apply(null, units));
    return parts.join('');
  }

  function fromString(s, encoding) {
    switch (normalizeEncoding(encoding)) {
      case 'utf8': {
        const out = new FastBuffer(checkLength(text.utf8Length(s)));
        text.utf8Write(s, out, 0);
        return out;
      }
      case 'hex': return fromHex(s);
      case 'base64': case 'base64url': return fromBase64(s);
      case 'latin1': case 'ascii': return fromLatin1(s);
      case 'utf16le': return fromUtf16le(s);
    }
  }
  function checkLength(n) {
    if (n > MAX_LENGTH) throw rangeError('length', n);
    return n;
  }

  function fromArrayLike(a) {
    const n = a.length >>> 0;
    const out = new FastBuffer(checkLength(n));
    for (let i = 0; i < n; i++) out[i] = a[i];
    return out;
  }

  function from(value, encodingOrOffset, length) {
    if (typeof value === 'string') return fromString(value, encodingOrOffset);
    if (value instanceof ArrayBuffer) {
      const offset = encodingOrOffset === undefined ? 0 : +encodingOrOffset;
      if (!(offset >= 0 && offset <= value.byteLength)) throw rangeError('offset', offset);
      const len = length === undefined ? value.byteLength - offset : +length;
      if (!(len >= 0 && offset + len <= value.byteLength)) throw rangeError('length', len);
      return new FastBuffer(value, offset, len);
    }
    if (ArrayBuffer.isView(value)) {
      const out = new FastBuffer(value.length);
      for (let i = 0; i < value.length; i++) out[i] = value[i];
      return out;
    }
    if (value !== null && typeof value === 'object') {
      if (typeof value.length === 'number') return fromArrayLike(value);
      if (value.type === 'Buffer' && Array.isArray(value.data)) return fromArrayLike(value.data);
    }
    throw typeError('The first argument must be of type string or an instance of Buffer, ArrayBuffer, or ' +
      'Array or an Array-like Object. Received ' + describe(value));
  }

  function fill(buf, value, encoding) {
    if (typeof value === 'number') { Uint8Array.prototype.fill.call(buf, value & 255); return buf; }
    const bytes = typeof value === 'string' ? fromString(value, encoding) : from(value);
    if (bytes.length === 0) {
      if (typeof value === 'string' && value.length === 0) { Uint8Array.prototype.fill.call(buf, 0); return buf; }
      throw typeError('The argument \'value\' is invalid. Received ' + describe(value), 'ERR_INVALID_ARG_VALUE');
    }
    for (let i = 0; i < buf.length; i++) buf[i] = bytes[i % bytes.length];
    return buf;
  }

  // Callable with and without `new`, as on Node (where the call form is deprecated, but Kii's
  // tutorials use it).
  function Buffer(arg, encodingOrOffset, length) {
    if (typeof arg === 'number') return new FastBuffer(checkSize(arg));
    return from(arg, encodingOrOffset, length);
  }
  FastBuffer.prototype.constructor = Buffer;
  Buffer.prototype = FastBuffer.prototype;
  Object.setPrototypeOf(Buffer, Uint8Array);

  Buffer.from = from;
  Buffer.alloc = function alloc(size, value, encoding) {
    const buf = new FastBuffer(checkSize(size));
    return value === undefined || value === 0 ? buf : fill(buf, value, encoding);
  };
  Buffer.allocUnsafe = function allocUnsafe(size) { return new FastBuffer(checkSize(size)); };
  Buffer.allocUnsafeSlow = Buffer.allocUnsafe;
  Buffer.isBuffer = function isBuffer(b) { return b instanceof Buffer; };
  Buffer.isEncoding = function isEncoding(enc) {
    if (typeof enc !== 'string' || enc === '') return false;
    try { normalizeEncoding(enc); return true; } catch (e) { return false; }
  };
  Buffer.byteLength = function byteLength(value, encoding) {
    if (typeof value !== 'string') {
      if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.byteLength;
      throw typeError('The "string" argument must be of type string or an instance of Buffer or ArrayBuffer. Received ' + describe(value));
    }
    switch (normalizeEncoding(encoding)) {
      case 'utf8': return text.utf8Length(value);
      case 'hex': return value.length >>> 1;
      case 'base64': case 'base64url': {
        let n = value.length;
        if (n > 0 && value.charCodeAt(n - 1) === 61) n--;
        if (n > 1 && value.charCodeAt(n - 1) === 61) n--;
        return (n * 3) >>> 2;
      }
      case 'latin1': case 'ascii': return value.length;
      case 'utf16le': return value.length * 2;
    }
  };
  Buffer.concat = function concat(list, totalLength) {
    if (!Array.isArray(list)) throw typeError('The "list" argument must be an instance of Array. Received ' + describe(list));
    let total = 0;
    for (let i = 0; i < list.length; i++) {
      if (!(list[i] instanceof Uint8Array)) throw typeError('The "list[' + i + ']" argument must be an instance of Buffer or Uint8Array. Received ' + describe(list[i]));
      total += list[i].length;
    }
    if (totalLength !== undefined) total = checkSize(totalLength);
    const out = new FastBuffer(checkSize(total));
    let at = 0;
    for (let i = 0; i < list.length && at < total; i++) {
      const part = list[i].length <= total - at ? list[i] : list[i].subarray(0, total - at);
      out.set(part, at);
      at += part.length;
    }
    return out;
  };
  Buffer.compare = function compare(a, b) { return compareBytes(a, b); };
  Buffer.poolSize = 8192;

  function compareBytes(a, b) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) throw typeError('The arguments must be instances of Buffer or Uint8Array');
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }

  // Node's rule for start/end arguments: clamped into [0, length].
  function clamp(v, dflt, len) {
    if (v === undefined) return dflt;
    let n = Math.trunc(+v);
    if (Number.isNaN(n)) n = 0;
    return n < 0 ? 0 : n > len ? len : n;
  }

  const proto = Buffer.prototype;
  proto.toString = function toString(encoding, start, end) {
    const len = this.length;
    const s = clamp(start, 0, len);
    const e = clamp(end, len, len);
    if (e <= s) return '';
    switch (normalizeEncoding(encoding)) {
      case 'utf8': return text.utf8Decode(this, s, e, false);
      case 'hex': return toHex(this, s, e);
      case 'base64': return toBase64(this, s, e, B64, true);
      case 'base64url': return toBase64(this, s, e, B64URL, false);
      case 'latin1': return toCodeUnits(this, s, e, 0xff);
      case 'ascii': return toCodeUnits(this, s, e, 0x7f);
      case 'utf16le': return toUtf16le(this, s, e);
    }
  };
  proto.toLocaleString = proto.toString;
  // A view of the same memory, as on Node (not a copy, unlike Uint8Array#slice).
  proto.slice = function slice(start, end) { return this.subarray(start, end); };
  proto.equals = function equals(other) {
    if (!(other instanceof Uint8Array)) throw typeError('The "otherBuffer" argument must be an instance of Buffer or Uint8Array. Received ' + describe(other));
    return compareBytes(this, other) === 0;
  };
  proto.compare = function compare(other) { return compareBytes(this, other); };
  proto.toJSON = function toJSON() { return { type: 'Buffer', data: Array.from(this) }; };
  proto.write = function write(string, offset, length, encoding) {
    if (typeof offset === 'string') { encoding = offset; offset = 0; length = undefined; }
    else if (typeof length === 'string') { encoding = length; length = undefined; }
    const at = clamp(offset, 0, this.length);
    const room = Math.min(this.length - at, length === undefined ? Infinity : clamp(length, 0, this.length));
    const bytes = fromString(String(string), encoding);
    const n = Math.min(room, bytes.length);
    this.set(bytes.subarray(0, n), at);
    return n;
  };
  proto.fill = function (value, offset, end, encoding) {
    if (typeof offset === 'string') { encoding = offset; offset = undefined; end = undefined; }
    const s = clamp(offset, 0, this.length), e = clamp(end, this.length, this.length);
    fill(this.subarray(s, e), value, encoding);
    return this;
  };
  proto.copy = function copy(target, targetStart, sourceStart, sourceEnd) {
    const ts = clamp(targetStart, 0, target.length);
    const ss = clamp(sourceStart, 0, this.length), se = clamp(sourceEnd, this.length, this.length);
    const n = Math.max(0, Math.min(se - ss, target.length - ts));
    target.set(this.subarray(ss, ss + n), ts);
    return n;
  };
  // Reading and writing numbers, as Node: the offset must be an integer inside the buffer,
  // values are range-checked for the width, and the error codes and messages are Node's.
  function outOfBounds() {
    const e = new RangeError('Attempt to access memory outside buffer bounds');
    e.code = 'ERR_BUFFER_OUT_OF_BOUNDS';
    return e;
  }
  function outOfRange(name, range, value) {
    const e = new RangeError('The value of "' + name + '" is out of range. It must be ' + range + '. Received ' + received(value));
    e.code = 'ERR_OUT_OF_RANGE';
    return e;
  }
  function checkOffset(buf, offset, size) {
    const o = offset === undefined ? 0 : offset;
    if (typeof o !== 'number') throw typeError('The "offset" argument must be of type number. Received ' + describe(o));
    if (o !== Math.floor(o)) throw outOfRange('offset', 'an integer', o);
    if (buf.length < size) throw outOfBounds();
    if (o < 0 || o + size > buf.length) throw outOfRange('offset', '>= 0 and <= ' + (buf.length - size), o);
    return o;
  }
  function checkByteLength(n) {
    if (typeof n !== 'number') throw typeError('The "byteLength" argument must be of type number. Received ' + describe(n));
    if (n !== Math.floor(n) || n < 1 || n > 6) throw outOfRange('byteLength', n !== Math.floor(n) ? 'an integer' : '>= 1 and <= 6', n);
    return n;
  }
  function readUnsigned(buf, o, size, le) {
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + buf[o + (le ? size - 1 - i : i)];
    return v;
  }
  function readSigned(buf, o, size, le) {
    const v = readUnsigned(buf, o, size, le);
    const limit = Math.pow(2, 8 * size - 1);
    return v >= limit ? v - 2 * limit : v;
  }
  function writeInteger(buf, value, offset, size, le, signed) {
    const v = +value;
    const bits = 8 * size;
    const min = signed ? -Math.pow(2, bits - 1) : 0;
    const max = signed ? Math.pow(2, bits - 1) - 1 : Math.pow(2, bits) - 1;
    if (v > max || v < min) {
      // Node names widths above 32 bits by their power of two.
      const range = bits > 32
        ? (signed ? '>= -(2 ** ' + (bits - 1) + ') and < 2 ** ' + (bits - 1) : '>= 0 and < 2 ** ' + bits)
        : '>= ' + min + ' and <= ' + max;
      throw outOfRange('value', range, value);
    }
    const o = checkOffset(buf, offset, size);
    let n = Math.trunc(v) || 0;
    if (n < 0) n += Math.pow(2, bits);
    for (let i = 0; i < size; i++) {
      buf[o + (le ? i : size - 1 - i)] = n % 256;
      n = Math.floor(n / 256);
    }
    return o + size;
  }
  function view(buf) { return new DataView(buf.buffer, buf.byteOffset, buf.byteLength); }

  const WIDTHS = { 8: 1, 16: 2, 32: 4 };
  Object.keys(WIDTHS).forEach((bits) => {
    const size = WIDTHS[bits];
    const ends = size === 1 ? [['', false]] : [['LE', true], ['BE', false]];
    ends.forEach(([suffix, le]) => {
      const u = 'UInt' + bits + suffix, i = 'Int' + bits + suffix;
      proto['read' + u] = function (offset) { return readUnsigned(this, checkOffset(this, offset, size), size, le); };
      proto['read' + i] = function (offset) { return readSigned(this, checkOffset(this, offset, size), size, le); };
      proto['write' + u] = function (value, offset) { return writeInteger(this, value, offset, size, le, false); };
      proto['write' + i] = function (value, offset) { return writeInteger(this, value, offset, size, le, true); };
      proto['readUint' + bits + suffix] = proto['read' + u];
      proto['writeUint' + bits + suffix] = proto['write' + u];
    });
  });
  [['LE', true], ['BE', false]].forEach(([suffix, le]) => {
    proto['readUInt' + suffix] = function (offset, byteLength) {
      const n = checkByteLength(byteLength);
      return readUnsigned(this, checkOffset(this, offset, n), n, le);
    };
    proto['readInt' + suffix] = function (offset, byteLength) {
      const n = checkByteLength(byteLength);
      return readSigned(this, checkOffset(this, offset, n), n, le);
    };
    proto['writeUInt' + suffix] = function (value, offset, byteLength) {
      return writeInteger(this, value, offset, checkByteLength(byteLength), le, false);
    };
    proto['writeInt' + suffix] = function (value, offset, byteLength) {
      return writeInteger(this, value, offset, checkByteLength(byteLength), le, true);
    };
    proto['readUint' + suffix] = proto['readUInt' + suffix];
    proto['writeUint' + suffix] = proto['writeUInt' + suffix];
    proto['readFloat' + suffix] = function (offset) { return view(this).getFloat32(checkOffset(this, offset, 4), le); };
    proto['readDouble' + suffix] = function (offset) { return view(this).getFloat64(checkOffset(this, offset, 8), le); };
    proto['writeFloat' + suffix] = function (value, offset) {
      const o = checkOffset(this, offset, 4);
      view(this).setFloat32(o, +value, le);
      return o + 4;
    };
    proto['writeDouble' + suffix] = function (value, offset) {
      const o = checkOffset(this, offset, 8);
      view(this).setFloat64(o, +value, le);
      return o + 8;
    };
    proto['readBigUInt64' + suffix] = function (offset) { return view(this).getBigUint64(checkOffset(this, offset, 8), le); };
    proto['readBigInt64' + suffix] = function (offset) { return view(this).getBigInt64(checkOffset(this, offset, 8), le); };
    proto['writeBigUInt64' + suffix] = function (value, offset) {
      if (typeof value !== 'bigint') throw new TypeError('Cannot mix BigInt and other types, use explicit conversions');
      if (value < 0n || value >= (1n << 64n)) throw outOfRange('value', '>= 0n and < 2n ** 64n', String(value) + 'n');
      const o = checkOffset(this, offset, 8);
      view(this).setBigUint64(o, value, le);
      return o + 8;
    };
    proto['writeBigInt64' + suffix] = function (value, offset) {
      if (typeof value !== 'bigint') throw new TypeError('Cannot mix BigInt and other types, use explicit conversions');
      if (value < -(1n << 63n) || value >= (1n << 63n)) throw outOfRange('value', '>= -(2n ** 63n) and < 2n ** 63n', String(value) + 'n');
      const o = checkOffset(this, offset, 8);
      view(this).setBigInt64(o, value, le);
      return o + 8;
    };
    proto['readBigUint64' + suffix] = proto['readBigUInt64' + suffix];
    proto['writeBigUint64' + suffix] = proto['writeBigUInt64' + suffix];
  });

  function swapper(size) {
    return function () {
      if (this.length % size !== 0) {
        const e = new RangeError('Buffer size must be a multiple of ' + (8 * size) + '-bits');
        e.code = 'ERR_INVALID_BUFFER_SIZE';
        throw e;
      }
      for (let i = 0; i < this.length; i += size) {
        for (let a = i, b = i + size - 1; a < b; a++, b--) { const t = this[a]; this[a] = this[b]; this[b] = t; }
      }
      return this;
    };
  }
  proto.swap16 = swapper(2);
  proto.swap32 = swapper(4);
  proto.swap64 = swapper(8);

  // indexOf / lastIndexOf / includes: a byte (number & 255), a string in an encoding, or bytes.
  function needleOf(value, encoding) {
    if (typeof value === 'number') return value;
    if (typeof value === 'string') return fromString(value, encoding);
    if (value instanceof Uint8Array) return value;
    throw typeError('The "value" argument must be one of type number or string or an instance of Buffer or Uint8Array. Received ' + describe(value));
  }
  function search(buf, value, byteOffset, encoding, last) {
    if (typeof byteOffset === 'string') { encoding = byteOffset; byteOffset = undefined; }
    const needle = needleOf(value, encoding);
    const len = buf.length;
    let from = byteOffset === undefined || byteOffset === null ? (last ? len : 0) : +byteOffset;
    if (Number.isNaN(from)) from = last ? len : 0;
    from = Math.trunc(from);
    if (from < 0) from += len;
    if (typeof needle === 'number') {
      const b = needle & 255;
      if (last) {
        for (let i = Math.min(from, len - 1); i >= 0; i--) if (buf[i] === b) return i;
      } else {
        for (let i = Math.max(from, 0); i < len; i++) if (buf[i] === b) return i;
      }
      return -1;
    }
    const n = needle.length;
    if (n === 0) return last ? Math.min(Math.max(from, 0), len) : (from < 0 ? 0 : Math.min(from, len));
    const matches = (at) => {
      for (let j = 0; j < n; j++) if (buf[at + j] !== needle[j]) return false;
      return true;
    };
    if (last) {
      for (let i = Math.min(from, len - n); i >= 0; i--) if (matches(i)) return i;
    } else {
      for (let i = Math.max(from, 0); i + n <= len; i++) if (matches(i)) return i;
    }
    return -1;
  }
  proto.indexOf = function indexOf(value, byteOffset, encoding) { return search(this, value, byteOffset, encoding, false); };
  proto.lastIndexOf = function lastIndexOf(value, byteOffset, encoding) { return search(this, value, byteOffset, encoding, true); };
  proto.includes = function includes(value, byteOffset, encoding) { return search(this, value, byteOffset, encoding, false) !== -1; };
  Object.defineProperty(proto, 'parent', { get() { return this.buffer; }, configurable: true });

  lib.Buffer = Buffer;
})
