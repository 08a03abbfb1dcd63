// fails: UNCAUGHT_EXCEPTION
// message: Error: third
// steps: 3
function main(params, context) {
  var a = 1;
  a++;
  throw new Error("third");
}
