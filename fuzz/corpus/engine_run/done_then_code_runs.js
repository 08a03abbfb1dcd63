// returns: "OK"
// log: INFO after done
// log: INFO in callback
function main(params, context, done) {
  Promise.resolve().then(function () { console.log("in callback"); });
  done("OK");
  console.log("after done");
}
