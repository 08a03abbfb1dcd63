// returns: 1
var counter = 0;
function main(params, context) { counter++; globalThis.leak = (globalThis.leak || 0) + 1; return counter * globalThis.leak; }
