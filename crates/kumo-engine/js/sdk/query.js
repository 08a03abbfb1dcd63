// Kumo's in-sandbox Kii SDK, part `query`: KiiQuery and KiiClause (see core.js).
(function (sdk) {
  'use strict';

  const { _isStr: isStr, _invalidArg: invalidArg, _raise: raise, _is: is } = sdk;

  class KiiQuery {
    // new KiiQuery(other) copies other (how 2.4.19 builds nextQuery).
    constructor(query) {
      if (query instanceof KiiQuery) {
        for (const k of ['_clause', '_limit', '_sortField', '_sortDescending', '_paginationKey']) {
          if (query[k] !== undefined) this[k] = query[k];
        }
      }
    }
    getPaginationKey() { return this._paginationKey; }
    setPaginationKey(key) { this._paginationKey = key; }
    getLimit() { return this._limit; }
    setLimit(value) {
      if (!(value > 0)) raise('Unable to set query limit. Must be an integer > 0');
      this._limit = value;
    }
    sortByDesc(field) {
      this._sortField = field;
      this._sortDescending = true;
    }
    sortByAsc(field) {
      this._sortField = field;
      this._sortDescending = false;
    }
    _dictValue() {
      const data = { bestEffortLimit: this._limit };
      if (this._paginationKey != null) data.paginationKey = this._paginationKey;
      const bq = { descending: this._sortDescending };
      bq.clause = this._clause != null ? this._clause._getDictValue() : KiiQuery._emptyDictValue();
      if (this._sortField != null) bq.orderBy = this._sortField;
      data.bucketQuery = bq;
      return data;
    }
  }
  Object.assign(KiiQuery, {
    queryWithClause: function (clause) {
      const q = new KiiQuery();
      q._clause = clause;
      return q;
    },
    _emptyDictValue: function () { return { type: 'all' }; },
  });

  // A nested value that is not a clause fails when the query is built, as on Kii, and with
  // V8's words (what 2.4.19 reports as the rejection).
  function dictOf(clause) {
    if (clause == null || typeof clause._getDictValue !== 'function') {
      if (clause == null) throw new TypeError("Cannot read properties of " + clause + " (reading '_getDictValue')");
      throw new TypeError('clause._getDictValue is not a function');
    }
    return clause._getDictValue();
  }
  class KiiClause {
    _getDictValue() {
      const cs = this._whereClauses;
      if (cs && this._whereType) {
        if (cs.length === 1) {
          return this._whereType === 'not' ? { type: 'not', clause: dictOf(cs[0]) } : dictOf(cs[0]);
        }
        return { type: this._whereType, clauses: cs.map(dictOf) };
      }
      return this._dictExpression || {};
    }
  }
  function leaf(dict) {
    const c = new KiiClause();
    c._dictExpression = dict;
    return c;
  }
  function combine(type, clauses) {
    const c = new KiiClause();
    c._whereType = type;
    // KiiClause.and(a, b) as documented; a single array argument is accepted as well.
    c._whereClauses = clauses.length === 1 && Array.isArray(clauses[0]) ? clauses[0] : clauses;
    return c;
  }
  const range = (key, bound, value, included) =>
    leaf(bound === 'upper'
      ? { type: 'range', field: key, upperLimit: value, upperIncluded: included }
      : { type: 'range', field: key, lowerLimit: value, lowerIncluded: included });
  const isGeo = (p) => is(p, 'KiiGeoPoint'); // KiiGeoPoint: part `misc`

  Object.assign(KiiClause, {
    and: function (...clauses) { return combine('and', clauses); },
    or: function (...clauses) { return combine('or', clauses); },
    not: function (clause) { return combine('not', [clause]); },
    createWithWhere: function (type, clauses) { return combine(type, [...clauses]); },
    equals: function (key, value) { return leaf({ type: 'eq', field: key, value }); },
    notEquals: function (key, value) { return combine('not', [KiiClause.equals(key, value)]); },
    greaterThan: function (key, value) { return range(key, 'lower', value, false); },
    greaterThanOrEqual: function (key, value) { return range(key, 'lower', value, true); },
    lessThan: function (key, value) { return range(key, 'upper', value, false); },
    lessThanOrEqual: function (key, value) { return range(key, 'upper', value, true); },
    inClause: function (key, values) { return leaf({ type: 'in', field: key, values }); },
    in: function (key, values) { return leaf({ type: 'in', field: key, values }); },
    startsWith: function (key, prefix) { return leaf({ type: 'prefix', field: key, prefix }); },
    hasField: function (key, fieldType) {
      if (['STRING', 'INTEGER', 'DECIMAL', 'BOOLEAN'].indexOf(fieldType) < 0) raise(invalidArg('fieldType is invalid.'));
      return leaf({ type: 'hasField', field: key, fieldType });
    },
    geoDistance: function (key, center, radius, putDistanceInto) {
      if (!isStr(key)) raise(invalidArg('Specified key is not a string or is an empty string.'));
      if (!isGeo(center)) raise(invalidArg('center is not a reference of KiiGeoPoint.'));
      if (putDistanceInto != null && !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(putDistanceInto)) raise(invalidArg('putDistanceInto is invalid.'));
      if (radius <= 0 || radius > 20000000 || isNaN(radius)) raise(invalidArg('radius is invalid.'));
      return leaf({ type: 'geodistance', field: key, center: center._toDict(), radius, putDistanceInto });
    },
    geoBox: function (key, northEast, southWest) {
      if (!isStr(key)) raise(invalidArg('Specified key is not a string or is an empty string.'));
      if (!isGeo(northEast) || !isGeo(southWest)) raise(invalidArg('northEast or southWest is not a reference of KiiGeoPoint.'));
      return leaf({ type: 'geobox', field: key, box: { ne: northEast._toDict(), sw: southWest._toDict() } });
    },
  });

  [KiiQuery, KiiClause].forEach(sdk._bindMethods);
  Object.assign(sdk, { KiiQuery, KiiClause });
})
