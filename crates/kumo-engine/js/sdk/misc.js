// Kumo's in-sandbox Kii SDK, part `misc`: KiiErrorParser, KiiGeoPoint and KiiSite, which the
// common paths do not need (see core.js). KiiBucket/KiiObject and KiiClause reach KiiGeoPoint
// through sdk (sdk._is(v, 'KiiGeoPoint'), sdk.need('misc')).
(function (sdk) {
  'use strict';

  const { _invalidArg: invalidArg, _raise: raise } = sdk;

  const KiiSite = {
    US: 'https://api.kii.com/api',
    JP: 'https://api-jp.kii.com/api',
    SG: 'https://api-sg.kii.com/api',
    EU: 'https://api-eu.kii.com/api',
  };

  class KiiGeoPoint {
    constructor(latitude, longitude) {
      const inside = (min, max, n) => n > min && n < max && !isNaN(n);
      if (!inside(-90, 90, latitude) || !inside(-180, 180, longitude)) raise(invalidArg('Specified latitide or longitude is invalid'));
      this._latitude = latitude;
      this._longitude = longitude;
    }
    getLatitude() { return this._latitude; }
    getLongitude() { return this._longitude; }
    _toDict() { return { _type: 'point', lat: this._latitude, lon: this._longitude }; }
  }
  KiiGeoPoint.geoPoint = function (latitude, longitude) { return new KiiGeoPoint(latitude, longitude); };

  // KiiErrorParser.parse(errorOrMessage) -> {status, code, message}, for the error strings the other
  // parts produce (core's http() and statusError(), servercode's KiiServerCodeEntry#execute).
  let errorStatus = null; // errorCode -> HTTP status, built on first use
  function statusOfCode(code) {
    if (!errorStatus) {
      errorStatus = {};
      const table = {
        400: 'INVALID_BUCKET INVALID_DATA_TYPE INVALID_INPUT_DATA INVALID_JSON INVALID_JSON_SCHEMA MISSING_DATA OAUTH2_ERROR ' +
          'QUERY_NOT_SUPPORTED INVALID_ACCOUNT_STATUS INVALID_OBJECT_ID ACCOUNT_TYPE_NOT_SUPPORTED BUCKET_TYPE_NOT_SUPPORTED ' +
          'VERSIONED_UPDATES_NOT_SUPPORTED NO_ACCOUNT_PROVIDED ENDPOINT_INVOCATION_ERROR SERVER_CODE_VERIFICATION_ERROR TASK_NOT_RECURRENT',
        401: 'UNAUTHORIZED THING_DISABLED AUTHENTICATION_FAILED USER_DISABLED WRONG_PASSWORD',
        403: 'APP_DISABLED WRONG_TOKEN WRONG_REFRESH_TOKEN OPERATION_NOT_SUPPORTED INVALID_VERIFICATION_CODE',
        404: 'APP_NOT_FOUND USER_NOT_FOUND THING_NOT_FOUND THING_TYPE_NOT_FOUND FIRMWARE_VERSION_NOT_FOUND ' +
          'THING_END_NODE_DOES_NOT_BELONG_TO_GATEWAY BUCKET_NOT_FOUND FILTER_NOT_FOUND OBJECT_NOT_FOUND PUBLICATION_NOT_FOUND ' +
          'USER_ADDRESS_NOT_FOUND VERIFICATION_CODE_NOT_FOUND OBJECT_BODY_NOT_FOUND OBJECT_BODY_UPLOAD_NOT_FOUND GROUP_NOT_FOUND ' +
          'INSTALLATION_NOT_FOUND ACL_NOT_FOUND GCMKEY_NOT_FOUND APNSKEY_NOT_FOUND JSON_WEB_KEY_NOT_FOUND JPUSHKEY_NOT_FOUND ' +
          'PUSH_SUBSCRIPTION_NOT_FOUND TOPIC_NOT_FOUND USER_LOCALE_NOT_FOUND TEMPLATE_NOT_FOUND USER_COUNTRY_NOT_FOUND ' +
          'USER_DISPLAY_NAME_NOT_FOUND SERVER_CODE_VERSION_NOT_FOUND SERVER_CODE_HOOK_VERSION_NOT_FOUND SCHEDULE_EXECUTION_NOT_FOUND ' +
          'PAYLOAD_ID_NOT_FOUND REPLACEMENT_SQL_QUERY_NOT_FOUND APP_CONFIG_PARAMETER_NOT_FOUND TRANSACTION_ID_NOT_FOUND ' +
          'CLIENT_CREDENTIALS_NOT_FOUND ACCESS_CODE_NOT_FOUND THING_OWNERSHIP_NOT_FOUND MQTT_ENDPOINT_NOT_FOUND TASK_NOT_FOUND ' +
          'ADDRESS_VERIFICATION_CODE_NOT_FOUND',
        409: 'THING_ALREADY_EXISTS OPERATION_NOT_ALLOWED THING_END_NODE_ALREADY_BELONGS_TO_GATEWAY APP_ALREADY_EXISTS ' +
          'BUCKET_ALREADY_EXISTS OBJECT_VERSION_IS_STALE OBJECT_ALREADY_EXISTS OBJECT_CONFLICT USER_ALREADY_EXISTS ' +
          'OBJECT_BODY_UPLOAD_ALREADY_EXISTS GROUP_ALREADY_EXISTS INSTALLATION_ALREADY_EXISTS ACL_ALREADY_EXISTS ' +
          'FACEBOOK_USER_ALREADY_LINKED QQ_USER_ALREADY_LINKED GOOGLE_USER_ALREADY_LINKED USER_ALREADY_LINKED USER_NOT_LINKED ' +
          'UNIQUE_CONSTRAINT_VIOLATED GCMKEY_ALREADY_EXISTS PUSH_SUBSCRIPTION_ALREADY_EXISTS TOPIC_ALREADY_EXISTS ' +
          'TRANSACTION_ID_ALREADY_EXISTS THING_OWNERSHIP_ALREADY_EXISTS INVALID_THING_OWNERSHIP_CODE INVALID_STATUS',
        410: 'PUBLICATION_EXPIRED PHONE_NUMBER_VERIFICATION_CODE_EXPIRED PIN_CODE_EXPIRED',
        412: 'OBJECT_BODY_INTEGRITY_NOT_ASSURED',
        416: 'OBJECT_BODY_RANGE_NOT_SATISFIABLE',
        500: 'UNDEFINED_ERROR INDEX_FAILED',
        501: 'OPERATION_NOT_IMPLEMENTED',
        503: 'RESOURCE_TEMPORARILY_UNAVAILABLE LOCK_FAILED QUERY_TIMEOUT TEMPORARY_UNAVAILABLE_ERROR MQTT_ENDPOINT_NOT_READY',
      };
      for (const status of Object.keys(table)) for (const c of table[status].split(' ')) errorStatus[c] = Number(status);
    }
    return errorStatus[code];
  }
  const KiiErrorParser = {
    parse: function (error) {
      // As 2.4.19, which reads `error.message` unguarded (in V8's words).
      if (error == null) throw new TypeError("Cannot read properties of " + error + " (reading 'message')");
      const s = typeof error === 'string' ? error : error.message;
      if (!s) return null;
      const network = { status: 0, code: null, message: 'Network Error' };
      const tooMany = { status: 429, code: 'TOO_MANY_REQUESTS', message: 'Number of requests exceeds the limit.' };
      if (s.indexOf('0 : http') === 0 || s.indexOf('fail to execute server code. statusCode: 0') === 0) return network;
      if (s.indexOf('429 : http') === 0) return tooMany;
      if (s.indexOf('invalid_grant: ') === 0) return { status: 400, code: 'invalid_grant', message: s.substr('invalid_grant: '.length) };
      let m = /statusCode: (\d{1,3})$/.exec(s);
      if (m) return Number(m[1]) === 429 ? tooMany : network;
      m = /(^[A-Z_]+): (.*)/.exec(s);
      if (m) return { status: statusOfCode(m[1]) || -2, code: m[1], message: m[2] };
      const forms = [
        / statusCode: (\d{3}) error code: ([A-Z_]+) message: (.*)$/,
        / statusCode: (\d{3}) error code: ([A-Z_]+) error message: (.*)$/,
        / statusCode: (\d{3}) executedSteps: \d+ error code: ([A-Z_]+) message: (.*) detailMessage: (.*)$/,
        / statusCode: (\d{3}) executedSteps: null error code: ([A-Z_]+) message: (.*)$/,
      ];
      for (const re of forms) {
        m = re.exec(s);
        if (m) return { status: Number(m[1]), code: m[2], message: m[3] };
      }
      return { status: -1, code: null, message: s };
    },
  };

  sdk._bindMethods(KiiGeoPoint);
  Object.assign(sdk, { KiiErrorParser, KiiGeoPoint, KiiSite });
})
