// log_bytes: 100
// max_steps: 1000000000
// fails: LOG_LIMIT_EXCEEDED
// message: limit=100bytes
function main(params, context) {
  for (var i = 0; i < 100; i++) { try { console.log("0123456789"); } catch (e) {} }
}
