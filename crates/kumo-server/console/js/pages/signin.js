// Sign-in: an app ID with its client ID and secret (exchanged for an admin token through
// the public token call) or with an admin token directly.

import { el, errorBox } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';

export function renderSignIn(main, { onSignedIn }) {
  const appID = el('input', { type: 'text', id: 'signin-app-id', class: 'wide', required: true, autocomplete: 'off' });
  const clientID = el('input', { type: 'text', id: 'signin-client-id', class: 'wide', autocomplete: 'off' });
  const clientSecret = el('input', { type: 'password', id: 'signin-client-secret', class: 'wide', autocomplete: 'off' });
  const token = el('input', { type: 'password', id: 'signin-token', class: 'wide', autocomplete: 'off' });
  const viaClient = el('input', { type: 'radio', name: 'via', value: 'client', checked: true });
  const viaToken = el('input', { type: 'radio', name: 'via', value: 'token' });
  const clientFields = el('div', {},
    el('label', {}, 'Client ID', clientID),
    el('label', {}, 'Client secret', clientSecret));
  const tokenFields = el('div', { hidden: true }, el('label', {}, 'Admin token', token));
  const status = el('div', { id: 'signin-status' });
  const submit = el('button', { type: 'submit', class: 'primary', id: 'signin-submit' }, 'Sign in');

  const showFields = () => {
    clientFields.hidden = !viaClient.checked;
    tokenFields.hidden = viaClient.checked;
  };
  viaClient.addEventListener('change', showFields);
  viaToken.addEventListener('change', showFields);

  // The first start prints the credentials as JSON: pasting that whole block into the App ID
  // field fills all three (a one-line field drops its line breaks, which JSON does not need).
  appID.addEventListener('input', () => {
    const text = appID.value.trim();
    if (!text.startsWith('{')) return;
    let creds;
    try {
      creds = JSON.parse(text);
    } catch {
      return;
    }
    if (!creds || typeof creds.appID !== 'string') return;
    appID.value = creds.appID;
    if (typeof creds.clientID === 'string') clientID.value = creds.clientID;
    if (typeof creds.clientSecret === 'string') clientSecret.value = creds.clientSecret;
    viaClient.checked = true;
    showFields();
    status.replaceChildren(el('p', { class: 'ok', id: 'signin-filled' }, 'Filled in from the pasted credentials.'));
  });

  const form = el('form', { id: 'signin-form' },
    el('div', {}, el('label', {}, 'App ID', appID)),
    el('div', {},
      el('label', { class: 'inline' }, viaClient, 'Client ID and secret'),
      el('label', { class: 'inline' }, viaToken, 'Admin token')),
    clientFields, tokenFields, submit, status);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.replaceChildren();
    const app = appID.value.trim();
    if (!app) {
      status.append(errorBox('Enter the app ID.'));
      return;
    }
    submit.disabled = true;
    try {
      let adminToken;
      if (viaClient.checked) {
        adminToken = await api.adminToken(app, clientID.value.trim(), clientSecret.value);
      } else {
        adminToken = token.value.trim();
        // Whether the token is the app's admin: an admin-only call answers.
        await api.listVersions({ appID: app, token: adminToken });
      }
      session.add(app, adminToken, viaClient.checked ? 'client' : 'token');
      clientSecret.value = '';
      token.value = '';
      onSignedIn();
    } catch (error) {
      status.append(errorBox(`Sign-in failed: ${api.describe(error)}`));
    } finally {
      submit.disabled = false;
    }
  });

  const signedIn = session.appIDs();
  main.append(
    el('h1', {}, 'Sign in'),
    el('section', { class: 'panel' },
      el('p', { class: 'muted' },
        'Use the credentials `kumo serve` printed on first start (also in kumo-data/default-app.json): ' +
        'paste that whole JSON block into App ID and the three fields fill in. ' +
        'The token is kept in this tab only and forgotten on sign-out.'),
      signedIn.length ? el('p', { class: 'muted' }, `Already signed in here: ${signedIn.join(', ')}`) : null,
      form),
  );
  appID.focus();
}
