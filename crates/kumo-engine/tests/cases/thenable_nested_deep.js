// max_steps: 1000000
// returns: "bottom"
// Thenables resolving to thenables 10 000 deep are followed one job per level, no recursion.
function level(n) {
  return { then: function (resolve) { resolve(n === 0 ? "bottom" : level(n - 1)); } };
}
function main(params, context) {
  return level(10000);
}
