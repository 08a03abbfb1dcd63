// returns: 1
// The first settle wins: a throw after `resolve` changes nothing.
function main(params, context) {
  return { then: function (resolve) { resolve(1); throw new Error("late"); } };
}
