// returns: null
// log: INFO plain 1 {"a":[1,2]} undefined null
// log: DEBUG dbg
// log: WARN wrn
// log: ERROR err
// log: INFO inf
function main(params, context) {
  console.log("plain", 1, {a: [1, 2]}, undefined, null);
  console.debug("dbg"); console.warn("wrn"); console.error("err"); console.info("inf");
  return null;
}
