// fails: UNCAUGHT_EXCEPTION
// message: Error: no
function main(params, context, done) {
  Promise.reject(new Error("no"));
}
