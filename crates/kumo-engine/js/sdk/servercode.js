// Kumo's in-sandbox Kii SDK, part `servercode`: KiiServerCodeEntry, KiiServerCodeExecResult and
// KiiServerCodeEnvironmentVersion, plus the bodies of Kii.serverCodeEntry and
// Kii.serverCodeEntryWithVersion (see core.js).
(function (sdk) {
  'use strict';

  const {
    _isStr: isStr, _invalidArg: invalidArg, _raise: raise, _ok: ok, _ko: ko, _kiiError: kiiError, _settle: settle,
    _appPath: appPath, _userToken: userToken, _http: http, _httpOK: httpOK,
  } = sdk;

  class KiiServerCodeExecResult {
    constructor(returnObject, steps, environmentVersion) {
      this.returnObject = returnObject;
      this.exeSteps = steps;
      this.environmentVersion = environmentVersion;
    }
    getExecutedSteps() { return this.exeSteps; }
    getEnvironmentVersion() { return this.environmentVersion; }
    getReturnedValue() { return this.returnObject; }
  }

  class KiiServerCodeEntry {
    constructor(entryName, version, environmentVersion) {
      this.entryName = entryName;
      this.version = version;
      this.environmentVersion = environmentVersion;
    }
    getEntryName() { return this.entryName; }
    // failure(entry, argument, execResult (null), errorString), as 2.4.19.
    execute(argument, callbacks) {
      const failed = (m) => {
        const e = kiiError(m, this);
        e.argument = argument;
        return settle(callbacks, ko([this, argument, null, m], e));
      };
      // 2.4.19 accepts null or a non-empty object only.
      if (!(argument === null || (Object.prototype.toString.call(argument) === '[object Object]' && Object.keys(argument).length > 0))) {
        return failed(invalidArg('arugment is invalid'));
      }
      let path = appPath('/server-code/versions/' + (this.version != null ? this.version : 'current') + '/' + this.entryName);
      if (this.environmentVersion) path += '?environment-version=' + this.environmentVersion;
      const res = http('POST', path, { token: userToken(), body: argument != null ? argument : {} });
      const steps = res.headers['x-step-count'] != null ? res.headers['x-step-count'] : null;
      if (!httpOK(res)) {
        let m = 'fail to execute server code. statusCode: ' + res.status + ' executedSteps: ' + steps;
        const j = res.json;
        if (!j) m += ' error code: failed_to_parse_response message: ' + res.body;
        else {
          if (j.errorCode != null) m += ' error code: ' + j.errorCode;
          if (j.message != null) m += ' message: ' + j.message;
          if (j.details != null && j.details.message != null) m += ' detailMessage: ' + j.details.message;
        }
        return failed(m);
      }
      let returned;
      try {
        returned = JSON.parse(res.body);
      } catch (e) {
        return failed('fail to parse response. statusCode: ' + res.status + ' executedSteps: ' + steps +
          ' error code: failed_to_parse_response response: ' + res.body);
      }
      const result = new KiiServerCodeExecResult(returned, steps, res.headers['x-environment-version']);
      return settle(callbacks, ok([this, argument, result], [this, argument, result]));
    }
  }

  const KiiServerCodeEnvironmentVersion = { V0: '0', V6: '6' };

  // Kii.serverCodeEntry(entryName, version, environmentVersion) and, with versionRequired,
  // Kii.serverCodeEntryWithVersion(entryName, version).
  function serverCodeEntry(entryName, version, environmentVersion, versionRequired) {
    if (!(typeof entryName === 'string' && /^[a-zA-Z][_a-zA-Z0-9]*$/.test(entryName))) raise(invalidArg('entryName is invalid'));
    if ((versionRequired || version) && !isStr(version)) raise(invalidArg('version is invalid'));
    return new KiiServerCodeEntry(entryName, version, environmentVersion);
  }

  [KiiServerCodeExecResult, KiiServerCodeEntry].forEach(sdk._bindMethods);
  Object.assign(sdk, {
    KiiServerCodeEntry, KiiServerCodeExecResult, KiiServerCodeEnvironmentVersion, _serverCodeEntry: serverCodeEntry,
  });
})
