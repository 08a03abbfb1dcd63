// The signed-in apps of this browser tab. Only tokens are kept, never a client secret, and
// only in sessionStorage: closing the tab forgets them, and no other tab or site sees them.

const KEY = 'kumo.console.session';

function read() {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (parsed && typeof parsed === 'object' && parsed.apps && typeof parsed.apps === 'object') {
      return parsed;
    }
  } catch {
    /* a damaged entry is as good as none */
  }
  return { current: null, apps: {} };
}

function write(state) {
  sessionStorage.setItem(KEY, JSON.stringify(state));
}

/** The app being worked on: { appID, token, via }, or null. */
export function current() {
  const state = read();
  return (state.current && state.apps[state.current]) || null;
}

/** The app IDs signed in to in this tab. */
export function appIDs() {
  return Object.keys(read().apps);
}

/** Remembers an app's admin token and makes it the current app. */
export function add(appID, token, via) {
  const state = read();
  state.apps[appID] = { appID, token, via };
  state.current = appID;
  write(state);
}

export function switchTo(appID) {
  const state = read();
  if (state.apps[appID]) {
    state.current = appID;
    write(state);
  }
}

/** Forgets the current app's token; another signed-in app, if any, becomes current. */
export function signOut() {
  const state = read();
  if (state.current) delete state.apps[state.current];
  state.current = Object.keys(state.apps)[0] || null;
  if (state.current) write(state);
  else sessionStorage.removeItem(KEY);
}
