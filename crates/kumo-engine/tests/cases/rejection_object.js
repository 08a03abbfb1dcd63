// fails: UNCAUGHT_EXCEPTION
// message: thrown: {"a":1}
function main(params, context, done) {
  Promise.reject({ a: 1 });
}
