// fails: UNCAUGHT_EXCEPTION
// message: RangeError: The value of "size" is out of range
function main(params, context) {
  return Buffer.alloc(1e12);
}
