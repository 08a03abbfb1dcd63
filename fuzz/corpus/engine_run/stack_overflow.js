// max_steps: 1000000000
// fails: STACK_LIMIT_EXCEEDED
function deep(n) { return deep(n + 1) + 1; }
function main(params, context) { return deep(0); }
