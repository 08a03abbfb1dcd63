// fails: UNCAUGHT_EXCEPTION
// message: thrown: bad input
function main(params, context) {
  return Promise.reject("bad input");
}
