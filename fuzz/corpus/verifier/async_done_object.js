// returns: {"name":"Kii","zip":"123456"}
function main(params, context, done) { done({name:"Kii", zip:"123456"}); }
