// returns: {"n":42}
// params: {"x": 6}
// A two-argument `async function` answers what it returns once its awaits are done.
async function twice(v) { return v * 2; }
async function main(params, context) {
  var a = await twice(params.x);
  var b = await Promise.resolve(a).then(function (v) { return v * 7; });
  return { n: b / 2 };
}
