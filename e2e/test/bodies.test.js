'use strict';
// Object bodies through the real SDK's KiiObject#uploadBody, downloadBody, publishBody,
// publishBodyExpiresAt, publishBodyExpiresIn and deleteBody (kii-cloud-sdk 2.4.19).
//
// Those methods need what a browser has: XMLHttpRequest Level 2 (a Blob sent as the body, a
// Blob as the response) and FileReader. The `xmlhttprequest` package the SDK's Node build
// uses has neither, so this file (its own process under `node --test`) gives it both before
// the SDK is loaded: requests that send a Blob or ask for a Blob response go through fetch;
// every other request is left to the package as in the other files. The SDK is not changed.

const path = require('node:path');

const sdkDir = path.dirname(require.resolve('kii-cloud-sdk'));
const xhrModule = require(require.resolve('xmlhttprequest', { paths: [sdkDir] }));
const NodeXHR = xhrModule.XMLHttpRequest;

function BrowserLikeXHR() {
  NodeXHR.call(this);
  const self = this;
  const nodeOpen = this.open;
  const nodeSend = this.send;
  const nodeSetHeader = this.setRequestHeader;
  let method = 'GET';
  let url = '';
  const headers = {};
  this.responseType = '';
  this.upload = { addEventListener() {} };
  this.open = function (m, u, ...rest) {
    method = m;
    url = String(u);
    return nodeOpen.call(this, m, u, ...rest);
  };
  this.setRequestHeader = function (name, value) {
    headers[name] = value;
    return nodeSetHeader.call(this, name, value);
  };
  this.send = function (data) {
    const blobOut = typeof Blob !== 'undefined' && data instanceof Blob;
    if (!blobOut && self.responseType !== 'blob') return nodeSend.call(this, data);
    fetch(url, { method, headers, body: data == null ? undefined : data })
      .then(async (res) => {
        const bytes = Buffer.from(await res.arrayBuffer());
        self.status = res.status;
        self.responseText = self.responseType === 'blob' ? '' : bytes.toString('utf8');
        self.response =
          self.responseType === 'blob' ? new Blob([bytes], { type: res.headers.get('content-type') || '' }) : self.responseText;
        self.getResponseHeader = (name) => res.headers.get(name);
        self.readyState = 4;
        self.dispatchEvent('readystatechange');
      })
      .catch(() => {
        self.status = 0;
        self.readyState = 4;
        self.dispatchEvent('readystatechange');
      });
  };
}
xhrModule.XMLHttpRequest = BrowserLikeXHR;

if (typeof globalThis.FileReader === 'undefined') {
  globalThis.FileReader = class FileReader {
    readAsText(blob) {
      blob.text().then((text) => {
        this.result = text;
        if (typeof this.onload === 'function') this.onload();
      });
    }
  };
}

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { readEnv, randomHex, registerUser, expectReject, kumoTest: test } = require('./helpers');

readEnv();

async function savedObject(sdk, scope) {
  const bucket = scope
    ? scope.bucketWithName(`bodies_${randomHex(3)}`)
    : sdk.Kii.bucketWithName(`bodies_${randomHex(3)}`);
  const obj = bucket.createObject();
  obj.set('title', 'with a body');
  await obj.save();
  return obj;
}

test('uploadBody then downloadBody return the same bytes and content type', async () => {
  const { sdk } = await registerUser();
  const obj = await savedObject(sdk);
  const uploaded = await obj.uploadBody(new Blob(['Hello Blob'], { type: 'text/plain' }));
  assert.equal(uploaded, obj);
  assert.equal(obj.getBodyContentType(), 'text/plain');

  const [same, blob] = await obj.downloadBody();
  assert.equal(same, obj);
  assert.equal(await blob.text(), 'Hello Blob');
  assert.equal(blob.type, 'text/plain');
  assert.equal(obj.getBodyContentType(), 'text/plain');
});

