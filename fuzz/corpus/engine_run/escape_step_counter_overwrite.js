// max_steps: 30
// fails: STEP_LIMIT_EXCEEDED
function main(params, context) {
  // The counter cannot be replaced (it is read-only and cannot be deleted).
  var g = Function("return this")();
  g["__kii" + "_s"] = function () {};
  try { delete g["__kii" + "_s"]; } catch (e) {}
  Object.defineProperty && (function () { try { Object.defineProperty(g, "__kii" + "_s", { value: function () {} }); } catch (e) {} })();
  for (;;) { var x = 1; }
}
