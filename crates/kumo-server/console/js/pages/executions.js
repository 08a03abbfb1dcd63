// Executions: the schedule-execution history (POST …/hooks/executions/query), filtered by job,
// status and start time, newest first, paged with the server's paginationKey; one execution's
// detail with its result; a chart of executions over time coloured by status.

import { el, errorBox, formatTime, prettyJson } from '../dom.js';
import * as api from '../api.js';
import { bucketize, stackedBars } from '../chart.js';

const QUERY_TYPE = 'application/vnd.kii.ScheduleExecutionQueryRequest+json';
const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;
// The chart reads at most this many executions (a few pages of the server's maximum 200), so
// a long history costs a bounded number of requests; the chart says when it stopped short.
const CHART_PAGES = 5;
const CHART_PAGE_SIZE = 200;
const STATUSES = ['SUCCESS', 'FAILED', 'RUNNING'];
const SERIES = [
  { key: 'SUCCESS', label: 'success', className: 'good' },
  { key: 'FAILED', label: 'failed', className: 'bad' },
  { key: 'RUNNING', label: 'running', className: 'running' },
];

export async function renderExecutions(main, app) {
  const job = el('input', { type: 'text', id: 'ex-job', list: 'ex-jobs', placeholder: 'any job', autocomplete: 'off' });
  const jobs = el('datalist', { id: 'ex-jobs' });
  const status = el('select', { id: 'ex-status' },
    el('option', { value: '' }, 'any'), STATUSES.map((s) => el('option', { value: s }, s)));
  const from = el('input', { type: 'datetime-local', id: 'ex-from', step: '1' });
  const to = el('input', { type: 'datetime-local', id: 'ex-to', step: '1' });
  const size = el('input', { type: 'number', id: 'ex-size', min: '1', max: String(MAX_PAGE_SIZE), value: String(PAGE_SIZE) });
  const apply = el('button', { type: 'submit', class: 'primary', id: 'ex-apply' }, 'Show');
  const form = el('form', { id: 'ex-form' },
    el('label', {}, 'Job', job, jobs),
    el('label', {}, 'Status', status),
    el('label', {}, 'Started from (local)', from),
    el('label', {}, 'until', to),
    el('label', {}, 'Per page', size),
    apply);

  const chart = el('section', { class: 'panel', id: 'ex-chart' });
  const list = el('section', { class: 'panel', id: 'ex-list' });
  const detail = el('div', { id: 'ex-detail' });
  main.append(el('h1', {}, 'Executions'), el('section', { class: 'panel' }, form), chart, list, detail);

  // Keys of the pages before the one shown, so "Previous" can go back without offsets.
  let keys = [];
  let query = null;
  let pageSize = PAGE_SIZE;

  async function showPage(key) {
    list.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    let res;
    try {
      res = await runQuery(app, query, pageSize, key);
    } catch (error) {
      list.replaceChildren(errorBox(api.describe(error)));
      return;
    }
    const results = Array.isArray(res.results) ? res.results : [];
    const next = typeof res.nextPaginationKey === 'string' ? res.nextPaginationKey : null;
    const prev = el('button', { type: 'button', id: 'ex-prev', disabled: keys.length === 0 }, 'Previous page');
    const more = el('button', { type: 'button', id: 'ex-next', disabled: !next }, 'Next page');
    prev.addEventListener('click', () => { keys.pop(); showPage(keys.length ? keys[keys.length - 1] : null); });
    more.addEventListener('click', () => { keys.push(next); showPage(next); });
    list.replaceChildren(
      el('h2', {}, 'History, newest first'),
      results.length === 0
        ? el('p', { class: 'muted', id: 'ex-empty' }, 'No execution matches.')
        : executionTable(results, (record) => showDetail(app, record, detail)),
      el('div', { class: 'actions pager' },
        prev, el('span', { class: 'muted', id: 'ex-page' }, `Page ${keys.length + 1}`), more));
  }

  async function refresh() {
    const built = buildQuery(job.value, status.value, from.value, to.value);
    if (built.error) {
      list.replaceChildren(errorBox(built.error));
      return;
    }
    query = built.query;
    const asked = Math.floor(Number(size.value));
    pageSize = Number.isFinite(asked) ? Math.min(MAX_PAGE_SIZE, Math.max(1, asked)) : PAGE_SIZE;
    size.value = String(pageSize);
    keys = [];
    detail.replaceChildren();
    await Promise.all([showPage(null), drawChart(app, query, built.range, chart)]);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    refresh();
  });

  api.call('GET', api.appPath(app.appID, '/console/hooks/current'), { token: app.token })
    .then((res) => {
      const names = Array.isArray(res.body && res.body.jobs) ? res.body.jobs.map((j) => String(j.name)) : [];
      jobs.replaceChildren(...names.map((name) => el('option', { value: name })));
    })
    .catch(() => { /* no current hook config: the job field is free text */ });
  await refresh();
}

