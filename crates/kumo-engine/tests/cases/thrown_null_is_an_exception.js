// fails: UNCAUGHT_EXCEPTION
// message: thrown: null
// Only running out of memory is MEMORY_LIMIT_EXCEEDED, not a value that looks like it.
function main(params, context) {
  throw null;
}
