// returns: "caught: late"
// A rejection that is handled before the run stalls is no failure.
function main(params, context, done) {
  var p = Promise.reject(new Error("late"));
  Promise.resolve().then(function () {
    p.catch(function (e) { done("caught: " + e.message); });
  });
}
