// returns: {"require":"undefined","process":"undefined","std":"undefined","os":"undefined","fetch":"undefined","XMLHttpRequest":"undefined","setTimeout":"undefined"}
function main(params, context) {
  var g = Function("return this")();
  return { require: typeof g.require, process: typeof g.process, std: typeof g.std, os: typeof g.os,
           fetch: typeof g.fetch, XMLHttpRequest: typeof g.XMLHttpRequest, setTimeout: typeof g["set" + "Timeout"] };
}
