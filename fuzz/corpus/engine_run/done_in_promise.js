// returns: {"sum":3}
function main(params, context, done) {
  Promise.resolve(1).then(function (a) { return a + 2; }).then(function (s) { done({sum: s}); });
}
