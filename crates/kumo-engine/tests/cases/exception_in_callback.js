// fails: UNCAUGHT_EXCEPTION
// message: Error: later
function main(params, context, done) {
  Promise.resolve().then(function () { throw new Error("later"); });
}
