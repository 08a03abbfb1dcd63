// returns: "from the promise"
// log: WARN after the promise the endpoint returned had settled
// The promise settled first: its value is the result, and the later `done` is warned about.
function main(params, context, done) {
  Promise.resolve().then(function () { return 0; }).then(function () { return 0; })
    .then(function () { done("from done"); });
  return Promise.resolve("from the promise");
}
