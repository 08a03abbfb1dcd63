// returns: "aWQ6c2VjcmV0"
// Code that names `Buffer` only as a constructor still gets it.
function main(params, context) { return new Buffer("id:" + "secret").toString("base64"); }
