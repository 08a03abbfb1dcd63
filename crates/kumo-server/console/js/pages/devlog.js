// Developer log: the recent records, then a live tail of GET …/developer-log/stream (read with
// fetch, since the stream needs the admin token in a header), resumed with after=<last _id>
// after a pause or a dropped connection; level and user filters (the server's), a text filter
// (in the page); stack traces as pre-wrapped text; invocations and errors per minute.

import { el, errorBox, formatTime, prettyJson } from '../dom.js';
import * as api from '../api.js';
import { readEvents } from '../sse.js';
import { bucketize, stackedBars } from '../chart.js';

const HISTORY = 200;
// The page keeps at most this many records (the oldest go), so a busy app cannot grow it
// without end.
const KEEP = 2000;
const CHART_MINUTES = 30;
const RETRY_MS = 2000;
const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];
const SHOWN_APART = new Set(['_id', 'appID', 'key', 'level', 'time', 'userID', 'description']);
const SERIES = [
  { key: 'invocation', label: 'invocations', className: 'good' },
  { key: 'error', label: 'errors', className: 'bad' },
];

export async function renderDevLog(main, app, { signal }) {
  const level = el('select', { id: 'log-level' },
    el('option', { value: '' }, 'all'), LEVELS.slice(1).map((l) => el('option', { value: l }, `${l} and worse`)));
  const user = el('input', { type: 'text', id: 'log-user', placeholder: 'any user ID', autocomplete: 'off' });
  const text = el('input', { type: 'search', id: 'log-text', placeholder: 'contains…', autocomplete: 'off' });
  const pause = el('button', { type: 'button', id: 'log-pause' }, 'Pause');
  const state = el('span', { id: 'log-state', class: 'muted', 'aria-live': 'polite' });
  const chart = el('section', { class: 'panel', id: 'log-chart' });
  const lines = el('div', { id: 'log-lines', class: 'log-lines' });
  const problem = el('div', { id: 'log-problem' });

  main.append(
    el('h1', {}, 'Developer log'),
    el('section', { class: 'panel' },
      el('div', { class: 'log-controls' },
        el('label', {}, 'Level', level),
        el('label', {}, 'User', user),
        el('label', {}, 'Text', text),
        pause, state)),
    problem, chart,
    el('section', { class: 'panel' }, el('h2', {}, 'Records, newest first'), lines));

  let records = [];
  let cursor = 0;
  let paused = false;
  let stream = null;
  // Each restart's number: a slower, older restart that finishes late does nothing.
  let generation = 0;
  let loading = false;

  const setState = (name, detail = '') => {
    state.dataset.state = name;
    state.textContent = detail ? `${name}: ${detail}` : name;
  };

  function add(record) {
    const id = Number(record._id);
    if (!Number.isSafeInteger(id) || id <= cursor) return;
    cursor = id;
    records.push(record);
    const row = logRow(record);
    row.hidden = !matches(record, text.value);
    lines.prepend(row);
    if (records.length > KEEP) {
      records = records.slice(records.length - KEEP);
      while (lines.childElementCount > KEEP) lines.lastElementChild.remove();
    }
    scheduleChart();
  }

  let chartTimer = null;
  function scheduleChart() {
    if (chartTimer === null) chartTimer = setTimeout(() => { chartTimer = null; drawChart(chart, records); }, 300);
  }

  function query(extra) {
    const q = new URLSearchParams(extra);
    if (level.value) q.set('level', level.value);
    if (user.value.trim()) q.set('userID', user.value.trim());
    return q.toString();
  }

  /** Reads the stream from `cursor` until paused, left or refused; reconnects when it drops. */
  async function follow() {
    stopFollowing();
    if (signal.aborted) return;
    const controller = new AbortController();
    stream = controller;
    const stop = () => controller.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      while (!controller.signal.aborted) {
        setState('Connecting');
        let wait = RETRY_MS;
        try {
          const res = await api.openStream(
            api.appPath(app.appID, `/developer-log/stream?${query({ after: String(cursor) })}`),
            { token: app.token, signal: controller.signal });
          setState('Live');
          problem.replaceChildren();
          await readEvents(res, (event) => {
            if (event.event !== 'log') return;
            try {
              add(JSON.parse(event.data));
            } catch {
              /* a frame that is not a record is skipped */
            }
          }, controller.signal);
        } catch (error) {
          if (controller.signal.aborted) break;
          if (error instanceof api.ApiError && error.status !== 503) {
            // Refused for good (a bad filter, an expired token): retrying would not help.
            problem.replaceChildren(errorBox(`The log stream was refused: ${api.describe(error)}`));
            setState('Stopped');
            return;
          }
          const after = error instanceof api.ApiError && Number(error.headers && error.headers.get('Retry-After'));
          if (after > 0) wait = Math.min(60, after) * 1000;
          setState('Reconnecting', api.describe(error));
        }
        if (controller.signal.aborted) break;
        await sleep(wait, controller.signal);
      }
    } finally {
      signal.removeEventListener('abort', stop);
      if (stream === controller) stream = null;
    }
  }

  function stopFollowing() {
    if (stream) stream.abort();
  }

  /** Starts over with the server-side filters: the recent records, then live from there. */
  async function restart() {
    const mine = ++generation;
    loading = true;
    stopFollowing();
    records = [];
    lines.replaceChildren();
    problem.replaceChildren();
    setState('Loading');
    try {
      // The newest record of the whole log first: the stream starts after it, so nothing
      // written while the history loads is missed (and add() drops what is seen twice).
      const newest = await api.call('GET', api.appPath(app.appID, '/developer-log?limit=1'), { token: app.token });
      const latest = lastId(newest.body);
      const recent = await api.call('GET',
        api.appPath(app.appID, `/developer-log?${query({ limit: String(HISTORY) })}`), { token: app.token });
      if (mine !== generation || signal.aborted) return;
      cursor = 0;
      for (const record of (recent.body && recent.body.records) || []) add(record);
      cursor = Math.max(cursor, latest);
    } catch (error) {
      if (mine !== generation) return;
      problem.replaceChildren(errorBox(api.describe(error)));
      setState('Stopped');
      return;
    } finally {
      if (mine === generation) loading = false;
    }
    drawChart(chart, records);
    if (!paused) follow();
    else setState('Paused');
  }

  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (paused) {
      stopFollowing();
      setState('Paused');
    } else if (!loading) {
      follow();
    }
  });
  level.addEventListener('change', restart);
  user.addEventListener('change', restart);
  text.addEventListener('input', () => {
    for (const row of lines.children) row.hidden = !matches(row.record, text.value);
  });
  // Minutes pass even when nothing is logged: the chart moves on.
  const tick = setInterval(() => drawChart(chart, records), 30000);
  signal.addEventListener('abort', () => { clearInterval(tick); clearTimeout(chartTimer); }, { once: true });

  await restart();
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

