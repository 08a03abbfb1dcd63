// timeout_ms: 300
// max_steps: 1000000000
// fails: EXECUTION_TIMEOUT
// Without a statement to count, the endless chain of jobs still ends at the deadline.
var t = { then: (resolve) => resolve(t) };
function main(params, context) {
  return t;
}
