// refused: line 3, column 10: `eval` is not allowed
function main(params, context) {
  return eval("1");
}
