// fails: UNCAUGHT_EXCEPTION
// never: admin-token
function main(params, context, done) {
  var admin = context.getAppAdminContext();
  Promise.reject(new Error(admin._token));
}
