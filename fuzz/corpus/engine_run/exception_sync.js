// fails: UNCAUGHT_EXCEPTION
// message: TypeError
// steps: 1
function main(params, context) { return params.missing.field; }
