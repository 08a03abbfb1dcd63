// returns: true
function main(params, context) { return true; }
