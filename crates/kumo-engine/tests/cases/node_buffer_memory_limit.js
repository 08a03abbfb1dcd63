// memory_mb: 8
// fails: MEMORY_LIMIT_EXCEEDED
// A buffer below Node's size limit but beyond the run's memory ends the run at its limit.
function main(params, context) {
  return Buffer.alloc(100 * 1024 * 1024).length;
}
