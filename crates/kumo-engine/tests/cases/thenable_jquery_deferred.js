// returns: {"via":"deferred"}
// A jQuery Deferred's promise is a thenable: the run awaits it.
function main(params, context) {
  var d = $.Deferred();
  Promise.resolve().then(function () { d.resolve({ via: "deferred" }); });
  return d.promise();
}
