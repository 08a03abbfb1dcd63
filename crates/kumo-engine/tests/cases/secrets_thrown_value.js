// fails: UNCAUGHT_EXCEPTION
// never: admin-token
function main(params, context) {
  var admin = context.getAppAdminContext();
  throw { context: admin, object: admin.bucketWithName("b").createObject(), raw: admin._token };
}
