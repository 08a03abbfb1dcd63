// fails: UNCAUGHT_EXCEPTION
// message: InternalError: out of memory
function main(params, context) {
  throw new InternalError("out of memory");
}
