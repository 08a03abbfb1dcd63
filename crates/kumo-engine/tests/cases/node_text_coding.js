// returns: {"encoding":["utf-8","utf-8",true,false],"bytes":[104,226,130,172,240,159,152,128,239,191,189],"empty":0,"into":[2,4,[97,226,130,172]],"decoded":"h€😀�","bom":["A",2],"invalid":"A�B�A","fromBuffer":"wörld","fromArrayBuffer":"ab","nothing":"","errors":["TypeError","RangeError"]}
// TextEncoder/TextDecoder (utf-8); the expected value is Node 20's.
function main(params, context) {
  var enc = new TextEncoder();
  var bytes = enc.encode("h€😀\ud800");
  var dest = new Uint8Array(4);
  var into = enc.encodeInto("a€b", dest);
  var dec = new TextDecoder();
  var fatal = new TextDecoder("UTF-8", { fatal: true });
  var errors = [];
  try { fatal.decode(new Uint8Array([0xff])); } catch (e) { errors.push(e.name); }
  try { new TextDecoder("klingon"); } catch (e) { errors.push(e.name); }
  return {
    encoding: [enc.encoding, dec.encoding, fatal.fatal, dec.ignoreBOM],
    bytes: Array.from(bytes),
    empty: enc.encode().length,
    into: [into.read, into.written, Array.from(dest)],
    decoded: dec.decode(bytes),
    bom: [dec.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), new TextDecoder("utf8", { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])).length],
    invalid: dec.decode(new Uint8Array([0x41, 0xc3, 0x42, 0xf0, 0x9f, 0x41])),
    fromBuffer: dec.decode(Buffer.from("wörld")),
    fromArrayBuffer: dec.decode(enc.encode("ab").buffer),
    nothing: dec.decode(),
    errors: errors,
  };
}
