// refused: syntax error
function main(params, context) {
  return {;
}
