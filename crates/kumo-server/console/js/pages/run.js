// Run: call an endpoint of the current or any version, as anonymous, a user or the admin,
// and show what came back.

import { el, errorBox, prettyJson } from '../dom.js';
import * as api from '../api.js';

const ENDPOINT_NAME = /^[a-zA-Z][_a-zA-Z0-9]*$/;

export async function renderRun(main, app) {
  const version = el('select', { id: 'run-version' }, el('option', { value: 'current' }, 'current'));
  const endpoint = el('input', { type: 'text', id: 'run-endpoint', placeholder: 'endpoint name', autocomplete: 'off' });
  const env = el('select', { id: 'run-env' },
    el('option', { value: '' }, "the version's own"),
    ['0', '6', '16'].map((v) => el('option', { value: v }, v)));
  const params = el('textarea', { id: 'run-params', spellcheck: 'false' });
  params.value = '{}';
  const as = el('select', { id: 'run-as' },
    el('option', { value: 'admin' }, 'the app admin'),
    el('option', { value: 'user' }, 'a user (access token)'),
    el('option', { value: 'anonymous' }, 'anonymous'));
  const userToken = el('input', { type: 'password', id: 'run-user-token', class: 'wide', autocomplete: 'off' });
  const userField = el('label', { hidden: true }, 'User access token', userToken);
  as.addEventListener('change', () => { userField.hidden = as.value !== 'user'; });
  const button = el('button', { type: 'submit', class: 'primary', id: 'run-submit' }, 'Run');
  const result = el('div', { id: 'run-result' });

  const form = el('form', { id: 'run-form' },
    el('div', {},
      el('label', {}, 'Version', version),
      el('label', {}, 'Endpoint', endpoint),
      el('label', {}, 'Environment version', env)),
    el('div', {}, el('label', {}, 'Parameters (a JSON object)', params)),
    el('div', {}, el('label', {}, 'Call as', as), userField),
    button);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    result.replaceChildren();
    const name = endpoint.value.trim();
    if (!ENDPOINT_NAME.test(name)) {
      result.append(errorBox('An endpoint name starts with a letter and has only letters, digits and _.'));
      return;
    }
    let body;
    try {
      body = JSON.parse(params.value.trim() || '{}');
    } catch (error) {
      result.append(errorBox(`The parameters are not JSON: ${error.message}`));
      return;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      result.append(errorBox('The parameters must be a JSON object.'));
      return;
    }
    const token = as.value === 'admin' ? app.token : as.value === 'user' ? userToken.value.trim() : null;
    const query = env.value ? `?environment-version=${encodeURIComponent(env.value)}` : '';
    const path = api.appPath(app.appID,
      `/server-code/versions/${encodeURIComponent(version.value)}/${encodeURIComponent(name)}${query}`);
    button.disabled = true;
    const started = performance.now();
    try {
      const res = await api.call('POST', path, { token, json: body });
      result.append(outcome(true, res.status, res.headers, performance.now() - started, res.body));
    } catch (error) {
      if (error instanceof api.ApiError) {
        result.append(outcome(false, error.status, error.headers, performance.now() - started, error.body));
      } else {
        result.append(errorBox(api.describe(error)));
      }
    } finally {
      button.disabled = false;
    }
  });

  main.append(
    el('h1', {}, 'Run an endpoint'),
    el('section', { class: 'panel' }, form),
    result,
  );

  try {
    for (const v of await api.listVersions(app)) {
      version.append(el('option', { value: String(v.versionID) },
        `${v.versionID}${v.current ? ' (current)' : ''}`));
    }
  } catch (error) {
    result.append(errorBox(`Could not list the versions: ${api.describe(error)}`));
  }
}

function outcome(ok, status, headers, ms, body) {
  const facts = el('dl', { class: 'facts' },
    el('dt', {}, 'Status'), el('dd', { id: 'run-status' }, String(status)),
    el('dt', {}, 'Duration'), el('dd', { id: 'run-duration' }, `${ms.toFixed(1)} ms`));
  if (headers) {
    facts.append(
      el('dt', {}, 'Steps'), el('dd', { id: 'run-steps' }, headers.get('X-Step-count') ?? '—'),
      el('dt', {}, 'Environment version'), el('dd', { id: 'run-env-version' }, headers.get('X-Environment-version') ?? '—'));
  }
  const shown = ok
    ? (body && Object.prototype.hasOwnProperty.call(body, 'returnedValue')
      ? prettyJson(body.returnedValue) : '(no returned value)')
    : prettyJson(body);
  return el('section', { class: 'panel', 'data-outcome': ok ? 'success' : 'failure' },
    el('h2', {}, ok ? 'Returned value' : 'Error'),
    facts,
    el('pre', { class: ok ? 'json' : 'json error', id: ok ? 'run-returned' : 'run-error' }, shown));
}
