// fails: RESULT_NOT_SERIALIZABLE
// message: cannot be turned into JSON
function main(params, context) { var a = {}; a.self = a; return a; }
