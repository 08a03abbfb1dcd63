// max_steps: 20
// fails: STEP_LIMIT_EXCEEDED
function main(params, context) {
  for (;;) {
    try { var x = 1; x++; } catch (e) { /* swallowing the error does not help */ }
  }
}
