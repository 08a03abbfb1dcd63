// max_steps: 10000
// fails: STEP_LIMIT_EXCEEDED
// A thenable that resolves to itself would be followed forever: the limits end it.
function main(params, context) {
  var t = { then: function (resolve) { resolve(t); } };
  return t;
}
