// endpoint: value
// fails: ENDPOINT_NOT_FOUND
var value = 3;
function main(params, context) { return 1; }
