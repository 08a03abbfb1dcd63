// returns: 5
function main(params, context) { implicitGlobal = 5; return implicitGlobal; }
