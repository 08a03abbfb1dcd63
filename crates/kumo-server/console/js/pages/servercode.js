// Server code: the versions (current marked), deploying a file, a version's source, making a
// version current, deleting one.

import { el, errorBox, formatTime } from '../dom.js';
import * as api from '../api.js';
import { sourceView, scrollToMark } from '../source_view.js';

const ENVIRONMENT_VERSIONS = ['0', '6', '16'];
// The server refuses more (4 MiB); checking first saves uploading a file that cannot pass.
const MAX_FILE_BYTES = 4 * 1024 * 1024;

export async function renderServerCode(main, app) {
  const status = el('div', { id: 'sc-status', 'aria-live': 'polite' });
  const versionsBox = el('div', { id: 'sc-versions' });
  const detail = el('div', { id: 'sc-detail' });

  const say = (node) => status.replaceChildren(node);

  async function refresh() {
    let versions;
    try {
      versions = await api.listVersions(app);
    } catch (error) {
      versionsBox.replaceChildren(errorBox(api.describe(error)));
      return;
    }
    versionsBox.replaceChildren(versionsTable(versions, {
      view: (v) => showSource(v.versionID),
      makeCurrent: (v) => act(`Version ${v.versionID} is now current.`,
        () => api.call('PUT', api.appPath(app.appID, '/server-code/versions/current'), {
          token: app.token, body: v.versionID, contentType: 'text/plain',
        })),
      remove: (v) => {
        if (!window.confirm(`Delete version ${v.versionID}? This cannot be undone.`)) return;
        act(`Version ${v.versionID} deleted.`,
          () => api.call('DELETE', api.appPath(app.appID, `/server-code/versions/${encodeURIComponent(v.versionID)}`), { token: app.token }));
      },
    }));
  }

  async function act(done, request) {
    try {
      await request();
      say(el('p', { class: 'ok' }, done));
    } catch (error) {
      say(errorBox(api.describe(error)));
    }
    await refresh();
  }

  async function showSource(versionID) {
    detail.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    try {
      const res = await api.call('GET', api.appPath(app.appID, `/server-code/versions/${encodeURIComponent(versionID)}`), {
        token: app.token, text: true,
      });
      detail.replaceChildren(el('section', { class: 'panel', id: 'sc-source' },
        el('h2', {}, 'Source of version ', el('code', {}, versionID)),
        sourceView(res.body)));
    } catch (error) {
      detail.replaceChildren(errorBox(api.describe(error)));
    }
  }

  async function deploy(file, environmentVersion) {
    detail.replaceChildren();
    if (file.size > MAX_FILE_BYTES) {
      say(errorBox(`${file.name} is larger than 4 MiB, the most a deploy may be.`));
      return;
    }
    say(el('p', { class: 'muted' }, `Deploying ${file.name}…`));
    const source = await file.text();
    const form = new FormData();
    form.append('metadata', new Blob([JSON.stringify({ environmentVersion })], { type: 'application/json' }));
    form.append('server-code', new Blob([source], { type: 'application/javascript' }), file.name);
    try {
      const res = await api.call('POST', api.appPath(app.appID, '/server-code'), { token: app.token, body: form });
      say(el('p', { class: 'ok' }, `Deployed ${file.name} as version `, el('code', {}, String(res.body.versionID)), '.'));
    } catch (error) {
      const body = error.body || {};
      if (body.errorCode === 'SERVER_CODE_VERIFICATION_ERROR' && Number.isInteger(body.line)) {
        say(errorBox(`${file.name} was refused (line ${body.line}, column ${body.column}): ${body.message}`));
        const view = sourceView(source, { line: body.line, column: body.column, message: body.message });
        detail.replaceChildren(el('section', { class: 'panel', id: 'sc-verification' },
          el('h2', {}, 'Verification error in ', file.name), view));
        scrollToMark(view);
      } else {
        say(errorBox(`Deploy failed: ${api.describe(error)}`));
      }
    }
    await refresh();
  }

  main.append(
    el('h1', {}, 'Server code'),
    deployPanel(deploy),
    status,
    el('section', { class: 'panel' }, el('h2', {}, 'Versions'), versionsBox),
    detail,
  );
  await refresh();
}

function deployPanel(deploy) {
  const input = el('input', { type: 'file', id: 'sc-file', accept: '.js,application/javascript,text/javascript' });
  const env = el('select', { id: 'sc-env' },
    ENVIRONMENT_VERSIONS.map((v) => el('option', { value: v }, v)));
  env.value = '6';
  const chosen = el('span', { class: 'muted', id: 'sc-chosen' }, 'No file chosen');
  const button = el('button', { type: 'button', class: 'primary', id: 'sc-deploy', disabled: true }, 'Deploy');
  let file = null;

  const choose = (f) => {
    file = f || null;
    chosen.textContent = file ? `${file.name} (${file.size} bytes)` : 'No file chosen';
    button.disabled = !file;
  };
  input.addEventListener('change', () => choose(input.files[0]));
  button.addEventListener('click', async () => {
    if (!file) return;
    button.disabled = true;
    try {
      await deploy(file, env.value);
    } finally {
      button.disabled = !file;
    }
  });

  const zone = el('div', { class: 'dropzone', id: 'sc-dropzone' },
    el('span', {}, 'Drop a .js file here, or'), input, chosen);
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    const dropped = event.dataTransfer && event.dataTransfer.files[0];
    if (dropped) choose(dropped);
  });

  return el('section', { class: 'panel' },
    el('h2', {}, 'Deploy'),
    zone,
    el('label', { class: 'inline' }, 'Environment version', env),
    button,
    el('p', { class: 'muted' }, 'A new version is not current until you make it so.'));
}

function versionsTable(versions, actions) {
  if (versions.length === 0) {
    return el('p', { class: 'muted', id: 'sc-empty' }, 'No version deployed yet.');
  }
  const rows = versions.map((v) => {
    const created = formatTime(v.createdAt);
    return el('tr', { class: v.current ? 'current' : null, 'data-version': String(v.versionID) },
      el('td', {}, v.current ? el('span', { class: 'badge' }, 'current') : ''),
      el('td', { class: 'id' }, String(v.versionID)),
      el('td', { title: `UTC ${created.utc}` }, created.local),
      el('td', {}, String(v.environmentVersion ?? '')),
      el('td', {}, el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'view', onclick: () => actions.view(v) }, 'Source'),
        el('button', { type: 'button', class: 'make-current', disabled: Boolean(v.current), onclick: () => actions.makeCurrent(v) }, 'Make current'),
        el('button', { type: 'button', class: 'delete danger', onclick: () => actions.remove(v) }, 'Delete'))));
  });
  return el('table', { id: 'sc-table' },
    el('thead', {}, el('tr', {},
      el('th', {}, ''), el('th', {}, 'Version'), el('th', {}, 'Created (local)'),
      el('th', {}, 'Environment'), el('th', {}, ''))),
    el('tbody', {}, rows));
}
