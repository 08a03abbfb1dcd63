// returns: {"then":5,"a":1}
// An object whose `then` is not a function is a plain result.
function main(params, context) {
  return { then: 5, a: 1 };
}