function lastId(body) {
  const list = (body && body.records) || [];
  const id = list.length ? Number(list[list.length - 1]._id) : 0;
  return Number.isSafeInteger(id) ? id : 0;
}

function matches(record, needle) {
  const want = needle.trim().toLowerCase();
  if (!want) return true;
  return JSON.stringify(record).toLowerCase().includes(want);
}

function logRow(record) {
  const levelName = LEVELS.includes(record.level) ? record.level : 'INFO';
  const t = formatTime(Date.parse(record.time));
  const extra = Object.fromEntries(Object.entries(record).filter(([k]) => !SHOWN_APART.has(k)));
  const row = el('div', { class: `log-row level-${levelName.toLowerCase()}`, 'data-id': String(record._id), 'data-key': String(record.key) },
    el('div', { class: 'log-head' },
      el('span', { class: 'log-time', title: t.utc }, t.local),
      el('span', { class: 'log-level' }, String(record.level)),
      el('span', { class: 'log-key' }, String(record.key)),
      record.userID ? el('span', { class: 'log-user' }, `user ${record.userID}`) : null,
      record['entry-name'] ? el('span', { class: 'log-entry' }, String(record['entry-name'])) : null),
    el('pre', { class: 'log-text' }, record.description === undefined ? '' : String(record.description)),
    Object.keys(extra).length
      ? el('details', {}, el('summary', {}, 'fields'), el('pre', { class: 'json' }, prettyJson(extra)))
      : null);
  row.record = record;
  return row;
}

/** Invocations (servercode.invoke) and ERROR records per minute over the last half hour. */
function drawChart(chart, records) {
  const minute = 60 * 1000;
  const to = (Math.floor(Date.now() / minute) + 1) * minute;
  const data = bucketize(records, {
    from: to - CHART_MINUTES * minute,
    to,
    buckets: CHART_MINUTES,
    timeOf: (r) => Date.parse(r.time),
    seriesOf: (r) => (r.level === 'ERROR' ? 'error' : r.key === 'servercode.invoke' ? 'invocation' : null),
  });
  chart.replaceChildren(
    el('h2', {}, `Invocations and errors per minute, last ${CHART_MINUTES} minutes`),
    stackedBars(data, SERIES, { title: 'Invocations and errors per minute' }),
    el('p', { class: 'muted' }, 'Counted from the records loaded here (the level and user filters apply; invocations are DEBUG records).'));
}
