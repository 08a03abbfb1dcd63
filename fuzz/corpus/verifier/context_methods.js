// token: tok-123
// returns: {"app":"app1","key":"key1","token":"tok-123"}
function main(params, context) {
  return { app: context.getAppID(), key: context.getAppKey(), token: context.getAccessToken() };
}
