// endpoint: main
// returns: {"helper":"function","date":"object"}
// Each endpoint's realm holds what the endpoint can reach by name: here the SDK and Date
// through a helper, although `main` itself names neither.
function unrelated(params) { return params; }
function kind() { return typeof KiiUser; }
function stamp() { return typeof new Date(); }
function main(params, context) {
  return { helper: kind(), date: stamp() };
}
