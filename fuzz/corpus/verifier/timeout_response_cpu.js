// timeout_ms: 200
// max_steps: 1000000000
// timeout_response: {"partial":true}
function main(params, context) {
  context._timeoutResponse = {partial: true};
  while (true) {}
}
