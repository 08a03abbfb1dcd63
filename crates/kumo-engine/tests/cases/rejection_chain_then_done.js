// fails: UNCAUGHT_EXCEPTION
// message: Error: boom
function main(params, context, done) {
  Promise.resolve().then(function () { throw new Error("boom"); }).then(done);
}
