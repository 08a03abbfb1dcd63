(function () {
  // placeholder until the in-sandbox SDK lands
  var Kii = { getAppID: function () { return __kii_env.appID; } };
  return { Kii: Kii, __adminContext: function (token) { return { _getToken: function () { return token; } }; } };
})()
