// returns: {"auth":"Basic YXBwSUQ6YXBwS2V5","decoded":"appID:appKey","length":6,"shared":"hA�llo","view":[2,true],"concat":{"type":"Buffer","data":[97,98,99,100,0,0]},"concatLen":"abcdef","alloc":["000000","ababa",[1,1]],"byteLength":[6,4,3,2,7],"isBuffer":[true,false,false,false],"ranges":["A�","6841a96c6c6f",""],"indexed":[97,66,null,3,"aBc"],"equals":[true,false],"json":"{\"b\":{\"type\":\"Buffer\",\"data\":[104,105]}}","fromJson":"hi","kinds":[true,true,true,"function"],"copyOfBuffer":["x","A"]}
// Buffer as Kii's Node runtime had it; the expected value is what Node 20 returns for the same
// code.
function main(params, context) {
  var auth = "Basic " + new Buffer("appID:appKey").toString("base64");
  var b = Buffer.from("héllo");
  var view = b.slice(1, 3);
  view[0] = 0x41;
  var c = Buffer.concat([Buffer.from("ab"), Buffer.from([0x63, 0x64]), new Buffer(2)]);
  var idx = Buffer.from("abc");
  idx[1] = 0x42;
  idx[9] = 1;
  return {
    auth: auth,
    decoded: Buffer.from(auth.slice(6), "base64").toString(),
    length: b.length,
    shared: b.toString(),
    view: [view.length, Buffer.isBuffer(view)],
    concat: c.toJSON(),
    concatLen: Buffer.concat([Buffer.from("abcd"), Buffer.from("efgh")], 6).toString(),
    alloc: [Buffer.alloc(3).toString("hex"), Buffer.alloc(5, "ab").toString(), Buffer.alloc(2, 257).toJSON().data],
    byteLength: [Buffer.byteLength("héllo"), Buffer.byteLength("😀"), Buffer.byteLength("abcd", "base64"),
      Buffer.byteLength("abcd", "hex"), Buffer.byteLength(Buffer.alloc(7))],
    isBuffer: [Buffer.isBuffer(b), Buffer.isBuffer(new Uint8Array(1)), Buffer.isBuffer("x"), Buffer.isBuffer(null)],
    ranges: [b.toString("utf8", 1, 3), b.toString("hex", -1, 100), b.toString(undefined, 3, 1)],
    indexed: [idx[0], idx[1], idx[9], idx.length, idx.toString()],
    equals: [Buffer.from("a").equals(Buffer.from("a")), Buffer.from("a").equals(Buffer.from("b"))],
    json: JSON.stringify({ b: Buffer.from("hi") }),
    fromJson: Buffer.from({ type: "Buffer", data: [104, 105] }).toString(),
    kinds: [b instanceof Uint8Array, b instanceof Buffer, b.constructor === Buffer, typeof Buffer],
    copyOfBuffer: (function () { var a = Buffer.from("x"); var d = Buffer.from(a); d[0] = 65; return [a.toString(), d.toString()]; })(),
  };
}
