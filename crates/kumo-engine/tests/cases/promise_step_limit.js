// max_steps: 50
// fails: STEP_LIMIT_EXCEEDED
// A limit crossed after an `await` ends the run with that limit, however the code catches.
async function main(params, context) {
  await null;
  var n = 0;
  for (;;) { try { n++; } catch (e) { } }
}
