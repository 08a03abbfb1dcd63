//! Node's globals in deployed server code, over real HTTP on SQLite and PostgreSQL: Kii's
//! tutorial pattern (a Basic-auth header built with `new Buffer(…)`), data written through the
//! SDK from `Buffer`, `URL` and `TextEncoder` results and read back over REST, and hostile sizes
//! that end the run with its own error while the server keeps answering.

mod common;

use common::TestServer;
use serde_json::{json, Value};

on_both_backends!(
    buffer_and_url_results_are_stored,
    detached_sdk_methods_work_in_deployed_code,
    hostile_sizes_end_the_run_not_the_server,
    buffer_and_text_decoder_answer_as_node_does,
);

const CODE: &str = r#"
function basicAuth(params, context) {
  return 'Basic ' + new Buffer(params.id + ':' + params.secret).toString('base64');
}
async function store(params, context) {
  var u = new URL(params.url);
  var obj = context.getAppAdminContext().bucketWithName('parsed').createObject();
  obj.set('host', u.hostname);
  obj.set('q', u.searchParams.get('q'));
  obj.set('b64', Buffer.from(params.text).toString('base64'));
  obj.set('bytes', new TextEncoder().encode(params.text).length);
  await obj.save();
  return obj.getUUID();
}
function detached(params, context) {
  var target = context.getAppAdminContext().bucketWithName('parsed').createObject();
  var save = target.save;
  return save().then(function () { return (target.objectACL || target.acl)().listACLEntries(); })
    .then(function (r) { return r[1].length > 0; })
    .catch(function () { return 'caught'; });
}
function huge(params, context) {
  try { Buffer.alloc(1e12); } catch (e) { return [e.name, e.code]; }
}
function tooMuch(params, context) {
  return Buffer.alloc(200 * 1024 * 1024).length;
}
"#;

async fn run(s: &TestServer, endpoint: &str, body: Value) -> common::Reply {
    s.post(
        &format!("/apps/{{app}}/server-code/versions/current/{endpoint}"),
        None,
        body,
    )
    .await
}

async fn buffer_and_url_results_are_stored(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;

    let r = run(s, "basicAuth", json!({"id": "app", "secret": "s3cret"})).await;
    r.expect_status(200);
    assert_eq!(r.body, json!({"returnedValue": "Basic YXBwOnMzY3JldA=="}));

    let r = run(
        s,
        "store",
        json!({"url": "https://API.example.com/p?q=a+b", "text": "héllo"}),
    )
    .await;
    r.expect_status(200);
    let id = r.body["returnedValue"].as_str().expect("an object ID");
    let stored = s
        .get(
            &format!("/apps/{{app}}/buckets/parsed/objects/{id}"),
            Some(&admin),
        )
        .await;
    stored.expect_status(200);
    assert_eq!(stored.body["host"], "api.example.com");
    assert_eq!(stored.body["q"], "a b");
    assert_eq!(stored.body["b64"], "aMOpbGxv");
    assert_eq!(stored.body["bytes"], 6);
}

async fn detached_sdk_methods_work_in_deployed_code(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;
    let r = run(s, "detached", json!({})).await;
    r.expect_status(200);
    assert_eq!(r.body, json!({"returnedValue": true}));
}

async fn hostile_sizes_end_the_run_not_the_server(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, CODE).await;

    let r = run(s, "huge", json!({})).await;
    r.expect_status(200);
    assert_eq!(
        r.body,
        json!({"returnedValue": ["RangeError", "ERR_OUT_OF_RANGE"]})
    );

    let r = run(s, "tooMuch", json!({})).await;
    r.expect_error(400, "ENDPOINT_INVOCATION_ERROR");
    assert_eq!(r.body["details"]["errorCode"], "MEMORY_LIMIT_EXCEEDED");

    let r = run(s, "basicAuth", json!({"id": "a", "secret": "b"})).await;
    r.expect_status(200);
}

