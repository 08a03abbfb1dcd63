// fails: EXECUTION_TIMEOUT
// In the done form a promise fulfilled with `undefined` does not end the run: only `done` does.
async function main(params, context, done) {
  await null;
}
