// returns: undefined
function main(params, context) { }