/// Buffer's number reads and writes, search, comparison, fill/copy, `toJSON`, `subarray`, the
/// latin1 / utf16le / base64url encodings and TextDecoder's other labels and `fatal`, each
/// case once in deployed code. A throw is `["threw", name, code, message]`.
const NODE_CASES: &str = r##"
function outcome(f) {
  try {
    return JSON.parse(JSON.stringify(f(), function (k, x) { return typeof x === 'bigint' ? String(x) + 'n' : x; }));
  } catch (e) { return ['threw', e.name, e.code === undefined ? null : e.code, e.message]; }
}
var CASES = [
  function () { return (function(){var b=Buffer.alloc(8);return [b.writeUInt16LE(0x1234,0), b.writeInt32BE(-2,2), b.toString("hex"), b.readInt16LE(0), b.readUInt32LE(2), b.readInt8(2), b.readUInt16BE(0), b.readInt32LE(2)]})(); },
  function () { return Buffer.alloc(8).writeUInt8(300,0); },
  function () { return Buffer.alloc(8).writeInt8(-200,0); },
  function () { return Buffer.alloc(8).writeUInt16LE(70000,0); },
  function () { return Buffer.alloc(8).writeInt16BE(40000); },
  function () { return Buffer.alloc(8).writeUInt32LE(2**32); },
  function () { return Buffer.alloc(8).writeInt32LE(2**31); },
  function () { return Buffer.alloc(8).writeUInt32BE(-1); },
  function () { return Buffer.alloc(8).writeUInt32LE(1,6); },
  function () { return Buffer.alloc(8).readUInt8(8); },
  function () { return Buffer.alloc(8).readUInt8("1"); },
  function () { return Buffer.alloc(8).readUInt8(1.5); },
  function () { return Buffer.alloc(2).readUInt32LE(0); },
  function () { return Buffer.alloc(8).readInt32LE(6); },
  function () { return Buffer.alloc(8).readInt32LE(-1); },
  function () { return (function(){var b=Buffer.alloc(8);b.writeUInt8(1.5);b.writeUInt8("7",1);return b.toJSON()})(); },
  function () { return (function(){var b=Buffer.alloc(8);return [b.writeFloatLE(2.5,0), b.readFloatLE(0), b.writeDoubleBE(1e300,0), b.readDoubleBE(0), b.writeFloatBE(1e300,4), b.readFloatBE(4), b.toString("hex")]})(); },
  function () { return (function(){var b=Buffer.alloc(8);b.writeDoubleLE(-0.1);return [b.toString("hex"), b.readDoubleLE(0)]})(); },
  function () { return (function(){var b=Buffer.alloc(8);return [b.writeUIntBE(0x123456,0,3), b.readUIntBE(0,3), b.readIntLE(0,3), b.writeIntLE(-5,2,6), b.toString('hex'), b.readIntLE(2,6), b.readUIntLE(2,6)]})(); },
  function () { return Buffer.alloc(8).readUIntBE(0,7); },
  function () { return Buffer.alloc(8).writeIntBE(2**40,0,5); },
  function () { return Buffer.alloc(8).writeUIntLE(-1,0,6); },
  function () { return (function(){var b=Buffer.alloc(8);return [b.writeBigInt64LE(-2n), b.readBigInt64LE(), b.readBigUInt64BE(), b.writeBigUInt64BE(2n**64n-1n), b.readBigUInt64LE(0)]})(); },
  function () { return Buffer.alloc(8).writeBigInt64LE(5); },
  function () { return Buffer.alloc(8).writeBigUInt64LE(-1n); },
  function () { return [Buffer.from("abcd").swap16().toString(), Buffer.from("abcd").swap32().toString(), Buffer.from("abcdefgh").swap64().toString()]; },
  function () { return Buffer.from("abc").swap16(); },
  function () { return (function(){var c=Buffer.from("hello world");return [c.indexOf("o"), c.indexOf("o",5), c.lastIndexOf("o"), c.includes("wor"), c.includes("war"), c.indexOf(111), c.indexOf(Buffer.from("ld")), c.indexOf("zz"), c.indexOf("o",-3), c.indexOf(""), c.indexOf("",20), c.indexOf("",-3), c.lastIndexOf(""), c.lastIndexOf("",3), c.lastIndexOf("o",5), c.lastIndexOf("o",-5), c.indexOf(111+256), c.indexOf("6f","hex"), c.includes("d",10), c.includes("d",11)]})(); },
  function () { return [Buffer.from("aXbXc").indexOf("X", "latin1"), Buffer.from("abc").indexOf(Buffer.alloc(0)), Buffer.from("abcabc").lastIndexOf("abc", 2), Buffer.from("abcabc").lastIndexOf("b", -3), Buffer.from("abcabc").indexOf(new Uint8Array([99,97]))]; },
  function () { return Buffer.from("abc").indexOf({}); },
  function () { return [Buffer.from("abc").equals(Buffer.from("abc")), Buffer.from("abc").equals(new Uint8Array([97,98])), Buffer.compare(Buffer.from("a"), Buffer.from("b")), Buffer.from("b").compare(Buffer.from("a")), Buffer.from("ab").compare(Buffer.from("abc"))]; },
  function () { return Buffer.from("abc").equals("abc"); },
  function () { return (function(){var b=Buffer.alloc(6);b.fill("ab");var c=Buffer.alloc(4).fill(0x101);var d=Buffer.alloc(5).fill("x",1,3);return [b.toString(), c.toJSON().data, d.toJSON().data, Buffer.alloc(4,"aGk=","base64").toString()]})(); },
  function () { return (function(){var s=Buffer.from("hello"), t=Buffer.alloc(8, "-");return [s.copy(t,2), t.toString(), s.copy(t,6,1), t.toString(), s.copy(t, 0, 3, 99), t.toString()]})(); },
  function () { return [JSON.stringify(Buffer.from("hi")), Buffer.from(JSON.parse(JSON.stringify(Buffer.from("hi")))).toString()]; },
  function () { return (function(){var b=Buffer.from("hello");var s=b.subarray(1,3);s[0]=65;return [s instanceof Buffer, Buffer.isBuffer(s), s.toString(), b.toString(), b.subarray(-2).toString()]})(); },
  function () { return [Buffer.from("€","latin1").toJSON().data, Buffer.from("é").toString("latin1"), Buffer.from("é").toString("binary"), Buffer.from([233,0x80]).toString("latin1").length, Buffer.from("aé€","ucs2").toString("hex"), Buffer.from("6100e900ac20","hex").toString("utf16le"), Buffer.from("6100e9","hex").toString("ucs2"), Buffer.byteLength("aé","utf16le"), Buffer.byteLength("aé","latin1")]; },
  function () { return [Buffer.from([251,255,191]).toString("base64url"), Buffer.from([251,255]).toString("base64url"), Buffer.from("-_8","base64url").toJSON().data, Buffer.from("+/8=","base64").toJSON().data, Buffer.byteLength("-_8","base64url"), Buffer.from("aGVsbG8","base64url").toString()]; },
  function () { return [Buffer.from("hello").toString("ascii"), Buffer.from([0xe9,0x41]).toString("ascii")]; },
  function () { return [new TextDecoder("latin1").encoding, new TextDecoder("iso-8859-1").encoding, new TextDecoder("ascii").encoding, new TextDecoder("ucs-2").encoding, new TextDecoder("utf-16").encoding, new TextDecoder(" UTF-16LE ").encoding, new TextDecoder("windows-1252").encoding]; },
  function () { return Array.from(new TextDecoder("windows-1252").decode(new Uint8Array([0x80,0x81,0x8d,0x9f,0xe9,0x41]))).map(function(c){return c.codePointAt(0)}); },
  function () { return [new TextDecoder("latin1").decode(new Uint8Array([0x63,0x61,0x66,0xe9])), new TextDecoder("latin1",{fatal:true}).decode(new Uint8Array([0x81])).charCodeAt(0), new TextDecoder("latin1",{fatal:true}).fatal]; },
  function () { return [new TextDecoder("utf-16le").decode(new Uint8Array([0x41,0,0xe5,0x65])), new TextDecoder("utf-16le").decode(new Uint8Array([0x41,0,0x42])), new TextDecoder("utf-16le").decode(new Uint8Array([0x3d,0xd8,0x00,0xde])), new TextDecoder("utf-16le").decode(new Uint8Array([0x00,0xde,0x41,0x00])), new TextDecoder("utf-16le").decode(new Uint8Array([0x00,0xd8,0x41,0x00])), new TextDecoder("utf-16le").decode(new Uint8Array([0xff,0xfe,0x41,0])), new TextDecoder("utf-16le",{ignoreBOM:true}).decode(new Uint8Array([0xff,0xfe,0x41,0])).length]; },
  function () { return new TextDecoder("utf-16le",{fatal:true}).decode(new Uint8Array([0x41,0,0x3d])); },
  function () { return new TextDecoder("utf-16le",{fatal:true}).decode(new Uint8Array([0x00,0xde])); },
  function () { return new TextDecoder("utf-16le",{fatal:true}).decode(new Uint8Array([0x00,0xd8])); },
  function () { return new TextDecoder("utf-8",{fatal:true}).decode(new Uint8Array([0xff])); },
  function () { return new TextDecoder("foo"); },
  function () { return new TextDecoder("utf-16le").decode(Buffer.from("héllo ✓","utf16le")); },
  function () { return [new TextDecoder("utf-16le").fatal, new TextDecoder("utf-16le",{fatal:1}).fatal, new TextDecoder().encoding]; }
];
function nodeGlobals(params, context) {
  return CASES.map(outcome);
}
"##;

