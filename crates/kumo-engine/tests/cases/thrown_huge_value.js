// max_steps: 1000000
// fails: UNCAUGHT_EXCEPTION
// message: thrown: {"blob":"xxxxxxxx
// A thrown value's description is cut (8 KB), not copied whole into the error and the log.
function main(params, context, done) {
  Promise.reject({ blob: "x".repeat(2000000) });
}
