// returns: "later"
// An `async function` in the done form fulfils with `undefined` when it returns, before the
// callbacks it started call `done`: the run waits for `done`, as Kii-style code expects.
async function main(params, context, done) {
  Promise.resolve().then(function () { return 0; }).then(function () { return 0; })
    .then(function () { done("later"); });
}
