// fails: UNCAUGHT_EXCEPTION
// message: thrown: {"code":7}
// log: ERROR thrown: {"code":7}
function main(params, context) {
  return Promise.resolve().then(function () { throw { code: 7 }; });
}
