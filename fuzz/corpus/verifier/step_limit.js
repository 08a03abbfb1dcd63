// max_steps: 50
// fails: STEP_LIMIT_EXCEEDED
// message: limit=50
// steps: 50
function main(params, context) {
  var n = 0;
  while (true) { try { n++; } catch (e) { } }
}
