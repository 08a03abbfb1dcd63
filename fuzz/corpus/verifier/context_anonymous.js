// returns: null
function main(params, context) { return context.getAccessToken(); }
