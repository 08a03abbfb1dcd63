// fails: UNCAUGHT_EXCEPTION
// message: thrown: boom
function main(params, context, done) { throw "boom"; }
