// fails: UNCAUGHT_EXCEPTION
// message: Error: nope
// log: ERROR the promise the endpoint returned was rejected: Error: nope
// A rejected returned promise fails the run as the same throw would.
async function main(params, context) {
  await Promise.resolve();
  throw new Error("nope");
}
