// returns: 1
// steps: 1
function main(params, context) { return 1; }
