// memory_mb: 8
// max_steps: 1000000000
// fails: MEMORY_LIMIT_EXCEEDED
function main(params, context) {
  var chunks = [];
  var s = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
  while (true) { chunks.push(s + chunks.length); s = s + s.substring(0, 16); }
}
