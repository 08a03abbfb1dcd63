// returns: [11, "***"]
// never: admin-token
// Code may read the run's admin token on purpose, but it never leaves the run, even returned.
function main(params, context) {
  var token = context.getAppAdminContext()._getToken();
  return [token.length, token];
}
