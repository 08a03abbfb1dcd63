// returns: "refused"
function main(params, context, done) {
  var load = Function("m", "return import(m)");
  var p;
  try { p = load("fs"); } catch (e) { done("refused"); return; }
  p.then(function () { done("loaded!"); }, function () { done("refused"); });
}
