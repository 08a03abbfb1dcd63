// timeout_ms: 200
// max_steps: 1000000000
// fails: EXECUTION_TIMEOUT
// message: execution timeout. limit=200ms
function main(params, context) { while (true) {} }
