// timeout_response: {"customField":"my_custom_message"}
function main(params, context, done) {
  context._timeoutResponse = {customField: "my_custom_message"};
}
