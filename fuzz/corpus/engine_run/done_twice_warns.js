// token: user-token
// returns: "ERROR!!"
// log: WARN more than once
function main(params, context, done) {
  if (context.getAccessToken()) {
    done("ERROR!!");
  }
  done("SUCCESS!!");
}
