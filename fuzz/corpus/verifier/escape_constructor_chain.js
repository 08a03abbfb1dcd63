// returns: {"process":"undefined","require":"undefined","module":"undefined","std":"undefined"}
function main(params, context) {
  var F = (function () {}).constructor;
  var g = F("return this")();
  var viaChain = ({}).constructor.constructor("return typeof process")();
  return { process: viaChain, require: typeof g.require, module: typeof g.module, std: typeof g.std };
}
