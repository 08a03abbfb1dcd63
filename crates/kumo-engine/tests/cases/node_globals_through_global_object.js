// returns: {"b64":"aGk=","host":"x.org","bytes":2,"replaced":"mine"}
// Code that reaches the global object gets Node's globals on first touch, and may replace them.
function main(params, context) {
  var g = globalThis;
  var out = {
    b64: g["Buf" + "fer"].from("hi").toString("base64"),
    host: new g["UR" + "L"]("https://x.org/p").host,
    bytes: new g["Text" + "Encoder"]().encode("hé").length - 1,
  };
  g.URLSearchParams = "mine";
  out.replaced = g.URLSearchParams;
  return out;
}
