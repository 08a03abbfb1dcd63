// fails: UNCAUGHT_EXCEPTION
// message: Error: getter
// A `then` getter that throws rejects, as Promise resolution does.
function main(params, context) {
  return { get then() { throw new Error("getter"); } };
}