/// What Node 20 answers for the same source (`node -e`, with Node's own `Buffer` and
/// `TextDecoder`), one line per case.
const NODE_ANSWERS: &str = r##"[
[2, 6, "3412fffffffe0000", 4660, 4278190079, -1, 13330, -16777217],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"value\" is out of range. It must be >= 0 and <= 255. Received 300"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"value\" is out of range. It must be >= -128 and <= 127. Received -200"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"value\" is out of range. It must be >= 0 and <= 65535. Received 70000"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"value\" is out of range. It must be >= -32768 and <= 32767. Received 40000"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"value\" is out of range. It must be >= 0 and <= 4294967295. Received 4294967296"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"value\" is out of range. It must be >= -2147483648 and <= 2147483647. Received 2147483648"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"value\" is out of range. It must be >= 0 and <= 4294967295. Received -1"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"offset\" is out of range. It must be >= 0 and <= 4. Received 6"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"offset\" is out of range. It must be >= 0 and <= 7. Received 8"],
["threw", "TypeError", "ERR_INVALID_ARG_TYPE", "The \"offset\" argument must be of type number. Received type string ('1')"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"offset\" is out of range. It must be an integer. Received 1.5"],
["threw", "RangeError", "ERR_BUFFER_OUT_OF_BOUNDS", "Attempt to access memory outside buffer bounds"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"offset\" is out of range. It must be >= 0 and <= 4. Received 6"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"offset\" is out of range. It must be >= 0 and <= 4. Received -1"],
{"type": "Buffer", "data": [1, 7, 0, 0, 0, 0, 0, 0]},
[4, 2.5, 8, 1e+300, 8, null, "7e37e43c7f800000"],
["9a9999999999b9bf", -0.1],
[3, 1193046, 5649426, 8, "1234fbffffffffff", -5, 281474976710651],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"byteLength\" is out of range. It must be >= 1 and <= 6. Received 7"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"value\" is out of range. It must be >= -(2 ** 39) and < 2 ** 39. Received 1_099_511_627_776"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"value\" is out of range. It must be >= 0 and < 2 ** 48. Received -1"],
[8, "-2n", "18374686479671623679n", 8, "18446744073709551615n"],
["threw", "TypeError", null, "Cannot mix BigInt and other types, use explicit conversions"],
["threw", "RangeError", "ERR_OUT_OF_RANGE", "The value of \"value\" is out of range. It must be >= 0n and < 2n ** 64n. Received -1n"],
["badc", "dcba", "hgfedcba"],
["threw", "RangeError", "ERR_INVALID_BUFFER_SIZE", "Buffer size must be a multiple of 16-bits"],
[4, 7, 7, true, false, 4, 9, -1, -1, 0, 11, 8, 11, 3, 4, 4, 4, 4, true, false],
[1, 0, 0, 1, 2],
["threw", "TypeError", "ERR_INVALID_ARG_TYPE", "The \"value\" argument must be one of type number or string or an instance of Buffer or Uint8Array. Received an instance of Object"],
[true, false, -1, 1, -1],
["threw", "TypeError", "ERR_INVALID_ARG_TYPE", "The \"otherBuffer\" argument must be an instance of Buffer or Uint8Array. Received type string ('abc')"],
["ababab", [1, 1, 1, 1], [0, 120, 120, 0, 0], "hihi"],
[5, "--hello-", 2, "--hellel", 2, "lohellel"],
["{\"type\":\"Buffer\",\"data\":[104,105]}", "hi"],
[true, true, "Al", "hAllo", "lo"],
[[172], "Ã©", "Ã©", 2, "6100e900ac20", "aé€", "a", 4, 2],
["-_-_", "-_8", [251, 255], [251, 255], 2, "hello"],
["hello", "iA"],
["windows-1252", "windows-1252", "windows-1252", "utf-16le", "utf-16le", "utf-16le", "windows-1252"],
[128, 129, 141, 159, 233, 65],
["café", 129, true],
["A日", "A�", "😀", "�A", "�A", "A", 2],
["threw", "TypeError", "ERR_ENCODING_INVALID_ENCODED_DATA", "The encoded data was not valid for encoding utf-16le"],
["threw", "TypeError", "ERR_ENCODING_INVALID_ENCODED_DATA", "The encoded data was not valid for encoding utf-16le"],
["threw", "TypeError", "ERR_ENCODING_INVALID_ENCODED_DATA", "The encoded data was not valid for encoding utf-16le"],
["threw", "TypeError", "ERR_ENCODING_INVALID_ENCODED_DATA", "The encoded data was not valid for encoding utf-8"],
["threw", "RangeError", "ERR_ENCODING_NOT_SUPPORTED", "The \"foo\" encoding is not supported"],
"héllo ✓",
[false, true, "utf-8"]
]"##;

async fn buffer_and_text_decoder_answer_as_node_does(s: &TestServer) {
    let admin = s.admin().await;
    s.deploy_current(&admin, NODE_CASES).await;
    let r = run(s, "nodeGlobals", json!({})).await;
    r.expect_status(200);
    let expected: Vec<Value> = serde_json::from_str(NODE_ANSWERS).unwrap();
    let got = r.body["returnedValue"]
        .as_array()
        .expect("an array of outcomes");
    assert_eq!(got.len(), expected.len());
    let case_lines: Vec<&str> = NODE_CASES
        .lines()
        .filter(|l| l.starts_with("  function () { return "))
        .collect();
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "case {i}: {}", case_lines[i]);
    }
}
