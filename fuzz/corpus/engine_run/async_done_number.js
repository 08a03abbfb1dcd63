// returns: 1
function main(params, context, done) { done(1); }
