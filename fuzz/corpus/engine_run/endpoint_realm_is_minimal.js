// endpoint: echo
// returns: {"kii":"undefined","date":"undefined","map":"undefined","p":{"a":1}}
// params: {"a":1}
// A run gets only what its endpoint can reach by name: the SDK and the optional built-ins
// other endpoints in the file use are not built for it.
function save(params, context) { return [KiiUser, new Date(), new Map()]; }
function echo(params, context) {
  var g = Function("return this")();
  return { kii: typeof g["Kii" + "User"], date: typeof g["Da" + "te"], map: typeof g["M" + "ap"], p: params };
}
