// returns: [[-1, -1, -1, -1, -1, -1], [true, true, true, true, true], [false, false]]
// never: admin-token
// SDK objects made from the admin context carry its token, but never where serialisation,
// Object.keys or for-in can see it.
function main(params, context) {
  var admin = context.getAppAdminContext();
  var token = admin._token;
  var bucket = admin.bucketWithName("b");
  var object = bucket.createObject();
  var user = admin.userWithID("u1");
  var group = admin.groupWithID("g1");
  var acl = object.objectACL();
  var things = [admin, bucket, object, user, group, acl];
  var keys = [];
  things.forEach(function (t) { for (var k in t) keys.push(k); });
  return [
    things.map(function (t) { return JSON.stringify(t).indexOf(token); }),
    [bucket._tok === token, object._tok === token, user._tok === token, group._tok === token, acl._tok === token],
    [keys.indexOf("_tok") >= 0, keys.indexOf("_token") >= 0],
  ];
}
