// params: {"username":"name_of_my_friend","n":[1,2,{"x":null}]}
// returns: {"username":"name_of_my_friend","n":[1,2,{"x":null}]}
function main(params, context) { return params; }
