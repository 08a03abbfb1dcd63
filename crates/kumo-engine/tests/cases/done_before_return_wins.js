// returns: "from done"
// no_log
// `done` called before the return gives the result; the returned promise cannot change it.
function main(params, context, done) {
  done("from done");
  return Promise.resolve("from the promise");
}
