// returns: 7
// Any object with a callable `then` is awaited, as `await` would.
function main(params, context) {
  return { then: function (resolve) { resolve(7); } };
}
