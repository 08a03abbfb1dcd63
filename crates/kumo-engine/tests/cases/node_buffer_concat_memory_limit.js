// memory_mb: 8
// fails: MEMORY_LIMIT_EXCEEDED
// A concatenation that would fit Node's limit but not the run's memory ends at the limit.
function main(params, context) {
  var one = Buffer.alloc(1 << 20, 1);
  var list = [];
  for (var i = 0; i < 64; i++) list.push(one);
  return Buffer.concat(list).length;
}
