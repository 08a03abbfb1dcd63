// fails: UNCAUGHT_EXCEPTION
// message: Error: No objectID response
// log: ERROR No objectID response
// An awaited SDK call that fails rejects the endpoint's promise: the run fails with its error.
// (The test host echoes requests, so a save's answer lacks the object's ID.)
async function main(params, context) {
  var obj = Kii.bucketWithName("notes").createObject();
  obj.set("n", 5);
  await obj.save();
  return "unreachable";
}
