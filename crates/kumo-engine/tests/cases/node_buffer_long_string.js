// memory_mb: 16
// fails: MEMORY_LIMIT_EXCEEDED
// Decoding and encoding long strings allocate within the run's memory: doubling a string
// through Buffer until it no longer fits ends at the limit, never in the process.
function main(params, context) {
  var s = "ü😀";
  while (true) { s = Buffer.from(s + s).toString("utf8"); Buffer.from(s).toString("base64"); }
}
