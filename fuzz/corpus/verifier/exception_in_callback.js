// fails: EXECUTION_TIMEOUT
// log: ERROR unhandled promise rejection: Error: later
function main(params, context, done) {
  // Kii: a throw in a callback (a rejected promise nobody handles) never calls done: timeout.
  Promise.resolve().then(function () { throw new Error("later"); });
}
