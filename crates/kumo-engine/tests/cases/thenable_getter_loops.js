// max_steps: 100
// fails: STEP_LIMIT_EXCEEDED
function main(params, context) {
  return { get then() { var n = 0; for (;;) { try { n++; } catch (e) { } } } };
}
