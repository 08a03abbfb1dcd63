// returns: ["one","two"]
function main(params, context) { return ["one", "two"]; }
