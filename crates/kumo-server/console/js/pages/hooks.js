// Hooks: the current version's hook config, uploading one (the server validates it and its
// message is shown), the trigger hooks and schedule jobs it defines, each job's next firings
// in local time and UTC, and running a job now.

import { el, errorBox, formatTime, prettyJson } from '../dom.js';
import * as api from '../api.js';
import { sourceView } from '../source_view.js';

const CONFIG_TYPE = 'application/vnd.kii.HooksDeploymentRequest+json';

export async function renderHooks(main, app) {
  const status = el('div', { id: 'hooks-status', 'aria-live': 'polite' });
  const summary = el('div', { id: 'hooks-summary' });
  const say = (node) => status.replaceChildren(node);
  const versionSelect = el('select', { id: 'hooks-version' });

  async function refresh() {
    let versions = [];
    try {
      versions = await api.listVersions(app);
    } catch (error) {
      summary.replaceChildren(errorBox(api.describe(error)));
      return;
    }
    const chosen = versionSelect.value;
    versionSelect.replaceChildren(...versions.map((v) => el('option', { value: String(v.versionID) },
      `${v.versionID}${v.current ? ' (current)' : ''}`)));
    const current = versions.find((v) => v.current);
    if (versions.some((v) => String(v.versionID) === chosen)) versionSelect.value = chosen;
    else if (current) versionSelect.value = String(current.versionID);
    summary.replaceChildren(current
      ? await currentHooks(app, current.versionID, say)
      : el('p', { class: 'muted' }, 'No version is current, so no hook is live.'));
  }

  const upload = uploadPanel(versionSelect, async (versionID, file) => {
    const text = await file.text();
    try {
      await api.call('PUT', api.appPath(app.appID, `/hooks/versions/${encodeURIComponent(versionID)}`), {
        token: app.token, body: text, contentType: CONFIG_TYPE,
      });
      say(el('p', { class: 'ok' }, `${file.name} is now the hook config of version `, el('code', {}, versionID), '.'));
    } catch (error) {
      say(errorBox(`The hook config was refused: ${api.describe(error)}`));
    }
    await refresh();
  });

  main.append(el('h1', {}, 'Hooks'), upload, status, summary);
  await refresh();
}

async function currentHooks(app, versionID, say) {
  let text;
  let parsed;
  try {
    const res = await api.call('GET', api.appPath(app.appID, '/hooks/versions/current'), { token: app.token, text: true });
    text = res.body;
    parsed = (await api.call('GET', api.appPath(app.appID, '/console/hooks/current'), { token: app.token })).body;
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 404) {
      return el('p', { class: 'muted', id: 'hooks-none' }, 'The current version has no hook config.');
    }
    return errorBox(api.describe(error));
  }
  const triggers = Array.isArray(parsed.triggers) ? parsed.triggers : [];
  const jobs = Array.isArray(parsed.jobs) ? parsed.jobs : [];
  return el('div', {},
    el('section', { class: 'panel' },
      el('h2', {}, 'Trigger hooks'),
      triggers.length === 0 ? el('p', { class: 'muted' }, 'None.') : el('table', { id: 'hooks-triggers' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Path'), el('th', {}, 'When'), el('th', {}, 'Endpoint'))),
        el('tbody', {}, triggers.map((t) => el('tr', {},
          el('td', { class: 'id' }, String(t.path)), el('td', {}, String(t.when)), el('td', {}, String(t.endpoint))))))),
    el('section', { class: 'panel' },
      el('h2', {}, 'Schedule jobs'),
      jobs.length === 0 ? el('p', { class: 'muted' }, 'None.') : el('table', { id: 'hooks-jobs' },
        el('thead', {}, el('tr', {},
          el('th', {}, 'Job'), el('th', {}, 'Endpoint'), el('th', {}, 'Schedule'),
          el('th', {}, 'Next firings (local / UTC)'), el('th', {}, ''))),
        el('tbody', {}, jobs.map((job) => jobRow(app, job, say))))),
    el('section', { class: 'panel' },
      el('h2', {}, 'Hook config of the current version ', el('code', {}, String(versionID))),
      sourceView(text)));
}

