// fails: EXECUTION_TIMEOUT
// message: execution timeout. limit=20000ms
// A returned promise nothing can settle times out like a run that never calls `done`.
function main(params, context) {
  return new Promise(function () {});
}
