// endpoint: nothere
// fails: ENDPOINT_NOT_FOUND
// message: nothere
function main(params, context) { return 1; }
