// endpoint: echo
// returns: {"buffer":"undefined","url":"undefined","text":"undefined"}
// Node's globals are built only for code that can reach them: another endpoint naming them
// does not put them in this one's realm.
function encode(params, context) { return [Buffer.from("x"), new URL("http://x"), new TextEncoder()]; }
function echo(params, context) {
  var g = Function("return this")();
  return { buffer: typeof g["Buf" + "fer"], url: typeof g["UR" + "L"], text: typeof g["Text" + "Encoder"] };
}
