// memory_mb: 8
// max_steps: 1000000000
// fails: MEMORY_LIMIT_EXCEEDED
// Running out of memory inside an `async function` is the memory limit, not its rejection.
async function main(params, context) {
  var chunks = [];
  while (true) { chunks.push("x".repeat(1 << 16) + chunks.length); }
}
