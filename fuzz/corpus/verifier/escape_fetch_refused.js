// returns: "outbound HTTP to http://169.254.169.254/latest/meta-data is not allowed"
function main(params, context, done) {
  $.ajax({ url: "http://169.254.169.254/latest/meta-data", type: "GET" })
    .done(function () { done("reached!"); })
    .fail(function (xhr, status, error) { done(String(error && error.message || error)); });
}
