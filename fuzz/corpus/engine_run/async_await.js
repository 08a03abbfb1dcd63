// returns: {"sum":6,"names":["a","b"]}
async function add(a, b) { return a + b; }
function main(params, context, done) {
  (async function () {
    var s = await add(1, 2);
    s = s + await Promise.resolve(3);
    done({ sum: s, names: Object.keys({a: 1, b: 2}) });
  })();
}
