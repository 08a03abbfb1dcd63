// returns: "saved 2"
// A synchronous endpoint returning a promise chain answers the chain's value.
function main(params, context) {
  return Promise.resolve(1).then(function (v) { return v + 1; }).then(function (v) {
    return "saved " + v;
  });
}
