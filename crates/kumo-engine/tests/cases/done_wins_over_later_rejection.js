// returns: "first"
// log: ERROR rejected after done(): Error: too late
// `done` gave the result; the later rejection is logged, as a throw after `done` is.
async function main(params, context, done) {
  await null;
  done("first");
  throw new Error("too late");
}
