// timeout_response: {"busy":true}
async function main(params, context) {
  context._timeoutResponse = { busy: true };
  await new Promise(function () {});
}
