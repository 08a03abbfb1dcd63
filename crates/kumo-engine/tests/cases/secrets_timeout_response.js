// timeout_ms: 100
// timeout_response: {"context": {"_id": null}, "token": "***"}
// never: admin-token
function main(params, context, done) {
  var admin = context.getAppAdminContext();
  admin._id = null;
  context._timeoutResponse = { context: admin, token: admin._token };
}
