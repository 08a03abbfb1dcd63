// returns: [[-1, -1, -1, -1, -1, -1], [0, 0, 0, 0, 0, 0], [false, false], true]
// never: admin-token
// SDK objects made from the admin context carry its token, but never where serialisation,
// Object.keys or for-in can see it; code may still read it on purpose.
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
    things.map(function (t) { return Object.keys(t).filter(function (k) { return String(t[k]).indexOf(token) >= 0; }).length; }),
    [keys.indexOf("_tok") >= 0, keys.indexOf("_token") >= 0],
    token === admin._getToken() && token.length > 0,
  ];
}
