// Node's globals in the sandbox, part `text`: UTF-8 coding shared by `buffer`, and the WHATWG
// TextEncoder/TextDecoder (decoding utf-8, utf-16le and windows-1252 with their WHATWG labels).
// Pure computation: nothing here reaches the host.
(function (lib) {
  'use strict';

  // The UTF-8 length of a string, lone surrogates counting as U+FFFD (3 bytes), so the output
  // can be allocated once: its size is bounded by 3 × the string's length.
  function utf8Length(s) {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 4; i++; }
      else n += 3;
    }
    return n;
  }

  // Writes `s` as UTF-8 into `out` from `at`, stopping before a character that does not fit
  // whole; returns [characters read (UTF-16 units), bytes written].
  function utf8Write(s, out, at) {
    let o = at;
    const end = out.length;
    let i = 0;
    for (; i < s.length; i++) {
      let c = s.charCodeAt(i);
      let units = 1;
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && (next & 0xfc00) === 0xdc00) { c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00); units = 2; }
        else c = 0xfffd;
      }
      if (c < 0x80) {
        if (o + 1 > end) break;
        out[o++] = c;
      } else if (c < 0x800) {
        if (o + 2 > end) break;
        out[o++] = 0xc0 | (c >> 6); out[o++] = 0x80 | (c & 63);
      } else if (c < 0x10000) {
        if (o + 3 > end) break;
        out[o++] = 0xe0 | (c >> 12); out[o++] = 0x80 | ((c >> 6) & 63); out[o++] = 0x80 | (c & 63);
      } else {
        if (o + 4 > end) break;
        out[o++] = 0xf0 | (c >> 18); out[o++] = 0x80 | ((c >> 12) & 63);
        out[o++] = 0x80 | ((c >> 6) & 63); out[o++] = 0x80 | (c & 63);
      }
      i += units - 1;
    }
    return [i, o - at];
  }

  function utf8Encode(s) {
    const out = new Uint8Array(utf8Length(s));
    utf8Write(s, out, 0);
    return out;
  }

  // Code units are gathered in a fixed chunk and turned into strings a chunk at a time: a
  // spread or apply over the whole input would need a stack frame as large as the input.
  const CHUNK = 1024;
  function unitsToString(units, count, parts) {
    parts.push(String.fromCharCode.apply(null, count === units.length ? units : units.subarray(0, count)));
  }

  // WHATWG UTF-8 decoding: each maximal invalid subsequence becomes one U+FFFD (as Node and
  // browsers do); with `fatal`, the first one throws instead.
  function utf8Decode(bytes, start, end, fatal) {
    const parts = [];
    const units = new Uint16Array(CHUNK + 2);
    let n = 0;
    let i = start;
    const bad = () => {
      if (fatal) throw invalidData('utf-8');
      units[n++] = 0xfffd;
    };
    while (i < end) {
      const b = bytes[i];
      if (b < 0x80) { units[n++] = b; i++; }
      else {
        let need = 0, cp = 0, lower = 0x80, upper = 0xbf;
        if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
        else if (b >= 0xe0 && b <= 0xef) {
          need = 2; cp = b & 0x0f;
          if (b === 0xe0) lower = 0xa0; else if (b === 0xed) upper = 0x9f;
        } else if (b >= 0xf0 && b <= 0xf4) {
          need = 3; cp = b & 0x07;
          if (b === 0xf0) lower = 0x90; else if (b === 0xf4) upper = 0x8f;
        }
        if (need === 0) { bad(); i++; }
        else {
          let j = i + 1, ok = true;
          for (let k = 0; k < need; k++, j++) {
            const c = j < end ? bytes[j] : -1;
            if (c < lower || c > upper) { ok = false; break; }
            lower = 0x80; upper = 0xbf;
            cp = (cp << 6) | (c & 0x3f);
          }
          if (!ok) { bad(); i = j; }
          else {
            if (cp >= 0x10000) { cp -= 0x10000; units[n++] = 0xd800 + (cp >> 10); units[n++] = 0xdc00 + (cp & 0x3ff); }
            else units[n++] = cp;
            i = j;
          }
        }
      }
      if (n >= CHUNK) { unitsToString(units, n, parts); n = 0; }
    }
    if (n > 0) unitsToString(units, n, parts);
    return parts.join('');
  }

  function invalidData(encoding) {
    const e = new TypeError('The encoded data was not valid for encoding ' + encoding);
    e.code = 'ERR_ENCODING_INVALID_ENCODED_DATA';
    return e;
  }

  // WHATWG labels of the encodings offered, by their canonical name.
  const LABELS = {};
  [
    ['utf-8', 'unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8'],
    ['utf-16le', 'csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le'],
    ['windows-1252', 'ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 ' +
      'iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252'],
  ].forEach(([name, labels]) => labels.split(' ').forEach((l) => { LABELS[l] = name; }));
  function encodingOf(label) {
    const name = LABELS[String(label).trim().toLowerCase()];
    if (!name) {
      const e = new RangeError('The "' + label + '" encoding is not supported');
      e.code = 'ERR_ENCODING_NOT_SUPPORTED';
      throw e;
    }
    return name;
  }

  // UTF-16LE: a lone surrogate or an odd trailing byte is one U+FFFD, or throws with `fatal`.
  function utf16leDecode(bytes, start, end, fatal) {
    const parts = [];
    const units = new Uint16Array(CHUNK + 2);
    let n = 0;
    const bad = () => {
      if (fatal) throw invalidData('utf-16le');
      units[n++] = 0xfffd;
    };
    let i = start;
    for (; i + 1 < end; i += 2) {
      const c = bytes[i] | (bytes[i + 1] << 8);
      if (c >= 0xd800 && c <= 0xdbff) {
        const next = i + 3 < end ? bytes[i + 2] | (bytes[i + 3] << 8) : -1;
        if (next >= 0xdc00 && next <= 0xdfff) { units[n++] = c; units[n++] = next; i += 2; } else bad();
      } else if (c >= 0xdc00 && c <= 0xdfff) bad();
      else units[n++] = c;
      if (n >= CHUNK) { unitsToString(units, n, parts); n = 0; }
    }
    if (i < end) bad();
    if (n > 0) unitsToString(units, n, parts);
    return parts.join('');
  }

  // As Node 20 decodes the windows-1252 labels: each byte is the code point of the same value
  // (ISO-8859-1; 0x80-0x9F stay C1 controls rather than WHATWG's table). Never invalid.
  function latin1Decode(bytes, start, end) {
    const parts = [];
    for (let i = start; i < end; i += CHUNK) {
      parts.push(String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + CHUNK))));
    }
    return parts.join('');
  }

  function bytesOf(input) {
    if (input === undefined) return new Uint8Array(0);
    if (input instanceof ArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw new TypeError('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView');
  }

  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input) { return utf8Encode(input === undefined ? '' : String(input)); }
    encodeInto(src, dest) {
      if (!(dest instanceof Uint8Array)) throw new TypeError('The "dest" argument must be an instance of Uint8Array');
      const [read, written] = utf8Write(String(src), dest, 0);
      return { read, written };
    }
  }

  const decoderState = new WeakMap();
  class TextDecoder {
    constructor(label, options) {
      const encoding = encodingOf(label === undefined ? 'utf-8' : label);
      const o = options == null ? {} : options;
      decoderState.set(this, { encoding, fatal: !!o.fatal, ignoreBOM: !!o.ignoreBOM });
    }
    get encoding() { return decoderState.get(this).encoding; }
    get fatal() { return decoderState.get(this).fatal; }
    get ignoreBOM() { return decoderState.get(this).ignoreBOM; }
    decode(input, options) {
      const state = decoderState.get(this);
      if (!state) throw new TypeError('Value of "this" must be of type TextDecoder');
      if (options && options.stream) throw new TypeError('streaming decode is not supported in Kumo');
      const bytes = bytesOf(input);
      let start = 0;
      if (state.encoding === 'utf-16le') {
        if (!state.ignoreBOM && bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) start = 2;
        return utf16leDecode(bytes, start, bytes.length, state.fatal);
      }
      if (state.encoding === 'windows-1252') return latin1Decode(bytes, 0, bytes.length);
      if (!state.ignoreBOM && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
      return utf8Decode(bytes, start, bytes.length, state.fatal);
    }
  }

  lib.utf8Length = utf8Length;
  lib.utf8Write = utf8Write;
  lib.utf8Encode = utf8Encode;
  lib.utf8Decode = utf8Decode;
  lib.TextEncoder = TextEncoder;
  lib.TextDecoder = TextDecoder;
})
