// The console's entry point: which page to show (the URL's hash), the app switcher and
// sign-out.

import * as session from './session.js';
import { el, errorBox } from './dom.js';
import { describe } from './api.js';
import { renderSignIn } from './pages/signin.js';
import { renderServerCode } from './pages/servercode.js';
import { renderRun } from './pages/run.js';
import { renderHooks } from './pages/hooks.js';
import { renderExecutions } from './pages/executions.js';
import { renderDevLog } from './pages/devlog.js';
import { renderData } from './pages/data.js';
import { renderUsers } from './pages/users.js';

const PAGES = {
  'server-code': renderServerCode,
  hooks: renderHooks,
  run: renderRun,
  executions: renderExecutions,
  log: renderDevLog,
  data: renderData,
  users: renderUsers,
};
const DEFAULT_PAGE = 'server-code';

// The hash is `#/name` or `#/name?key=value&…` (parameters a page may read).
function pageName() {
  return location.hash.replace(/^#\/?/, '').split('?')[0];
}

function pageParams() {
  const hash = location.hash;
  const at = hash.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : hash.slice(at + 1));
}

function go(name) {
  if (pageName() === name) route();
  else location.hash = `#/${name}`;
}

// Aborted when the page is left, so a page's live work (the log stream) stops with it.
let leaving = new AbortController();

async function route() {
  leaving.abort();
  leaving = new AbortController();
  const { signal } = leaving;
  const main = document.getElementById('main');
  main.replaceChildren();
  const app = session.current();
  const name = pageName();
  showChrome(app, name);
  if (!app || name === 'signin') {
    renderSignIn(main, { onSignedIn: () => go(DEFAULT_PAGE) });
    return;
  }
  const render = PAGES[name] || PAGES[DEFAULT_PAGE];
  try {
    await render(main, app, { signal, params: pageParams() });
  } catch (error) {
    main.append(errorBox(describe(error)));
  }
}

function showChrome(app, name) {
  document.getElementById('nav').hidden = !app;
  document.getElementById('session').hidden = !app;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.page === (PAGES[name] ? name : DEFAULT_PAGE)) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const select = document.getElementById('app-switch');
  select.replaceChildren(...session.appIDs().map((id) => el('option', { value: id }, id)));
  if (app) select.value = app.appID;
  document.title = app ? `Kumo console · ${app.appID}` : 'Kumo console';
}

document.getElementById('app-switch').addEventListener('change', (event) => {
  session.switchTo(event.target.value);
  route();
});
document.getElementById('add-app').addEventListener('click', () => go('signin'));
document.getElementById('sign-out').addEventListener('click', () => {
  session.signOut();
  go(session.current() ? DEFAULT_PAGE : 'signin');
});
window.addEventListener('hashchange', route);
route();
