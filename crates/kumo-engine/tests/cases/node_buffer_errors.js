// returns: [["RangeError","ERR_OUT_OF_RANGE","The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. Received 1_000_000_000_000"],["RangeError","ERR_OUT_OF_RANGE","The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. Received -1"],["RangeError","ERR_OUT_OF_RANGE","The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. Received NaN"],["TypeError","ERR_INVALID_ARG_TYPE","The \"size\" argument must be of type number. Received type string ('3')"],["RangeError","ERR_OUT_OF_RANGE","The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. Received 1_000_000_000_000"],["TypeError","ERR_INVALID_ARG_TYPE","The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object. Received type number (5)"],["TypeError","ERR_INVALID_ARG_TYPE","The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object. Received null"],["TypeError","ERR_INVALID_ARG_TYPE","The \"list\" argument must be an instance of Array. Received type string ('x')"],["TypeError","ERR_INVALID_ARG_TYPE","The \"list[0]\" argument must be an instance of Buffer or Uint8Array. Received type number (1)"],["TypeError","ERR_INVALID_ARG_TYPE","The \"string\" argument must be of type string or an instance of Buffer or ArrayBuffer. Received type number (5)"],["TypeError","ERR_INVALID_ARG_TYPE","The \"otherBuffer\" argument must be an instance of Buffer or Uint8Array. Received type string ('a')"],["TypeError","ERR_UNKNOWN_ENCODING","Unknown encoding: nope"],["RangeError","ERR_BUFFER_OUT_OF_BOUNDS","Attempt to access memory outside buffer bounds"],["RangeError","ERR_OUT_OF_RANGE","The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. Received 5_242_880_000"]]
// max_steps: 100000
// Wrong arguments throw Node's errors (name, code, message), and huge sizes are refused
// before anything is allocated.
function main(params, context) {
  function attempt(f) {
    try { f(); return "no error"; } catch (e) { return [e.name, e.code, e.message]; }
  }
  return [
    attempt(function () { Buffer.alloc(1e12); }),
    attempt(function () { Buffer.alloc(-1); }),
    attempt(function () { Buffer.alloc(NaN); }),
    attempt(function () { Buffer.alloc("3"); }),
    attempt(function () { new Buffer(1e12); }),
    attempt(function () { Buffer.from(5); }),
    attempt(function () { Buffer.from(null); }),
    attempt(function () { Buffer.concat("x"); }),
    attempt(function () { Buffer.concat([1]); }),
    attempt(function () { Buffer.byteLength(5); }),
    attempt(function () { Buffer.from("a").equals("a"); }),
    attempt(function () { Buffer.from("a").toString("nope"); }),
    attempt(function () { Buffer.from([1, 2]).readUInt32BE(0); }),
    attempt(function () { var one = Buffer.alloc(1 << 20); var list = []; for (var i = 0; i < 5000; i++) list.push(one); Buffer.concat(list); }),
  ];
}
