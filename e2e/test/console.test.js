'use strict';
// The web console (/console/) in a real browser: headless Chromium (Debian's package) driven
// by playwright-core. Signs in, deploys code that fails verification and sees the error at its
// line and column, deploys good code by drag-and-drop, makes it current, runs an endpoint,
// uploads hook configs (refused, then accepted) and runs a job now, shows tenant code holding
// markup as text, deletes a version; on the Data page creates, queries, pages, edits and
// deletes an object and changes its ACL; finds a user and opens a group; switches apps,
// signs out.
//
// It works in the app named by KUMO_CONSOLE_APP_ID / _CLIENT_ID / _CLIENT_SECRET (the Rust
// harness creates one), because it moves the current server-code version, which
// servercode.test.js owns in the default app; without them it uses the default app.
// Screenshots of each page go to KUMO_CONSOLE_SCREENSHOTS (default target/console-screenshots).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test, before, after } = require('node:test');
const { chromium } = require('playwright-core');
const { readEnv } = require('./helpers');

const env = readEnv();
const CHROMIUM = process.env.KUMO_CHROMIUM || '/usr/bin/chromium';
const consoleUrl = env.site.replace(/\/api$/, '') + '/console/';
const own = {
  appId: process.env.KUMO_CONSOLE_APP_ID || env.appId,
  clientId: process.env.KUMO_CONSOLE_CLIENT_ID || env.clientId,
  clientSecret: process.env.KUMO_CONSOLE_CLIENT_SECRET || env.clientSecret,
};
const shots = process.env.KUMO_CONSOLE_SCREENSHOTS ||
  path.join(__dirname, '..', '..', 'target', 'console-screenshots');
const TIMEOUT = 60000;

const BAD_CODE = [
  'function ok(params, context) {',
  '  return 1;',
  '}',
  'function broken(params, context) {',
  '  var x = ;',
  '}',
  '',
].join('\n');
const XSS = '<img src=x onerror=window.__xss=1>';
const GOOD_CODE = [
  'function hello(params, context) {',
  '  return { greeting: "hi " + params.name };',
  '}',
  'function fails(params, context) {',
  '  throw new Error("the nightly clean-up broke");',
  '}',
  'function shout(params, context) {',
  '  console.log("shout " + params.tag + " ' + XSS + '");',
  '  console.error("trace " + params.tag + "\\n    at first (server.js:8)\\n    at second (server.js:9)");',
  '  return params.tag;',
  '}',
  '',
].join('\n');
const XSS_CODE = `function markup(params, context) {\n  return "${XSS}";\n}\n`;

let browser;
let page;
const cspViolations = [];

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15000);
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  page.on('dialog', (dialog) => dialog.accept());
});

after(async () => {
  if (browser) await browser.close();
});

