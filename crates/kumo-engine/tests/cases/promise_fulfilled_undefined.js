// returns: undefined
// An `async function` that returns nothing answers as `return;` does.
async function main(params, context) {
  await null;
}
