// max_steps: 100000
// returns: 0
// Calling `resolve` thousands of times settles once, with the first value.
function main(params, context) {
  return {
    then: function (resolve) {
      for (var i = 0; i < 10000; i++) { resolve(i); }
    }
  };
}
