// memory_mb: 8
// max_steps: 1000000000
// fails: MEMORY_LIMIT_EXCEEDED
// Code that catches running out of memory and throws something else is still over its limit.
function main(params, context) {
  try {
    var chunks = [];
    var s = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    while (true) { chunks.push(s + chunks.length); s = s + s.substring(0, 16); }
  } catch (e) {
    chunks = null;
    throw new Error("gave up");
  }
}
