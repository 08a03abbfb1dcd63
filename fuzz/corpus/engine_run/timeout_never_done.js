// fails: EXECUTION_TIMEOUT
// message: execution timeout. limit=20000ms
function main(params, context, done) {
  new Promise(function () {});
}
