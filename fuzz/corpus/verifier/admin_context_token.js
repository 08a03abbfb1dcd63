// returns: "admin-token"
function main(params, context) { return context.getAppAdminContext()._getToken(); }
