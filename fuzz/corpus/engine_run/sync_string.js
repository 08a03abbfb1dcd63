// returns: "resp"
function main(params, context) { return "resp"; }