/** The query for the filters, or { error } for a time that is not one. */
function buildQuery(job, status, from, to) {
  const clauses = [];
  if (job.trim()) clauses.push({ type: 'eq', field: 'name', value: job.trim() });
  if (status) clauses.push({ type: 'eq', field: 'status', value: status });
  const lower = from ? new Date(from).getTime() : null;
  const upper = to ? new Date(to).getTime() : null;
  if (Number.isNaN(lower) || Number.isNaN(upper)) return { error: 'A start time is not a valid date.' };
  if (lower !== null && upper !== null && lower > upper) return { error: 'The start range ends before it begins.' };
  if (lower !== null || upper !== null) {
    const range = { type: 'range', field: 'startedAt' };
    if (lower !== null) Object.assign(range, { lowerLimit: lower, lowerIncluded: true });
    if (upper !== null) Object.assign(range, { upperLimit: upper, upperIncluded: true });
    clauses.push(range);
  }
  const clause = clauses.length === 0 ? { type: 'all' } : clauses.length === 1 ? clauses[0] : { type: 'and', clauses };
  return {
    query: { clause, orderBy: 'startedAt', descending: true },
    range: { from: lower, to: upper },
  };
}

async function runQuery(app, query, limit, paginationKey) {
  const body = { scheduleExecutionQuery: query, bestEffortLimit: limit };
  if (paginationKey) body.paginationKey = paginationKey;
  const res = await api.call('POST', api.appPath(app.appID, '/hooks/executions/query'), {
    token: app.token, body: JSON.stringify(body), contentType: QUERY_TYPE,
  });
  return res.body || {};
}

function duration(record) {
  if (typeof record.finishedAt !== 'number' || typeof record.startedAt !== 'number') return '—';
  return `${Math.max(0, record.finishedAt - record.startedAt)} ms`;
}

function statusBadge(status) {
  const known = STATUSES.includes(status) ? status.toLowerCase() : 'unknown';
  return el('span', { class: `status status-${known}` }, String(status));
}

function executionTable(results, onOpen) {
  return el('table', { id: 'ex-table' },
    el('thead', {}, el('tr', {},
      el('th', {}, 'Started (local)'), el('th', {}, 'Job'), el('th', {}, 'Status'),
      el('th', {}, 'Duration'), el('th', {}, 'How'), el('th', {}, ''))),
    el('tbody', {}, results.map((record) => {
      const started = formatTime(record.startedAt);
      const open = el('button', { type: 'button', class: 'open' }, 'Details');
      open.addEventListener('click', () => onOpen(record));
      return el('tr', { 'data-execution': String(record.scheduleExecutionID) },
        el('td', { title: started.utc }, started.local),
        el('td', { class: 'id job' }, String(record.name)),
        el('td', {}, statusBadge(record.status)),
        el('td', {}, duration(record)),
        el('td', {}, record.byHand ? 'run now' : 'schedule'),
        el('td', {}, open));
    })));
}

