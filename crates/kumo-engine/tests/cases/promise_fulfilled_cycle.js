// fails: RESULT_NOT_SERIALIZABLE
// message: cannot be turned into JSON
async function main(params, context) { var a = {}; a.self = a; return a; }
