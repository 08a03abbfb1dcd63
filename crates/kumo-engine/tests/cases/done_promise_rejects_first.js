// fails: UNCAUGHT_EXCEPTION
// message: Error: first
// A rejection ends a done-form run as a throw would, even with a `done` still to come.
async function main(params, context, done) {
  Promise.resolve().then(function () { return 0; }).then(function () { done("late"); });
  throw new Error("first");
}