/** Re-reads the execution (it may have finished since the list was loaded) and shows it. */
async function showDetail(app, record, detail) {
  let fresh = record;
  try {
    const id = encodeURIComponent(String(record.scheduleExecutionID));
    fresh = (await api.call('GET', api.appPath(app.appID, `/hooks/executions/${id}`), { token: app.token })).body;
  } catch (error) {
    detail.replaceChildren(errorBox(api.describe(error)));
    return;
  }
  const time = (ms) => {
    const t = formatTime(ms);
    return t.local ? `${t.local} (${t.utc})` : '—';
  };
  const facts = [
    ['Execution', fresh.scheduleExecutionID, 'ex-detail-id'],
    ['Job', fresh.name, 'ex-detail-job'],
    ['Version', fresh.versionID, null],
    ['Status', fresh.status, 'ex-detail-status'],
    ['Scheduled for', time(fresh.scheduledAt), null],
    ['Started', time(fresh.startedAt), null],
    ['Finished', time(fresh.finishedAt), null],
    ['Duration', duration(fresh), null],
    ['How', fresh.byHand ? 'run now (by hand)' : 'by the schedule', null],
  ];
  detail.replaceChildren(el('section', { class: 'panel', id: 'ex-detail-panel' },
    el('h2', {}, 'Execution ', el('code', {}, String(fresh.scheduleExecutionID))),
    el('dl', { class: 'facts' }, facts.flatMap(([label, value, id]) => [
      el('dt', {}, label), el('dd', { id }, value === undefined || value === null ? '—' : String(value))])),
    el('h2', {}, 'Result'),
    el('pre', { class: 'json', id: 'ex-detail-result' }, resultText(fresh))));
  detail.scrollIntoView({ block: 'nearest' });
}

/** A result is a string: a returned value's JSON, or `CODE: message`. JSON is shown pretty. */
function resultText(record) {
  if (record.result === undefined || record.result === null) return record.status === 'RUNNING' ? '(still running)' : '(none)';
  const text = String(record.result);
  try {
    const parsed = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') return prettyJson(parsed);
  } catch {
    /* not JSON: shown as it is */
  }
  return text;
}

async function drawChart(app, query, range, chart) {
  chart.replaceChildren(el('h2', {}, 'Executions over time'), el('p', { class: 'muted' }, 'Loading…'));
  const records = [];
  let key = null;
  let complete = false;
  try {
    for (let page = 0; page < CHART_PAGES; page += 1) {
      const res = await runQuery(app, query, CHART_PAGE_SIZE, key);
      if (Array.isArray(res.results)) records.push(...res.results);
      key = typeof res.nextPaginationKey === 'string' ? res.nextPaginationKey : null;
      if (!key) { complete = true; break; }
    }
  } catch (error) {
    chart.replaceChildren(el('h2', {}, 'Executions over time'), errorBox(api.describe(error)));
    return;
  }
  const times = records.map((r) => r.startedAt).filter((t) => typeof t === 'number');
  const now = Date.now();
  // The range asked for; else from the oldest execution read to now (at least an hour).
  const to = range.to ?? Math.max(now, ...times) + 1;
  const from = range.from ?? Math.min(to - 3600 * 1000, ...times);
  const data = bucketize(records, {
    from, to, buckets: 48, timeOf: (r) => r.startedAt, seriesOf: (r) => r.status,
  });
  chart.replaceChildren(
    el('h2', {}, 'Executions over time'),
    stackedBars(data, SERIES, { title: 'Executions by start time, coloured by status' }),
    el('p', { class: 'muted', id: 'ex-chart-note' }, complete
      ? `${records.length} execution${records.length === 1 ? '' : 's'}, by start time.`
      : `The newest ${records.length} executions (older ones are not drawn).`));
}