function jobRow(app, job, say) {
  const firings = (Array.isArray(job.nextFirings) ? job.nextFirings : []).map((ms) => {
    const t = formatTime(ms);
    return el('li', {}, el('span', { class: 'local' }, t.local), ' / ', el('span', { class: 'utc' }, t.utc));
  });
  const run = el('button', { type: 'button', class: 'run-now' }, 'Run now');
  run.addEventListener('click', async () => {
    run.disabled = true;
    say(el('p', { class: 'muted' }, `Running ${job.name}…`));
    try {
      const res = await api.call('POST',
        api.appPath(app.appID, `/hooks/versions/current/jobs/${encodeURIComponent(job.name)}/run`), { token: app.token });
      say(el('section', { class: 'panel', id: 'hooks-execution' },
        el('h2', {}, `Execution of ${job.name}: `, el('span', { class: 'exec-status' }, String(res.body.status))),
        el('pre', { class: 'json' }, prettyJson(res.body))));
    } catch (error) {
      say(errorBox(`Running ${job.name} failed: ${api.describe(error)}`));
    } finally {
      run.disabled = false;
    }
  });
  const schedule = job.timezone ? `${job.cron} (${job.timezone})` : `${job.cron} (UTC)`;
  return el('tr', { 'data-job': String(job.name) },
    el('td', { class: 'id' }, String(job.name)),
    el('td', {}, String(job.endpoint)),
    el('td', { class: 'id' }, schedule),
    el('td', {}, el('ol', { class: 'firings' }, firings)),
    el('td', {}, run));
}

function uploadPanel(versionSelect, upload) {
  const input = el('input', { type: 'file', id: 'hooks-file', accept: '.json,application/json' });
  const button = el('button', { type: 'button', class: 'primary', id: 'hooks-upload', disabled: true }, 'Upload');
  input.addEventListener('change', () => { button.disabled = !input.files[0] || !versionSelect.value; });
  button.addEventListener('click', async () => {
    const file = input.files[0];
    if (!file || !versionSelect.value) return;
    button.disabled = true;
    try {
      await upload(versionSelect.value, file);
    } finally {
      button.disabled = false;
    }
  });
  // Or write the config here: no file needed for a first schedule.
  const text = el('textarea', { id: 'hooks-text', spellcheck: 'false', class: 'tall' });
  const example = el('button', { type: 'button', id: 'hooks-example' }, 'Start from an example');
  example.addEventListener('click', () => { text.value = EXAMPLE_CONFIG; });
  const uploadText = el('button', { type: 'button', class: 'primary', id: 'hooks-upload-text' }, 'Upload the text');
  uploadText.addEventListener('click', async () => {
    if (!text.value.trim() || !versionSelect.value) return;
    uploadText.disabled = true;
    try {
      await upload(versionSelect.value, new File([text.value], 'The written config', { type: 'application/json' }));
    } finally {
      uploadText.disabled = false;
    }
  });
  return el('section', { class: 'panel' },
    el('h2', {}, 'Upload a hook config'),
    el('label', {}, 'For version', versionSelect),
    el('label', {}, 'Config file (JSON, comments allowed)', input),
    button,
    el('details', { id: 'hooks-write' }, el('summary', {}, 'or write it here'),
      text, el('div', { class: 'actions' }, example, uploadText)));
}

// A first schedule: the endpoint name is the one thing to change.
const EXAMPLE_CONFIG = `{
  // Run the endpoint "hello" every minute (cron: minute hour day month weekday, UTC).
  "kiicloud://scheduler": {
    "every-minute": {
      "cron": "* * * * *",
      "what": "EXECUTE_SERVER_CODE",
      "endpoint": "hello",
      "parameters": {"name": "schedule"}
    }
  },
  // Run "hello" whenever a user is created.
  "kiicloud://users": [
    {"when": "USER_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "hello"}
  ]
}
`;
