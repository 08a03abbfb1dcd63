// fails: UNCAUGHT_EXCEPTION
// never: admin-token
// log: INFO 
// Every way out of a run: logged, nested, stringified, thrown (as the message and the value).
function main(params, context) {
  var admin = context.getAppAdminContext();
  var object = admin.bucketWithName("b").createObject();
  console.log(object, [object], { o: object }, admin, admin._token);
  console.log(JSON.stringify({ a: [admin], t: admin._token }));
  throw new Error("token " + admin._token);
}
