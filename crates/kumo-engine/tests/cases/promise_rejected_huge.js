// max_steps: 1000000
// fails: UNCAUGHT_EXCEPTION
// message: thrown: {"blob":"xxxxxxxx
// A rejection reason is described as thrown values are: cut at 8 KB.
async function main(params, context) {
  throw { blob: "x".repeat(2000000) };
}
