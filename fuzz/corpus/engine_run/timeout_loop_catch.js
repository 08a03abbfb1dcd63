// timeout_ms: 200
// max_steps: 1000000000
// fails: EXECUTION_TIMEOUT
function main(params, context) {
  while (true) { try { while (true) {} } catch (e) { } }
}
