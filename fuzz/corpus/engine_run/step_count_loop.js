// returns: 10
// steps: 8
function main(params, context) {
  var total = 0;
  for (var i = 0; i < 5; i++) total += 2;
  if (total > 3) { total = total; } else total = 0;
  return total;
}
