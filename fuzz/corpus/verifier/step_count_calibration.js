// endpoint: f
// returns: 3.14
// steps: 2
// log: INFO x
function f(p, c) { console.log("x"); return 3.14; }
function main(params, context) { return f(params, context); }
