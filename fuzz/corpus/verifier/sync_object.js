// returns: {"name":"Kii","zip":"123456"}
function main(params, context) { return {name:"Kii", zip:"123456"}; }
