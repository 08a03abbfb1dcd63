// returns: {"http":"undefined","fetch":"undefined","env":"undefined"}
function main(params, context) {
  // Code that never names the SDK has no bridge to call at all.
  var g = Function("return this")();
  var k = "__kii_";
  return { http: typeof g[k + "http"], fetch: typeof g[k + "fetch"], env: typeof g[k + "env"] };
}
