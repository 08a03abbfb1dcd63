// fails: UNCAUGHT_EXCEPTION
// message: thrown: x
function main(params, context, done) {
  Promise.reject("x");
}
