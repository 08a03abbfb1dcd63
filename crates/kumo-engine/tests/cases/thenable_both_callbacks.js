// fails: UNCAUGHT_EXCEPTION
// message: Error: first
function main(params, context) {
  return {
    then: function (resolve, reject) {
      reject(new Error("first"));
      resolve(2);
      reject(new Error("second"));
    }
  };
}
