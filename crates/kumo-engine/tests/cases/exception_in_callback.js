// fails: UNCAUGHT_EXCEPTION
// message: Error: later
// log: ERROR unhandled promise rejection: Error: later
function main(params, context, done) {
  // A throw in a callback (a rejected promise nobody handles) can never call done: the run ends
  // with that exception rather than waiting for its timeout.
  Promise.resolve().then(function () { throw new Error("later"); });
}
