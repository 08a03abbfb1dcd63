'use strict';
// Queries: every clause builder of KiiClause, nesting, geo, sorting, pagination, type
// sensitivity and count. Wire behaviour: shared/spec/kii-rest-wire.md §6 and §10.6.

const assert = require('node:assert/strict');
const { readEnv, randomHex, registerUser, expectReject, assertKiiError, kumoTest: test, wire } = require('./helpers');

readEnv(); // fail the whole file at once, with a clear message, if the server is not configured

// ------------------------------------------------------------------------------------------
// Local helpers

/** A unique bucket name (2-64 chars of [a-zA-Z0-9_-]). */
function uniqueBucket(prefix = 'q') {
  return `${prefix}_${Date.now().toString(36)}_${randomHex(3)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Marks a seed value as a geo point, stored with setGeoPoint. */
function geo(lat, lon) {
  return { __geo: [lat, lon] };
}

/**
 * Creates one object per entry of `docs` in `bucket`, in order, and returns them.
 * `spacingMs` waits between creations so that `_created` is strictly increasing.
 */
async function seed(sdk, bucket, docs, { spacingMs = 0 } = {}) {
  const objs = [];
  for (const doc of docs) {
    const obj = bucket.createObject();
    for (const [k, v] of Object.entries(doc)) {
      if (v && typeof v === 'object' && v.__geo) obj.setGeoPoint(k, sdk.KiiGeoPoint.geoPoint(v.__geo[0], v.__geo[1]));
      else obj.set(k, v);
    }
    await obj.save();
    assert.ok(obj.getID(), 'seeding: a saved object has no ID');
    objs.push(obj);
    if (spacingMs) await sleep(spacingMs);
  }
  return objs;
}

/**
 * Runs `query` and follows nextQuery to the end. Returns { objects, pages } where pages is the
 * list of page sizes. Checks the result shape of every page.
 */
async function queryAll(bucket, query, maxPages = 50) {
  const objects = [];
  const pages = [];
  let q = query;
  while (q) {
    const result = await bucket.executeQuery(q);
    assert.equal(result[0], q, 'executeQuery resolves with the performed query in [0]');
    assert.ok(Array.isArray(result[1]), 'executeQuery resolves with an array of results in [1]');
    objects.push(...result[1]);
    pages.push(result[1].length);
    q = result[2];
    assert.ok(q === null || typeof q === 'object', 'the next query in [2] is a KiiQuery or null');
    assert.ok(pages.length <= maxPages, `more than ${maxPages} pages: the pagination never ends`);
  }
  return { objects, pages };
}

/** Values of `field` of every object matching `clause` (all pages), in result order. */
async function valuesFor(sdk, bucket, clause, field = 'name', configure) {
  const query = sdk.KiiQuery.queryWithClause(clause);
  if (configure) configure(query);
  const { objects } = await queryAll(bucket, query);
  return objects.map((o) => o.get(field));
}

/** Like valuesFor, sorted, for clauses whose result order is unspecified. */
async function setFor(sdk, bucket, clause, field = 'name') {
  return (await valuesFor(sdk, bucket, clause, field)).sort();
}

/** Shared fixture: a user, a bucket and the five-object PRODUCE data set. */
const PRODUCE = [
  { name: 'apple', score: 10, price: 1.5, active: true, tag: 'fruit' },
  { name: 'apricot', score: 20, price: 2.25, active: false, tag: 'fruit' },
  { name: 'banana', score: 30, price: 0.5, active: true, tag: 'fruit' },
  { name: 'carrot', score: 40, price: 4.75, active: false, tag: 'veg' },
  { name: 'celery', score: 50, price: 3.5, active: true, tag: 'veg' },
];

async function produceFixture(tag, opts) {
  const u = await registerUser({ prefix: tag });
  const bucket = u.sdk.Kii.bucketWithName(uniqueBucket(tag));
  const objs = await seed(u.sdk, bucket, PRODUCE, opts);
  return { u, sdk: u.sdk, C: u.sdk.KiiClause, Q: u.sdk.KiiQuery, bucket, objs };
}

// ------------------------------------------------------------------------------------------
// All

test('queries: the all-query returns every object as a full KiiObject; result is [query, results, null]', async () => {
  const { sdk, Q, bucket, objs, u } = await produceFixture('qall');

  const query = Q.queryWithClause();
  const mark = wire.mark();
  const result = await bucket.executeQuery(query);
  assert.equal(result[0], query);
  assert.equal(result[2], null, 'five objects fit in one page: no next query');
  const results = result[1];
  assert.equal(results.length, 5);
  const req = wire.last('POST', /\/buckets\/[^/]+\/query$/, mark);
  assert.ok(req, 'no POST .../query was recorded');
  assert.equal(req.reqHeaders['content-type'], 'application/vnd.kii.QueryRequest+json');
  assert.deepEqual(wire.requestJson(req), { bucketQuery: { clause: { type: 'all' } } });
  assert.equal(req.status, 200);

  // Each result is a full object document (kii-rest-wire.md §6.3).
  const byId = new Map(objs.map((o) => [o.getID(), o]));
  for (const r of results) {
    const orig = byId.get(r.getID());
    assert.ok(orig, `unexpected object ${r.getID()} in the results`);
    byId.delete(r.getID());
    assert.equal(r.get('name'), orig.get('name'));
    assert.equal(r.get('score'), orig.get('score'));
    assert.equal(r.get('price'), orig.get('price'));
    assert.equal(r.get('active'), orig.get('active'));
    assert.equal(r.getCreated(), orig.getCreated());
    assert.equal(typeof r.getModified(), 'number');
  }
  assert.equal(byId.size, 0, 'every object is returned exactly once');
  for (const doc of JSON.parse(req.resText).results) {
    assert.equal(doc._owner, u.id);
    assert.equal(doc._version, '1', `query results carry _version as a string, got ${JSON.stringify(doc._version)}`);
  }

  // executeQuery(null) is the same as the all-query.
  const [performed, all, next] = await bucket.executeQuery(null);
  assert.equal(performed, null);
  assert.equal(all.length, 5);
  assert.equal(next, null);
  assert.deepEqual(await setFor(sdk, bucket, null), PRODUCE.map((d) => d.name).sort());
});

test('queries: a result object carries its version: save(null,false) works, and is refused once stale', async () => {
  const { C, Q, bucket } = await produceFixture('qver');
  const [, [hit]] = await bucket.executeQuery(Q.queryWithClause(C.equals('name', 'banana')));
  assert.ok(hit, 'banana not found');
  hit.set('score', 31);
  const mark = wire.mark();
  await hit.save(null, false); // If-Match from the query's _version
  const patch = wire.last('POST', /\/objects\/[^/]+$/, mark);
  assert.equal(patch.reqHeaders['if-match'], '1', 'the version of a query result comes from its _version');

  const [, [again]] = await bucket.executeQuery(Q.queryWithClause(C.equals('name', 'banana')));
  assert.equal(again.get('score'), 31);

  // `again` holds version 2; after `hit` writes version 3 it is stale.
  hit.set('score', 32);
  await hit.save(null, false);
  again.set('score', 0);
  const r = await expectReject(again.save(null, false), 'a conditional save with a stale query result');
  assertKiiError(r, 'OBJECT_VERSION_IS_STALE', 409);
  const [, [last]] = await bucket.executeQuery(Q.queryWithClause(C.equals('name', 'banana')));
  assert.equal(last.get('score'), 32);
});

// ------------------------------------------------------------------------------------------
// Single-field clauses

test('queries: equals matches strings, integers, decimals and booleans exactly', async () => {
  const { sdk, C, bucket } = await produceFixture('qeq');
  assert.deepEqual(await setFor(sdk, bucket, C.equals('name', 'banana')), ['banana']);
  assert.deepEqual(await setFor(sdk, bucket, C.equals('score', 20)), ['apricot']);
  assert.deepEqual(await setFor(sdk, bucket, C.equals('price', 0.5)), ['banana']);
  assert.deepEqual(await setFor(sdk, bucket, C.equals('active', true)), ['apple', 'banana', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.equals('active', false)), ['apricot', 'carrot']);
  assert.deepEqual(await setFor(sdk, bucket, C.equals('tag', 'veg')), ['carrot', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.equals('name', 'Banana')), [], 'equality on strings is case-sensitive');
  assert.deepEqual(await setFor(sdk, bucket, C.equals('name', 'nope')), []);
  assert.deepEqual(await setFor(sdk, bucket, C.equals('missing', 'x')), [], 'no object has the field');
});

test('queries: notEquals is the complement of equals', async () => {
  const { sdk, C, bucket } = await produceFixture('qne');
  assert.deepEqual(await setFor(sdk, bucket, C.notEquals('tag', 'fruit')), ['carrot', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.notEquals('active', true)), ['apricot', 'carrot']);
  assert.deepEqual(await setFor(sdk, bucket, C.notEquals('score', 30)), ['apple', 'apricot', 'carrot', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.notEquals('name', 'zzz')), PRODUCE.map((d) => d.name).sort());
});

test('queries: greaterThan / greaterThanOrEqual / lessThan / lessThanOrEqual on integers, decimals and strings', async () => {
  const { sdk, C, bucket } = await produceFixture('qrng');
  // integers
  assert.deepEqual(await setFor(sdk, bucket, C.greaterThan('score', 20)), ['banana', 'carrot', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.greaterThanOrEqual('score', 20)), ['apricot', 'banana', 'carrot', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.lessThan('score', 30)), ['apple', 'apricot']);
  assert.deepEqual(await setFor(sdk, bucket, C.lessThanOrEqual('score', 30)), ['apple', 'apricot', 'banana']);
  assert.deepEqual(await setFor(sdk, bucket, C.greaterThan('score', 50)), []);
  assert.deepEqual(await setFor(sdk, bucket, C.lessThanOrEqual('score', 10)), ['apple']);
  // both bounds (two range clauses under and)
  assert.deepEqual(
    await setFor(sdk, bucket, C.and(C.greaterThanOrEqual('score', 20), C.lessThan('score', 40))),
    ['apricot', 'banana'],
  );
  // decimals
  assert.deepEqual(await setFor(sdk, bucket, C.greaterThan('price', 1.25)), ['apple', 'apricot', 'carrot', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.lessThanOrEqual('price', 1.5)), ['apple', 'banana']);
  assert.deepEqual(await setFor(sdk, bucket, C.lessThan('price', 1.5)), ['banana']);
  assert.deepEqual(await setFor(sdk, bucket, C.greaterThanOrEqual('price', 4.75)), ['carrot']);
  // strings (lexicographic)
  assert.deepEqual(await setFor(sdk, bucket, C.greaterThan('name', 'banana')), ['carrot', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.greaterThanOrEqual('name', 'banana')), ['banana', 'carrot', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.lessThan('name', 'b')), ['apple', 'apricot']);
  assert.deepEqual(await setFor(sdk, bucket, C.lessThanOrEqual('name', 'apricot')), ['apple', 'apricot']);
});

test('queries: inClause (and KiiClause.in) matches any listed value', async () => {
  const { sdk, C, bucket } = await produceFixture('qin');
  assert.deepEqual(await setFor(sdk, bucket, C.inClause('name', ['apple', 'carrot', 'zebra'])), ['apple', 'carrot']);
  assert.deepEqual(await setFor(sdk, bucket, C.inClause('score', [10, 50, 99])), ['apple', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.inClause('price', [0.5, 3.5])), ['banana', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C['in']('tag', ['veg'])), ['carrot', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.inClause('name', ['zebra'])), []);
  assert.deepEqual(await setFor(sdk, bucket, C.inClause('name', ['banana'])), ['banana']);
});

test('queries: startsWith matches string prefixes', async () => {
  const { sdk, C, bucket } = await produceFixture('qpre');
  assert.deepEqual(await setFor(sdk, bucket, C.startsWith('name', 'ap')), ['apple', 'apricot']);
  assert.deepEqual(await setFor(sdk, bucket, C.startsWith('name', 'c')), ['carrot', 'celery']);
  assert.deepEqual(await setFor(sdk, bucket, C.startsWith('name', 'apple')), ['apple'], 'a whole value is its own prefix');
  assert.deepEqual(await setFor(sdk, bucket, C.startsWith('name', 'applesauce')), []);
  assert.deepEqual(await setFor(sdk, bucket, C.startsWith('name', 'x')), []);
  assert.deepEqual(await setFor(sdk, bucket, C.startsWith('tag', 'fr')), ['apple', 'apricot', 'banana']);
});

test('queries: hasField matches the field only when its value has the given type', async () => {
  const u = await registerUser({ prefix: 'qhas' });
  const { KiiClause: C } = u.sdk;
  const bucket = u.sdk.Kii.bucketWithName(uniqueBucket('qhas'));
  await seed(u.sdk, bucket, [
    { name: 's', v: 'text' },
    { name: 's0', v: '' },
    { name: 'i', v: 7 },
    { name: 'i0', v: 0 },
    { name: 'neg', v: -3 },
    { name: 'd', v: 7.5 },
    { name: 'b', v: true },
    { name: 'bf', v: false },
    { name: 'none' },
  ]);
  assert.deepEqual(await setFor(u.sdk, bucket, C.hasField('v', 'STRING')), ['s', 's0']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.hasField('v', 'INTEGER')), ['i', 'i0', 'neg']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.hasField('v', 'DECIMAL')), ['d']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.hasField('v', 'BOOLEAN')), ['b', 'bf']);
  assert.equal((await setFor(u.sdk, bucket, C.hasField('name', 'STRING'))).length, 9);
  assert.deepEqual(await setFor(u.sdk, bucket, C.hasField('nothing', 'STRING')), []);
  assert.deepEqual(
    await setFor(u.sdk, bucket, C.not(C.hasField('v', 'STRING'))),
    ['b', 'bf', 'd', 'i', 'i0', 'neg', 'none'],
    'not(hasField) also matches objects without the field',
  );
});

// ------------------------------------------------------------------------------------------
// Combinations

test('queries: and / or / not nest to any depth; a single-clause and/or is that clause', async () => {
  const { sdk, C, bucket } = await produceFixture('qnest');
  // or(and(tag = fruit, score > 15), name = carrot)
  assert.deepEqual(
    await setFor(sdk, bucket, C.or(C.and(C.equals('tag', 'fruit'), C.greaterThan('score', 15)), C.equals('name', 'carrot'))),
    ['apricot', 'banana', 'carrot'],
  );
  // and(not(startsWith(name, a)), or(active = true, score >= 40))
  assert.deepEqual(
    await setFor(sdk, bucket, C.and(C.not(C.startsWith('name', 'a')), C.or(C.equals('active', true), C.greaterThanOrEqual('score', 40)))),
    ['banana', 'carrot', 'celery'],
  );
  // not(or(name = apple, score < 0)) and the double negation of a clause
  assert.deepEqual(
    await setFor(sdk, bucket, C.not(C.or(C.equals('name', 'apple'), C.lessThan('score', 0)))),
    ['apricot', 'banana', 'carrot', 'celery'],
  );
  assert.deepEqual(await setFor(sdk, bucket, C.not(C.not(C.equals('tag', 'veg')))), ['carrot', 'celery']);
  // three levels: and(or(and(...), ...), not(...))
  assert.deepEqual(
    await setFor(
      sdk,
      bucket,
      C.and(
        C.or(C.and(C.equals('tag', 'fruit'), C.equals('active', true)), C.inClause('name', ['carrot', 'celery'])),
        C.not(C.greaterThan('price', 4)),
      ),
    ),
    ['apple', 'banana', 'celery'],
  );
  // and of many clauses of every kind (kii-rest-wire.md §10.6 shape)
  assert.deepEqual(
    await setFor(
      sdk,
      bucket,
      C.and(
        C.greaterThan('score', 5),
        C.lessThanOrEqual('score', 100),
        C.notEquals('name', 'celery'),
        C.or(C.inClause('score', [10, 30]), C.startsWith('name', 'car')),
        C.not(C.hasField('nothing', 'STRING')),
      ),
    ),
    ['apple', 'banana', 'carrot'],
  );
  // a contradiction and a tautology
  assert.deepEqual(await setFor(sdk, bucket, C.and(C.equals('tag', 'veg'), C.equals('tag', 'fruit'))), []);
  assert.equal((await setFor(sdk, bucket, C.or(C.equals('tag', 'veg'), C.notEquals('tag', 'veg')))).length, 5);
  // single-argument and/or collapse to the clause itself
  const mark = wire.mark();
  assert.deepEqual(await setFor(sdk, bucket, C.and(C.equals('name', 'apple'))), ['apple']);
  assert.deepEqual(wire.requestJson(wire.last('POST', /\/query$/, mark)).bucketQuery.clause, {
    type: 'eq',
    field: 'name',
    value: 'apple',
  });
  assert.deepEqual(await setFor(sdk, bucket, C.or(C.equals('name', 'celery'))), ['celery']);
});

test('queries: not / notEquals also match objects that lack the field (not is the complement of its clause)', async () => {
  const u = await registerUser({ prefix: 'qnot' });
  const C = u.sdk.KiiClause;
  const bucket = u.sdk.Kii.bucketWithName(uniqueBucket('qnot'));
  await seed(u.sdk, bucket, [{ name: 'red', color: 'red' }, { name: 'blue', color: 'blue' }, { name: 'plain' }]);
  assert.deepEqual(await setFor(u.sdk, bucket, C.notEquals('color', 'red')), ['blue', 'plain']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.not(C.startsWith('color', 'b'))), ['plain', 'red']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.not(C.greaterThan('color', 'a'))), ['plain']);
});

// ------------------------------------------------------------------------------------------
// Geo

const CENTER = [35.6812, 139.7671]; // Tokyo Station
const PLACES = {
  shinjuku: [35.6895, 139.6917], // ~6.9 km from the center
  kawasaki: [35.5308, 139.703], // ~17.6 km
  yokohama: [35.4437, 139.638], // ~28.8 km
  osaka: [34.6937, 135.5023], // ~400 km
  sapporo: [43.0618, 141.3545], // ~830 km
};

function haversineMeters([lat1, lon1], [lat2, lon2]) {
  const R = 6371008.8;
  const rad = (d) => (d * Math.PI) / 180;
  const dLat = rad(lat2 - lat1);
  const dLon = rad(lon2 - lon1);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}

async function geoFixture(tag) {
  const u = await registerUser({ prefix: tag });
  const bucket = u.sdk.Kii.bucketWithName(uniqueBucket(tag));
  const docs = Object.entries(PLACES).map(([name, p]) => ({ name, loc: geo(p[0], p[1]) }));
  docs.push({ name: 'nowhere' });
  docs.push({ name: 'notapoint', loc: 'somewhere' });
  await seed(u.sdk, bucket, docs);
  return { u, sdk: u.sdk, C: u.sdk.KiiClause, Q: u.sdk.KiiQuery, G: u.sdk.KiiGeoPoint, bucket };
}

test('queries: geoBox returns the points inside the box; geo points round-trip', async () => {
  const { sdk, C, G, bucket } = await geoFixture('qbox');
  assert.deepEqual(
    await setFor(sdk, bucket, C.geoBox('loc', G.geoPoint(36.0, 140.0), G.geoPoint(35.5, 139.5))),
    ['kawasaki', 'shinjuku'],
  );
  assert.deepEqual(
    await setFor(sdk, bucket, C.geoBox('loc', G.geoPoint(35.7, 139.8), G.geoPoint(35.4, 139.6))),
    ['kawasaki', 'shinjuku', 'yokohama'],
  );
  assert.deepEqual(await setFor(sdk, bucket, C.geoBox('loc', G.geoPoint(35, 136), G.geoPoint(34, 135))), ['osaka']);
  assert.deepEqual(await setFor(sdk, bucket, C.geoBox('loc', G.geoPoint(-10, -10), G.geoPoint(-20, -20))), []);
  // combined with another clause
  assert.deepEqual(
    await setFor(sdk, bucket, C.and(C.geoBox('loc', G.geoPoint(36.0, 140.0), G.geoPoint(35.0, 139.0)), C.notEquals('name', 'kawasaki'))),
    ['shinjuku', 'yokohama'],
  );

  const [, [hit]] = await bucket.executeQuery(sdk.KiiQuery.queryWithClause(C.equals('name', 'osaka')));
  const p = hit.getGeoPoint('loc');
  assert.equal(p.getLatitude(), PLACES.osaka[0]);
  assert.equal(p.getLongitude(), PLACES.osaka[1]);
  assert.deepEqual(hit.get('loc'), { _type: 'point', lat: PLACES.osaka[0], lon: PLACES.osaka[1] });
});

test('queries: geoDistance with putDistanceInto, sorted by _calculated.<name> ascending, gives the distances', async () => {
  const { sdk, C, Q, G, bucket } = await geoFixture('qdist');
  const center = G.geoPoint(CENTER[0], CENTER[1]);

  const query = Q.queryWithClause(C.geoDistance('loc', center, 50000, 'dist'));
  query.sortByAsc('_calculated.dist');
  const mark = wire.mark();
  const { objects } = await queryAll(bucket, query);
  const sent = wire.requestJson(wire.last('POST', /\/query$/, mark));
  assert.equal(sent.bucketQuery.orderBy, '_calculated.dist');
  assert.deepEqual(
    objects.map((o) => o.get('name')),
    ['shinjuku', 'kawasaki', 'yokohama'],
    'points within 50 km, nearest first',
  );
  for (const o of objects) {
    const calc = o.get('_calculated');
    assert.ok(calc && typeof calc === 'object', `${o.get('name')}: the result should carry _calculated, got ${JSON.stringify(calc)}`);
    assert.equal(typeof calc.dist, 'number', `${o.get('name')}: _calculated.dist should be a number`);
    const expected = haversineMeters(CENTER, PLACES[o.get('name')]);
    assert.ok(
      Math.abs(calc.dist - expected) <= expected * 0.01,
      `${o.get('name')}: distance ${calc.dist} m, expected about ${Math.round(expected)} m (meters, great-circle)`,
    );
    assert.equal(o.get('loc').lat, PLACES[o.get('name')][0], 'the stored point is returned unchanged');
  }

  // A smaller radius, and no putDistanceInto: no _calculated in the results.
  const small = await queryAll(bucket, Q.queryWithClause(C.geoDistance('loc', center, 10000)));
  assert.deepEqual(small.objects.map((o) => o.get('name')), ['shinjuku']);
  assert.equal(small.objects[0].get('_calculated'), undefined, 'without putDistanceInto there is no _calculated');

  // Far enough to reach Osaka but not Sapporo.
  assert.deepEqual(
    await setFor(sdk, bucket, C.geoDistance('loc', center, 500000, 'd')),
    ['kawasaki', 'osaka', 'shinjuku', 'yokohama'],
  );
  // Combined with another clause.
  assert.deepEqual(
    await valuesFor(sdk, bucket, C.and(C.geoDistance('loc', center, 50000, 'd2'), C.notEquals('name', 'shinjuku')), 'name', (q) =>
      q.sortByAsc('_calculated.d2'),
    ),
    ['kawasaki', 'yokohama'],
  );
});

// ------------------------------------------------------------------------------------------
// Sorting

test('queries: sortByAsc / sortByDesc on integer, decimal and string fields and on _created', async () => {
  const { sdk, C, bucket } = await produceFixture('qsort', { spacingMs: 5 });
  const all = null;
  const asc = (f) => (q) => q.sortByAsc(f);
  const desc = (f) => (q) => q.sortByDesc(f);
  const names = ['apple', 'apricot', 'banana', 'carrot', 'celery'];

  assert.deepEqual(await valuesFor(sdk, bucket, all, 'name', asc('score')), names);
  assert.deepEqual(await valuesFor(sdk, bucket, all, 'name', desc('score')), [...names].reverse());
  assert.deepEqual(await valuesFor(sdk, bucket, all, 'name', asc('price')), ['banana', 'apple', 'apricot', 'celery', 'carrot']);
  assert.deepEqual(await valuesFor(sdk, bucket, all, 'name', desc('price')), ['carrot', 'celery', 'apricot', 'apple', 'banana']);
  assert.deepEqual(await valuesFor(sdk, bucket, all, 'name', desc('name')), [...names].reverse());
  assert.deepEqual(await valuesFor(sdk, bucket, all, 'name', asc('name')), names);

  // System field: _created (the fixture was created in PRODUCE order, 5 ms apart).
  assert.deepEqual(await valuesFor(sdk, bucket, all, 'name', asc('_created')), names);
  assert.deepEqual(await valuesFor(sdk, bucket, all, 'name', desc('_created')), [...names].reverse());

  // Sort combined with a filter; the request carries orderBy/descending.
  const mark = wire.mark();
  assert.deepEqual(await valuesFor(sdk, bucket, C.equals('tag', 'fruit'), 'name', desc('score')), ['banana', 'apricot', 'apple']);
  const sent = wire.requestJson(wire.last('POST', /\/query$/, mark)).bucketQuery;
  assert.equal(sent.orderBy, 'score');
  assert.equal(sent.descending, true);
  assert.deepEqual(await valuesFor(sdk, bucket, C.greaterThan('score', 10), 'score', asc('score')), [20, 30, 40, 50]);

  // _modified follows writes: touching apple makes it the most recently modified.
  const [, [apple]] = await bucket.executeQuery(sdk.KiiQuery.queryWithClause(C.equals('name', 'apple')));
  await sleep(5);
  apple.set('touched', true);
  await apple.save();
  const byModified = await valuesFor(sdk, bucket, all, 'name', desc('_modified'));
  assert.equal(byModified[0], 'apple', `sortByDesc('_modified') should put the last written object first, got ${byModified}`);
});

// ------------------------------------------------------------------------------------------
// Pagination

test('queries: setLimit(7) over 25 objects gives 4 pages that return every object exactly once', async () => {
  const u = await registerUser({ prefix: 'qpage' });
  const { KiiQuery: Q, KiiClause: C } = u.sdk;
  const bucket = u.sdk.Kii.bucketWithName(uniqueBucket('qpage'));
  const docs = [];
  for (let n = 0; n < 25; n++) docs.push({ n, parity: n % 2 });
  const objs = await seed(u.sdk, bucket, docs);

  // Sorted: pages in order, the next query repeats the limit and carries the pagination key.
  const sorted = Q.queryWithClause();
  sorted.setLimit(7);
  sorted.sortByAsc('n');
  const mark = wire.mark();
  const { objects, pages } = await queryAll(bucket, sorted);
  assert.deepEqual(
    objects.map((o) => o.get('n')),
    docs.map((d) => d.n),
    'following nextQuery returns all 25 objects, in order, exactly once',
  );
  assert.equal(pages.length, 4, `25 objects with limit 7 should take 4 pages, got page sizes ${pages}`);
  assert.ok(pages.every((p) => p <= 7), `no page may exceed the limit of 7; page sizes ${pages}`);
  const requests = wire.since(mark).filter((e) => e.method === 'POST' && /\/query$/.test(wire.path(e)));
  assert.equal(requests.length, 4);
  const bodies = requests.map((e) => wire.requestJson(e));
  assert.equal(bodies[0].paginationKey, undefined, 'the first request has no pagination key');
  for (const b of bodies) assert.equal(b.bestEffortLimit, 7);
  for (const b of bodies.slice(1)) assert.equal(typeof b.paginationKey, 'string', 'later requests carry the key');
  const responses = requests.map((e) => JSON.parse(e.resText));
  assert.equal(responses[3].nextPaginationKey == null, true, 'the last page has no nextPaginationKey');

  // Unsorted: the union of the pages is still every object exactly once.
  const unsorted = Q.queryWithClause();
  unsorted.setLimit(7);
  const plain = await queryAll(bucket, unsorted);
  const ids = plain.objects.map((o) => o.getID());
  assert.equal(ids.length, 25, `expected 25 results over all pages, got ${ids.length} (page sizes ${plain.pages})`);
  assert.equal(new Set(ids).size, 25, 'an object was returned twice');
  assert.deepEqual([...ids].sort(), objs.map((o) => o.getID()).sort());
  assert.equal(plain.pages.length, 4, `page sizes ${plain.pages}`);

  // With a clause and a descending sort: 15 matches, limit 4 -> 4 pages.
  const filtered = Q.queryWithClause(C.greaterThanOrEqual('n', 10));
  filtered.setLimit(4);
  filtered.sortByDesc('n');
  const f = await queryAll(bucket, filtered);
  assert.deepEqual(
    f.objects.map((o) => o.get('n')),
    Array.from({ length: 15 }, (_, i) => 24 - i),
  );
  assert.equal(f.pages.length, 4, `15 matches with limit 4 should take 4 pages, got ${f.pages}`);

  // A limit larger than the result set: one page, no next query.
  const big = Q.queryWithClause(C.equals('parity', 1));
  big.setLimit(100);
  const [, odd, next] = await bucket.executeQuery(big);
  assert.equal(odd.length, 12);
  assert.equal(next, null);
});

// ------------------------------------------------------------------------------------------
// Types

test('queries: comparisons are type-sensitive: 5 and "5", true and 1 never match each other', async () => {
  const u = await registerUser({ prefix: 'qtype' });
  const { KiiClause: C, KiiQuery: Q } = u.sdk;
  const bucket = u.sdk.Kii.bucketWithName(uniqueBucket('qtype'));
  await seed(u.sdk, bucket, [
    { name: 'num', v: 5 },
    { name: 'str', v: '5' },
    { name: 'bool', v: true },
    { name: 'one', v: 1 },
    { name: 'strtrue', v: 'true' },
  ]);
  assert.deepEqual(await setFor(u.sdk, bucket, C.equals('v', 5)), ['num']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.equals('v', '5')), ['str']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.equals('v', true)), ['bool']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.equals('v', 1)), ['one']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.equals('v', 'true')), ['strtrue']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.inClause('v', [5])), ['num']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.inClause('v', ['5'])), ['str']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.inClause('v', ['5', 1])), ['one', 'str']);
  assert.deepEqual(await setFor(u.sdk, bucket, C.greaterThan('v', 4)), ['num'], 'a numeric range ignores strings and booleans');
  assert.deepEqual(await setFor(u.sdk, bucket, C.lessThan('v', 2)), ['one'], 'a numeric range ignores booleans');
  assert.deepEqual(await setFor(u.sdk, bucket, C.greaterThanOrEqual('v', '5')), ['str', 'strtrue'], 'a string range ignores numbers');
  assert.deepEqual(await setFor(u.sdk, bucket, C.startsWith('v', '5')), ['str'], 'a prefix matches strings only');
  assert.deepEqual(await setFor(u.sdk, bucket, C.notEquals('v', 5)), ['bool', 'one', 'str', 'strtrue']);
  const [, , count] = await bucket.countWithQuery(Q.queryWithClause(C.equals('v', 5)));
  assert.equal(count, 1);
});

// ------------------------------------------------------------------------------------------
// Count and scopes

test('queries: countWithQuery counts what executeQuery returns', async () => {
  const { C, Q, bucket } = await produceFixture('qcount');
  const count = async (clause) => (await bucket.countWithQuery(clause === undefined ? null : Q.queryWithClause(clause)))[2];
  assert.equal(await count(undefined), 5);
  assert.equal(await count(C.equals('tag', 'fruit')), 3);
  assert.equal(await count(C.or(C.equals('tag', 'veg'), C.lessThan('score', 15))), 3);
  assert.equal(await count(C.greaterThan('score', 100)), 0);
  assert.equal(await count(C.hasField('price', 'DECIMAL')), 5);
  assert.equal(await count(C.startsWith('name', 'ap')), 2);

  // A limit and sort on the query do not change the count.
  const q = Q.queryWithClause(C.equals('tag', 'fruit'));
  q.setLimit(1);
  q.sortByDesc('score');
  const result = await bucket.countWithQuery(q);
  assert.equal(result[0], bucket);
  assert.equal(result[1], q);
  assert.equal(result[2], 3);
});

test('queries: work the same in user-scope and group-scope buckets', async () => {
  const u = await registerUser({ prefix: 'qscope' });
  const { KiiClause: C } = u.sdk;
  const name = uniqueBucket('qscope');
  const userBucket = u.user.bucketWithName(name);
  await seed(u.sdk, userBucket, PRODUCE);
  const group = u.sdk.Kii.groupWithName('qscope');
  await group.save();
  const groupBucket = group.bucketWithName(name);
  await seed(u.sdk, groupBucket, PRODUCE.slice(0, 3));

  assert.deepEqual(await setFor(u.sdk, userBucket, C.equals('tag', 'veg')), ['carrot', 'celery']);
  assert.deepEqual(await setFor(u.sdk, groupBucket, C.equals('tag', 'veg')), []);
  assert.deepEqual(await setFor(u.sdk, groupBucket, C.greaterThan('score', 10)), ['apricot', 'banana']);
  assert.equal((await userBucket.count())[2], 5);
  assert.equal((await groupBucket.count())[2], 3);
  // An app bucket of the same name has nothing.
  const appBucket = u.sdk.Kii.bucketWithName(name);
  let appCount;
  try {
    appCount = (await appBucket.count())[2];
  } catch (e) {
    assert.match(e.message, /^BUCKET_NOT_FOUND/, `a missing bucket should count 0 or answer BUCKET_NOT_FOUND, got ${e.message}`);
    appCount = 0;
  }
  assert.equal(appCount, 0);
});
