// returns: "first"
// no_log
async function main(params, context, done) {
  await null;
  done("first");
  throw new Error("ignored: done gave the result");
}
