// fails: UNCAUGHT_EXCEPTION
// message: Error: in then
function main(params, context) {
  return { then: function () { throw new Error("in then"); } };
}