async function shot(name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

async function signIn(app) {
  await page.fill('#signin-app-id', app.appId);
  await page.fill('#signin-client-id', app.clientId);
  await page.fill('#signin-client-secret', app.clientSecret);
  await page.click('#signin-submit');
  await page.waitForSelector('#sc-versions');
}

/** Deploys `code` as `name` through the file picker; resolves when the deploy answered. */
async function pickAndDeploy(name, code) {
  await page.setInputFiles('#sc-file', { name, mimeType: 'application/javascript', buffer: Buffer.from(code) });
  await page.click('#sc-deploy');
  await page.waitForSelector('#sc-status .ok, #sc-status .error');
}

function row(versionID) {
  return page.locator(`#sc-table tr[data-version="${versionID}"]`);
}

async function deployedVersion() {
  return (await page.locator('#sc-status .ok code').textContent()).trim();
}

/** The server's own answer to a deploy, for comparing what the console shows. */
async function verificationError(code) {
  const token = await fetch(`${env.site}/apps/${own.appId}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: own.clientId, client_secret: own.clientSecret }),
  }).then((r) => r.json());
  const res = await fetch(`${env.site}/apps/${own.appId}/server-code`, {
    method: 'POST',
    headers: { 'content-type': 'application/javascript', authorization: `Bearer ${token.access_token}` },
    body: code,
  });
  assert.equal(res.status, 400);
  return res.json();
}

test('the console is served with a strict Content-Security-Policy and signs in', { timeout: TIMEOUT }, async () => {
  const res = await page.goto(consoleUrl);
  assert.equal(res.status(), 200);
  const headers = res.headers();
  assert.match(headers['content-security-policy'], /default-src 'self'/);
  assert.doesNotMatch(headers['content-security-policy'], /unsafe-inline|unsafe-eval/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  await page.waitForSelector('#signin-form');
  await shot('signin');

  // A wrong secret is refused with the server's message, and nothing is kept.
  await page.fill('#signin-app-id', env.appId);
  await page.fill('#signin-client-id', env.clientId);
  await page.fill('#signin-client-secret', 'not-the-secret');
  await page.click('#signin-submit');
  await page.waitForSelector('#signin-status .error');
  assert.match(await page.textContent('#signin-status'), /invalid_grant/);

  // The server's printed credentials (the default app), pasted as the block it printed into
  // the App ID field, which fills the three fields; then the test's own app.
  await page.fill('#signin-client-secret', '');
  await page.fill('#signin-app-id', JSON.stringify({
    appID: env.appId, appKey: env.appKey, clientID: env.clientId, clientSecret: env.clientSecret, siteURL: env.site,
  }, null, 2));
  await page.waitForSelector('#signin-filled');
  assert.equal(await page.inputValue('#signin-app-id'), env.appId);
  assert.equal(await page.inputValue('#signin-client-id'), env.clientId);
  assert.equal(await page.inputValue('#signin-client-secret'), env.clientSecret);
  await page.click('#signin-submit');
  await page.waitForSelector('#sc-versions');
  await page.click('#add-app');
  await page.waitForSelector('#signin-form');
  await signIn(own);
  const stored = await page.evaluate(() => sessionStorage.getItem('kumo.console.session'));
  assert.ok(!stored.includes(own.clientSecret), 'the client secret is never stored');
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
});

test('a verification error is shown on the source at its line and column', { timeout: TIMEOUT }, async () => {
  const expected = await verificationError(BAD_CODE);
  assert.equal(expected.errorCode, 'SERVER_CODE_VERIFICATION_ERROR');
  assert.equal(expected.line, 5);

  await pickAndDeploy('broken.js', BAD_CODE);
  await page.waitForSelector('#sc-verification');
  assert.match(await page.textContent('#sc-status'), /line 5, column \d+/);
  const marked = page.locator('#sc-verification .line.error-line');
  assert.equal(await marked.count(), 1);
  assert.equal(await marked.getAttribute('data-line'), '5');
  assert.equal((await marked.locator('.code').textContent()), '  var x = ;');
  const caret = await page.locator('#sc-verification [data-test="error-marker"] .code').textContent();
  assert.equal(caret.indexOf('^'), expected.column - 1, `caret under column ${expected.column}: ${caret}`);
  assert.ok(caret.includes(expected.message));
  await shot('server-code-verification-error');
});

let goodVersion;

test('good code deployed by drag-and-drop is made current', { timeout: TIMEOUT }, async () => {
  const dataTransfer = await page.evaluateHandle((code) => {
    const dt = new DataTransfer();
    dt.items.add(new File([code], 'hello.js', { type: 'application/javascript' }));
    return dt;
  }, GOOD_CODE);
  await page.dispatchEvent('#sc-dropzone', 'drop', { dataTransfer });
  assert.match(await page.textContent('#sc-chosen'), /hello\.js/);
  await page.click('#sc-deploy');
  await page.waitForSelector('#sc-status .ok');
  goodVersion = await deployedVersion();
  assert.match(goodVersion, /^[a-z0-9]{25}$/);
  await row(goodVersion).waitFor();
  assert.equal(await row(goodVersion).locator('.badge').count(), 0, 'a deploy does not make it current');
  assert.equal((await row(goodVersion).locator('td').nth(3).textContent()), '6');

  await row(goodVersion).locator('button.make-current').click();
  await page.waitForSelector(`#sc-table tr.current[data-version="${goodVersion}"] .badge`);
  assert.equal(await page.locator('#sc-table .badge').count(), 1, 'exactly one version is current');
  await shot('server-code');
});

test('an endpoint of the current version runs and shows its returned value', { timeout: TIMEOUT }, async () => {
  await page.click('#nav a[data-page="run"]');
  await page.waitForSelector('#run-form');
  await page.fill('#run-endpoint', 'hello');
  await page.fill('#run-params', '{"name": "kumo"}');
  await page.click('#run-submit');
  await page.waitForSelector('#run-returned');
  assert.deepEqual(JSON.parse(await page.textContent('#run-returned')), { greeting: 'hi kumo' });
  assert.match(await page.textContent('#run-steps'), /^\d+$/);
  assert.equal(await page.textContent('#run-env-version'), '6');
  assert.match(await page.textContent('#run-duration'), /ms$/);
  await shot('run');

  // A failure shows the server's error body.
  await page.fill('#run-endpoint', 'nowhere');
  await page.selectOption('#run-as', 'anonymous');
  await page.click('#run-submit');
  await page.waitForSelector('#run-error');
  const error = JSON.parse(await page.textContent('#run-error'));
  assert.equal(error.errorCode, 'ENDPOINT_INVOCATION_ERROR');
  assert.equal(await page.textContent('#run-status'), '400');
  await shot('run-error');
});

test("hooks: the server's validation message, triggers, jobs with their next firings, run now", { timeout: TIMEOUT }, async () => {
  await page.click('#nav a[data-page="hooks"]');
  await page.waitForSelector('#hooks-none');
  assert.equal(await page.inputValue('#hooks-version'), goodVersion, 'the current version is preselected');

  const job = (endpoint) => ({ what: 'EXECUTE_SERVER_CODE', cron: '0 3 * * *', endpoint, parameters: { name: 'job' } });
  await page.setInputFiles('#hooks-file', {
    name: 'bad-hooks.json', mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify({ 'kiicloud://scheduler': { nightly: job('nowhere') } })),
  });
  await page.click('#hooks-upload');
  await page.waitForSelector('#hooks-status .error');
  assert.match(await page.textContent('#hooks-status'), /refused: .*nowhere/);

  const config = '{\n  // every night\n' +
    `  "kiicloud://scheduler": ${JSON.stringify({ nightly: job('hello'), failing: job('fails') })},\n` +
    '  "kiicloud://users": [{"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "hello"}]\n}\n';
  await page.setInputFiles('#hooks-file', { name: 'hooks.json', mimeType: 'application/json', buffer: Buffer.from(config) });
  await page.click('#hooks-upload');
  await page.waitForSelector('#hooks-jobs');
  assert.match(await page.textContent('#hooks-status'), /hooks\.json is now the hook config/);
  assert.deepEqual(
    await page.locator('#hooks-triggers tbody td').allTextContents(),
    ['kiicloud://users', 'USER_CREATED', 'hello'],
  );
  const nightly = page.locator('#hooks-jobs tr[data-job="nightly"]');
  const utc = await nightly.locator('.firings .utc').allTextContents();
  assert.equal(utc.length, 5);
  for (const t of utc) assert.match(t, /T03:00:00\.000Z$/);
  const local = await nightly.locator('.firings .local').allTextContents();
  assert.match(local[0], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  await shot('hooks');

  await nightly.locator('button.run-now').click();
  await page.waitForSelector('#hooks-execution');
  assert.equal(await page.textContent('#hooks-execution .exec-status'), 'SUCCESS');
  assert.match(await page.textContent('#hooks-execution pre'), /hi job/);
  await shot('hooks-run-now');
});

test('code holding markup is shown as text, and a version can be deleted', { timeout: TIMEOUT }, async () => {
  await page.click('#nav a[data-page="server-code"]');
  await page.waitForSelector('#sc-table');
  await pickAndDeploy('markup.js', XSS_CODE);
  const version = await deployedVersion();
  await row(version).locator('button.view').click();
  await page.waitForSelector('#sc-source');
  assert.equal(await page.textContent('#sc-source .line[data-line="2"] .code'), `  return "${XSS}";`);
  assert.equal(await page.locator('#sc-source img').count(), 0, 'no element made from the code');
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await shot('server-code-source');

  await row(version).locator('button.delete').click();
  await row(version).waitFor({ state: 'detached' });
  await row(goodVersion).waitFor();
  assert.equal(await page.evaluate(() => window.__xss), undefined);
});

/** An admin token of the test's app, for the REST calls the test makes beside the browser. */
async function ownAdminToken() {
  const res = await fetch(`${env.site}/apps/${own.appId}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: own.clientId, client_secret: own.clientSecret }),
  });
  return (await res.json()).access_token;
}

async function rest(method, pathAndQuery, body) {
  const res = await fetch(`${env.site}/apps/${own.appId}${pathAndQuery}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await ownAdminToken()}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${pathAndQuery}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

test('executions: the history with filters, paging, a detail view and a chart by status', { timeout: TIMEOUT }, async () => {
  // The hooks test ran "nightly" by the console; one more success and a failure by REST.
  const ok = await rest('POST', '/hooks/versions/current/jobs/nightly/run');
  assert.equal(ok.status, 'SUCCESS');
  const failed = await rest('POST', '/hooks/versions/current/jobs/failing/run');
  assert.equal(failed.status, 'FAILED');

  // What the server itself answers, newest first: the console must show the same. (The app
  // is fresh, so normally these are the three runs by hand; a nightly firing at 03:00 UTC
  // during the run would be one more, and is compared like the others.)
  const all = (await rest('POST', '/hooks/executions/query',
    { scheduleExecutionQuery: { orderBy: 'startedAt', descending: true } })).results;
  assert.ok(all.length >= 3 && all.length < 50, `${all.length} executions`);
  const jobsOf = (list) => list.map((r) => r.name);
  const statusesOf = (list) => list.map((r) => r.status);
  const count = (status) => all.filter((r) => r.status === status).length;
  assert.deepEqual(jobsOf(all.slice(0, 2)), ['failing', 'nightly']);

  await page.click('#nav a[data-page="executions"]');
  await page.waitForSelector('#ex-table');
  const rows = page.locator('#ex-table tbody tr');
  const rowCount = (n) => page.waitForFunction((want) => document.querySelectorAll('#ex-table tbody tr').length === want, n);
  assert.equal(await rows.count(), all.length);
  assert.deepEqual(await rows.locator('td.job').allTextContents(), jobsOf(all));
  assert.deepEqual(await rows.locator('.status').allTextContents(), statusesOf(all));
  await page.waitForSelector('#ex-chart svg');
  assert.equal(await page.textContent('#ex-chart .chart-legend[data-series="SUCCESS"]'), `success ${count('SUCCESS')}`);
  assert.equal(await page.textContent('#ex-chart .chart-legend[data-series="FAILED"]'), `failed ${count('FAILED')}`);
  assert.equal(await page.locator('#ex-chart rect.chart-bar.bad[data-count]').count(), 1);

  // The failure's detail: its result is the thrown error.
  await page.locator(`#ex-table tr[data-execution="${failed.scheduleExecutionID}"] button.open`).click();
  await page.waitForSelector('#ex-detail-panel');
  assert.equal(await page.textContent('#ex-detail-status'), 'FAILED');
  assert.match(await page.textContent('#ex-detail-result'), /the nightly clean-up broke/);
  await shot('executions-detail');

  // Filters: status, then job, then a time range that ends before everything.
  await page.selectOption('#ex-status', 'SUCCESS');
  await page.click('#ex-apply');
  await rowCount(count('SUCCESS'));
  assert.ok((await rows.locator('.status').allTextContents()).every((s) => s === 'SUCCESS'));
  await page.selectOption('#ex-status', '');
  await page.fill('#ex-job', 'failing');
  await page.click('#ex-apply');
  await rowCount(all.filter((r) => r.name === 'failing').length);
  assert.ok((await rows.locator('td.job').allTextContents()).every((j) => j === 'failing'));
  await page.fill('#ex-to', '2001-01-01T00:00:00');
  await page.click('#ex-apply');
  await page.waitForSelector('#ex-empty');

  // Paging by the server's paginationKey: pages of two, the second one, and back.
  await page.fill('#ex-job', '');
  await page.fill('#ex-to', '');
  await page.fill('#ex-size', '2');
  await page.click('#ex-apply');
  await rowCount(2);
  assert.equal(await page.isDisabled('#ex-prev'), true);
  assert.deepEqual(await rows.locator('td.job').allTextContents(), jobsOf(all.slice(0, 2)));
  await page.click('#ex-next');
  await page.waitForSelector('#ex-page:text("Page 2")');
  assert.deepEqual(await rows.locator('td.job').allTextContents(), jobsOf(all.slice(2, 4)));
  assert.deepEqual(await rows.locator('.status').allTextContents(), statusesOf(all.slice(2, 4)));
  assert.equal(await page.isDisabled('#ex-next'), all.length <= 4, 'a next page only when more follow');
  await page.click('#ex-prev');
  await page.waitForSelector('#ex-page:text("Page 1")');
  assert.deepEqual(await rows.locator('td.job').allTextContents(), jobsOf(all.slice(0, 2)));
  await page.fill('#ex-size', '50');
  await page.click('#ex-apply');
  await rowCount(all.length);
  await shot('executions');
});

test('developer log: a console.log line arrives live, markup stays text, pause and resume', { timeout: TIMEOUT }, async () => {
  // Tags of this run, so a rerun against the same app never finds an older line.
  const run = Math.random().toString(36).slice(2, 8);
  const tags = { first: `first-${run}`, second: `second-${run}`, third: `third-${run}` };
  await page.click('#nav a[data-page="log"]');
  await page.waitForSelector('#log-state[data-state="Live"]');
  await rest('POST', '/server-code/versions/current/shout', { tag: tags.first });
  const line = page.locator('#log-lines .log-row', { hasText: `shout ${tags.first}` });
  await line.waitFor();
  assert.equal(await line.locator('pre.log-text').textContent(), `shout ${tags.first} ${XSS}`);
  assert.equal(await page.locator('#log-lines img').count(), 0, 'no element made from a log line');
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  // A stack trace keeps its lines, in pre-wrapped text.
  const trace = page.locator('#log-lines .log-row.level-error', { hasText: `trace ${tags.first}` });
  assert.equal(await trace.locator('pre.log-text').textContent(),
    `trace ${tags.first}\n    at first (server.js:8)\n    at second (server.js:9)`);
  assert.equal(await trace.locator('pre.log-text').evaluate((n) => getComputedStyle(n).whiteSpace), 'pre-wrap');
  // The chart counts the invocation and the error of this minute.
  await page.waitForFunction(() => {
    const t = document.querySelector('#log-chart .chart-legend[data-series="error"]');
    return t && /errors [1-9]/.test(t.textContent);
  });
  assert.match(await page.textContent('#log-chart .chart-legend[data-series="invocation"]'), /invocations [1-9]/);
  await shot('developer-log');

  // Paused, nothing arrives; resumed (after= the last record seen), what was missed does.
  await page.click('#log-pause');
  await page.waitForSelector('#log-state[data-state="Paused"]');
  await rest('POST', '/server-code/versions/current/shout', { tag: tags.second });
  const second = page.locator('#log-lines .log-row', { hasText: `shout ${tags.second}` });
  // Wait until the server has stored the line, so only resuming after= can bring it.
  for (;;) {
    const log = await rest('GET', '/developer-log?limit=20');
    if (log.records.some((r) => r.description === `shout ${tags.second} ${XSS}`)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(await second.count(), 0, 'nothing arrives while paused');
  await page.click('#log-pause');
  await second.waitFor();
  await page.waitForSelector('#log-state[data-state="Live"]');
  assert.equal(await page.locator('#log-lines .log-row', { hasText: `shout ${tags.first}` }).count(), 1, 'nothing twice');

  // The text filter hides what does not match; the level filter asks the server again.
  await page.fill('#log-text', `shout ${tags.second}`);
  assert.equal(await page.locator('#log-lines .log-row:visible').count(), 1);
  await page.fill('#log-text', '');
  await page.selectOption('#log-level', 'ERROR');
  await page.waitForSelector('#log-state[data-state="Live"]');
  await page.waitForFunction(() => document.querySelectorAll('#log-lines .log-row').length > 0);
  const levels = await page.locator('#log-lines .log-level').allTextContents();
  assert.ok(levels.every((l) => l === 'ERROR'), levels.join());
  await rest('POST', '/server-code/versions/current/shout', { tag: tags.third });
  await page.locator('#log-lines .log-row', { hasText: `trace ${tags.third}` }).waitFor();
  assert.equal(await page.locator('#log-lines .log-row', { hasText: `shout ${tags.third}` }).count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
});

test('data: create an object, query it by form and JSON, page, edit it, its ACL, delete it; markup stays text', { timeout: TIMEOUT }, async () => {
  const run = Math.random().toString(36).slice(2, 8);
  const bucket = `notes-${run}`;
  await page.click('#nav a[data-page="data"]');
  await page.waitForSelector('#data-scope-form');
  await page.waitForSelector('#data-buckets h2');

  // A new bucket: opened by name, it has nothing yet; the first object makes it.
  await page.fill('#data-bucket-name', bucket);
  await page.click('#data-open-bucket');
  await page.waitForSelector(`#data-bucket-panel[data-bucket="${bucket}"] #data-empty`);
  await page.click('#data-new summary');
  await page.fill('#data-new-json', JSON.stringify({ title: XSS, score: 7 }));
  await page.click('#data-create');
  await page.waitForSelector('#data-created-id');
  const id = (await page.textContent('#data-created-id')).trim();
  await page.waitForSelector(`#data-object-panel[data-object="${id}"]`);
  await page.waitForSelector(`#data-bucket-table tr[data-bucket="${bucket}"]`);
  // The field holding markup is text in the object's JSON and in the results, and ran nothing.
  assert.equal(JSON.parse(await page.textContent('#data-object-json')).title, XSS);
  await page.waitForSelector(`#data-table tr[data-object="${id}"]`);
  assert.match(await page.textContent(`#data-table tr[data-object="${id}"] td.preview`), /<img src=x onerror=window.__xss=1>/);
  assert.equal(await page.locator('#main img').count(), 0, 'no element made from an object field');
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  const stored = await rest('GET', `/buckets/${bucket}/objects/${id}`);
  assert.equal(stored.title, XSS);
  assert.equal(stored.score, 7);

  // Another object, by REST, so that the queries have something to tell apart.
  const other = (await rest('POST', `/buckets/${bucket}/objects`, { title: 'low', score: 3 })).objectID;

  // The simple form: score > 5 finds the first only, and shows the clause it sent.
  await page.fill('#data-q-field', 'score');
  await page.selectOption('#data-q-op', 'gt');
  await page.fill('#data-q-value', '5');
  await page.click('#data-q-run-form');
  await page.waitForFunction(() => document.querySelectorAll('#data-table tbody tr').length === 1);
  assert.deepEqual(await page.locator('#data-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.object)), [id]);
  assert.deepEqual(JSON.parse(await page.inputValue('#data-q-clause')),
    { type: 'range', field: 'score', lowerLimit: 5, lowerIncluded: false });
  await page.click('#data-q-count');
  await page.waitForSelector('#data-count:text("1 object matches")');

  // A clause as JSON.
  await page.fill('#data-q-clause', '{"type": "eq", "field": "title", "value": "low"}');
  await page.click('#data-q-run-json');
  await page.waitForSelector(`#data-table tr[data-object="${other}"]`);
  assert.equal(await page.locator('#data-table tbody tr').count(), 1);

  // Pages of one, ordered by score ascending: the server's paginationKey, and back.
  await page.fill('#data-q-clause', '{"type": "all"}');
  await page.fill('#data-q-order', 'score');
  await page.uncheck('#data-q-desc');
  await page.fill('#data-q-size', '1');
  await page.click('#data-q-run-json');
  await page.waitForSelector(`#data-table tr[data-object="${other}"]`);
  assert.equal(await page.isDisabled('#data-next'), false);
  await page.click('#data-next');
  await page.waitForSelector(`#data-table tr[data-object="${id}"]`);
  assert.equal(await page.textContent('#data-page'), 'Page 2');
  assert.equal(await page.isDisabled('#data-next'), true);
  await page.click('#data-prev');
  await page.waitForSelector(`#data-table tr[data-object="${other}"]`);
  await page.fill('#data-q-size', '20');
  await page.click('#data-q-run-json');
  await page.waitForFunction(() => document.querySelectorAll('#data-table tbody tr').length === 2);
  await shot('data');

  // Edit: the fields are replaced, the version moves on.
  await page.click(`#data-table tr[data-object="${id}"] button.open`);
  await page.waitForSelector(`#data-object-panel[data-object="${id}"]`);
  await page.click('#data-edit summary');
  await page.fill('#data-edit-json', JSON.stringify({ title: 'edited', score: 8 }));
  await page.click('#data-save');
  await page.waitForSelector('#data-edit-status .ok');
  assert.equal(await page.textContent('#data-version'), '2');
  const edited = await rest('GET', `/buckets/${bucket}/objects/${id}`);
  assert.equal(edited.title, 'edited');
  assert.equal(edited.score, 8);

  // ACL: grant anonymous read, see it listed as the server has it, revoke it.
  await page.waitForSelector('#data-acl-subject');
  await page.selectOption('#data-acl-action', 'READ_EXISTING_OBJECT');
  await page.fill('#data-acl-subject', 'UserID:ANONYMOUS_USER');
  await page.click('#data-acl-grant');
  const granted = page.locator('#data-acl-table tr[data-action="READ_EXISTING_OBJECT"][data-subject="UserID:ANONYMOUS_USER"]');
  await granted.waitFor();
  let acl = await rest('GET', `/buckets/${bucket}/objects/${id}/acl`);
  assert.ok(acl.READ_EXISTING_OBJECT.some((s) => s.userID === 'ANONYMOUS_USER'), JSON.stringify(acl));
  const rows = await page.locator('#data-acl-table tbody tr').count();
  const entries = Object.values(acl).reduce((n, list) => n + list.length, 0);
  assert.equal(rows, entries, 'every entry the server has is listed');
  await shot('data-object');
  await granted.locator('button.revoke').click();
  await granted.waitFor({ state: 'detached' });
  acl = await rest('GET', `/buckets/${bucket}/objects/${id}/acl`);
  assert.ok(!(acl.READ_EXISTING_OBJECT || []).some((s) => s.userID === 'ANONYMOUS_USER'));

  // Delete.
  await page.click('#data-delete');
  await page.waitForSelector('#data-deleted');
  const gone = await fetch(`${env.site}/apps/${own.appId}/buckets/${bucket}/objects/${id}`, {
    headers: { authorization: `Bearer ${await ownAdminToken()}` },
  });
  assert.equal(gone.status, 404);
  await page.waitForFunction(() => document.querySelectorAll('#data-table tbody tr').length === 1);

  // The bucket is in the app's bucket list.
  await page.click('#data-list');
  await page.waitForSelector(`#data-bucket-table tr[data-bucket="${bucket}"]`);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
});

test('users and groups: find a user by login name, its groups, a group with its owner and members', { timeout: TIMEOUT }, async () => {
  const run = Math.random().toString(36).slice(2, 8);
  const owner = (await rest('POST', '/users', { loginName: `owner-${run}`, password: 'secret123', displayName: XSS })).userID;
  const member = (await rest('POST', '/users', { loginName: `member-${run}`, password: 'secret123' })).userID;
  const group = (await rest('POST', '/groups', { name: `team-${run}`, owner, members: [member] })).groupID;

  await page.click('#nav a[data-page="users"]');
  await page.waitForSelector('#ug-users-table');
  await page.waitForSelector(`#ug-users-table tr[data-user="${owner}"]`);
  await page.waitForSelector(`#ug-groups-table tr[data-group="${group}"]`);

  await page.selectOption('#ug-kind', 'login');
  await page.fill('#ug-who', `OWNER-${run}`);
  await page.click('#ug-find');
  await page.waitForSelector(`#ug-user-panel[data-user="${owner}"]`);
  assert.equal(await page.textContent('#ug-user-facts [data-field="Login name"]'), `owner-${run}`);
  assert.equal(await page.textContent('#ug-user-facts [data-field="Display name"]'), XSS);
  const row = page.locator(`#ug-user-group-table tr[data-group="${group}"]`);
  await row.waitFor();
  assert.equal(await row.locator('td.role').textContent(), 'owner');

  await row.locator('button.open').click();
  await page.waitForSelector(`#ug-group-panel[data-group="${group}"]`);
  assert.equal(await page.textContent('#ug-group-name'), `team-${run}`);
  assert.equal(await page.textContent('#ug-group-owner'), owner);
  // The owner is a member too, as in Kii.
  assert.deepEqual((await page.locator('#ug-members li').evaluateAll((items) => items.map((i) => i.dataset.user))).sort(),
    [owner, member].sort());
  await page.waitForSelector(`#ug-members li[data-user="${member}"] .muted`);
  assert.equal(await page.textContent(`#ug-members li[data-user="${member}"] .muted`), `member-${run}`);
  await shot('users');

  // The owner's buckets, on the Data page.
  await rest('POST', `/users/${owner}/buckets/diary-${run}/objects`, { day: 1 });
  await page.click(`#ug-group-owner button`);
  await page.waitForSelector(`#ug-user-panel[data-user="${owner}"]`);
  await page.click('#ug-user-buckets');
  await page.waitForSelector(`#data-bucket-table tr[data-bucket="diary-${run}"]`);
  assert.equal(await page.inputValue('#data-scope'), 'user');
  assert.equal(await page.locator('#data-bucket-table tbody tr').count(), 1);
  await page.click(`#data-bucket-table tr[data-bucket="diary-${run}"] button.open`);
  await page.waitForSelector('#data-table tbody tr');
  assert.match(await page.textContent('#data-table td.preview'), /"day":1/);
  await page.click('#nav a[data-page="users"]');
  await page.waitForSelector('#ug-users-table');
  await page.fill('#ug-group-id', group);
  await page.click('#ug-open-group');
  await page.waitForSelector(`#ug-members li[data-user="${member}"]`);

  // A member opens as a user; an unknown login name is the server's USER_NOT_FOUND.
  await page.click(`#ug-members li[data-user="${member}"] button`);
  await page.waitForSelector(`#ug-user-panel[data-user="${member}"]`);
  assert.equal(await page.textContent(`#ug-user-group-table tr[data-group="${group}"] td.role`), 'member');
  await page.fill('#ug-who', `nobody-${run}`);
  await page.click('#ug-find');
  await page.waitForSelector('#ug-user .error');
  assert.match(await page.textContent('#ug-user .error'), /USER_NOT_FOUND/);
  assert.equal(await page.locator('#main img').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
});

test("the README's first steps: deploy hello.js, make it current, run it, schedule it from the example config, watch it", { timeout: TIMEOUT }, async () => {
  const tag = `readme-${Math.random().toString(36).slice(2, 8)}`;
  const hello = 'function hello(params, context) { console.log("hello " + params.name); return {hi: params.name}; }\n';
  await page.click('#nav a[data-page="server-code"]');
  await page.waitForSelector('#sc-table');
  await pickAndDeploy('hello.js', hello);
  const version = await deployedVersion();
  await row(version).locator('button.make-current').click();
  await page.waitForSelector(`#sc-table tr.current[data-version="${version}"]`);

  await page.click('#nav a[data-page="run"]');
  await page.waitForSelector('#run-form');
  await page.fill('#run-endpoint', 'hello');
  await page.fill('#run-params', JSON.stringify({ name: tag }));
  await page.click('#run-submit');
  await page.waitForSelector('#run-returned');
  assert.deepEqual(JSON.parse(await page.textContent('#run-returned')), { hi: tag });

  // The example config, written in the page: a job every minute and a user trigger.
  await page.click('#nav a[data-page="hooks"]');
  await page.waitForSelector('#hooks-none');
  await page.click('#hooks-write summary');
  await page.click('#hooks-example');
  await page.click('#hooks-upload-text');
  const job = page.locator('#hooks-jobs tr[data-job="every-minute"]');
  await job.waitFor();
  const utc = await job.locator('.firings .utc').allTextContents();
  assert.equal(utc.length, 5);
  for (const t of utc) assert.match(t, /:00\.000Z$/);
  assert.deepEqual(await page.locator('#hooks-triggers tbody td').allTextContents(), ['kiicloud://users', 'USER_CREATED', 'hello']);
  await job.locator('button.run-now').click();
  await page.waitForSelector('#hooks-execution');
  assert.equal(await page.textContent('#hooks-execution .exec-status'), 'SUCCESS');

  await page.click('#nav a[data-page="executions"]');
  await page.waitForSelector('#ex-table tbody tr td.job:text("every-minute")');

  // The log shows the run by hand (the job's own line says "hello schedule").
  await page.click('#nav a[data-page="log"]');
  await page.waitForSelector('#log-state[data-state="Live"]');
  await page.locator('#log-lines .log-row', { hasText: `hello ${tag}` }).waitFor();
  await page.locator('#log-lines .log-row', { hasText: 'hello schedule' }).first().waitFor();
});

test('apps switch, and signing out forgets the token', { timeout: TIMEOUT }, async () => {
  await page.click('#nav a[data-page="server-code"]');
  await row(goodVersion).waitFor();
  if (own.appId !== env.appId) {
    await page.selectOption('#app-switch', env.appId);
    await page.waitForSelector('#sc-versions > *');
    assert.equal(await row(goodVersion).count(), 0, "the other app's versions are its own");
    await page.selectOption('#app-switch', own.appId);
    await row(goodVersion).waitFor();
  }

  await page.click('#sign-out');
  await page.waitForFunction((id) => document.querySelector('#app-switch').value !== id, own.appId);
  let stored = await page.evaluate(() => sessionStorage.getItem('kumo.console.session'));
  assert.ok(!stored.includes(own.appId), 'the signed-out app is forgotten');
  await page.click('#sign-out');
  await page.waitForSelector('#signin-form');
  stored = await page.evaluate(() => sessionStorage.getItem('kumo.console.session'));
  assert.equal(stored, null);
  assert.deepEqual(cspViolations, [], 'the console runs within its Content-Security-Policy');
});