test('a binary body of 1.5 MiB in a user-scope bucket comes back byte for byte', async () => {
  const { sdk, user } = await registerUser();
  const obj = await savedObject(sdk, user);
  const bytes = crypto.randomBytes(1536 * 1024);
  await obj.uploadBody(new Blob([bytes], { type: 'application/octet-stream' }));
  const [, blob] = await obj.downloadBody();
  const back = Buffer.from(await blob.arrayBuffer());
  assert.equal(back.length, bytes.length);
  assert.ok(back.equals(bytes), 'downloaded bytes differ');
  // Uploading again replaces it.
  await obj.uploadBody(new Blob(['{"v":2}'], { type: 'application/json' }));
  const [, second] = await obj.downloadBody();
  assert.equal(await second.text(), '{"v":2}');
  assert.equal(obj.getBodyContentType(), 'application/json');
});

test('publishBody, publishBodyExpiresIn and publishBodyExpiresAt give URLs that work without a token', async () => {
  const { sdk } = await registerUser();
  const obj = await savedObject(sdk);
  await obj.uploadBody(new Blob(['<h1>public</h1>'], { type: 'text/html' }));
  const [o1, forever] = await obj.publishBody();
  assert.equal(o1, obj);
  const [, inAnHour] = await obj.publishBodyExpiresIn(3600);
  const [, atDate] = await obj.publishBodyExpiresAt(new Date(Date.now() + 60 * 60 * 1000));
  for (const url of [forever, inAnHour, atDate]) {
    assert.match(url, /^https?:\/\//);
    const res = await fetch(url);
    assert.equal(res.status, 200, url);
    assert.equal(res.headers.get('content-type'), 'text/html');
    assert.equal(await res.text(), '<h1>public</h1>');
  }
  assert.equal(new Set([forever, inAnHour, atDate]).size, 3);
});

test('deleteBody removes it: downloadBody and publishBody then fail with OBJECT_BODY_NOT_FOUND', async () => {
  const { sdk } = await registerUser();
  const obj = await savedObject(sdk);
  await obj.uploadBody(new Blob(['short-lived'], { type: 'text/plain' }));
  const deleted = await obj.deleteBody();
  assert.equal(deleted, obj);
  const down = await expectReject(obj.downloadBody(), 'downloadBody after deleteBody');
  assert.match(down.raw, /404/);
  assert.match(down.raw, /OBJECT_BODY_NOT_FOUND/);
  const pub = await expectReject(obj.publishBody(), 'publishBody without a body');
  assert.match(pub.raw, /OBJECT_BODY_NOT_FOUND/);
  const again = await expectReject(obj.deleteBody(), 'deleteBody twice');
  assert.match(again.raw, /404/);
});

test('another user cannot upload over a user-scope body, and the failure callback says why', async () => {
  const alice = await registerUser();
  const obj = await savedObject(alice.sdk, alice.user);
  await obj.uploadBody(new Blob(['mine'], { type: 'text/plain' }));
  const bob = await registerUser();
  const foreign = bob.sdk.KiiObject.objectWithURI(obj.objectURI());
  const message = await new Promise((resolve) => {
    // With callbacks the returned promise rejects too; that is not what is tested here.
    foreign
      .uploadBody(new Blob(['yours'], { type: 'text/plain' }), {
        success: () => resolve('success'),
        failure: (o, msg) => resolve(msg),
      })
      .catch(() => {});
  });
  assert.match(message, /statusCode: 403/);
  assert.match(message, /ACCESS_DENIED/);
  const [, blob] = await obj.downloadBody();
  assert.equal(await blob.text(), 'mine');
});

test('uploadBody refuses what is not a Blob before any request', async () => {
  const { sdk } = await registerUser();
  const obj = await savedObject(sdk);
  const r = await expectReject(obj.uploadBody('not a blob'), 'uploadBody("not a blob")');
  assert.match(r.raw, /Invalid parameter/);
});
