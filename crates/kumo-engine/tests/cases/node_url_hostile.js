// max_steps: 100000
// returns: [["TypeError","ERR_INVALID_URL"],1000001,"/a/b",20001]
// Long and degenerate inputs: a megabyte of spaces, a megabyte-long path, and thousands of dot
// segments and parameters parse in linear time (the run's 20 s limit would stop anything worse).
function main(params, context) {
  var spaces = " ".repeat(1 << 20);
  var out = [];
  try { new URL(spaces + "x" + spaces); } catch (e) { out.push([e.name, e.code]); }
  out.push(new URL("http://h/" + "a".repeat(1000000) + spaces).pathname.length);
  out.push(new URL("http://h/" + "x/../".repeat(100000) + "a/b").pathname);
  out.push(new URLSearchParams("k=v&".repeat(20000)).size + new URLSearchParams("a=b").size);
  return out;
}
