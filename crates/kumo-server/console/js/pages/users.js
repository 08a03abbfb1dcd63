// Users and groups: find a user by login name, email, phone or ID (Kii's user addresses),
// with its fields and groups; a group by ID with its owner and members; pages of all users and
// all groups (the console's admin listings).

import { el, errorBox, formatTime, prettyJson } from '../dom.js';
import * as api from '../api.js';

// [value, label, the address prefix the REST path takes].
const KINDS = [
  ['login', 'Login name', 'LOGIN_NAME:'],
  ['email', 'Email', 'EMAIL:'],
  ['phone', 'Phone', 'PHONE:'],
  ['id', 'User ID', ''],
];
const PAGE_SIZE = 20;

export async function renderUsers(main, app) {
  const path = (rest) => api.appPath(app.appID, rest);
  const userBox = el('div', { id: 'ug-user' });
  const groupBox = el('div', { id: 'ug-group' });
  const usersList = el('div', { id: 'ug-users' });
  const groupsList = el('div', { id: 'ug-groups' });

  // ---- find a user -------------------------------------------------------------------------
  const kind = el('select', { id: 'ug-kind' }, KINDS.map(([v, label]) => el('option', { value: v }, label)));
  const who = el('input', { type: 'text', id: 'ug-who', class: 'wide', autocomplete: 'off' });
  const findUser = el('form', { id: 'ug-find-user', class: 'log-controls' },
    el('label', {}, 'Find a user by', kind), el('label', {}, 'Value', who),
    el('button', { type: 'submit', class: 'primary', id: 'ug-find' }, 'Find'));
  findUser.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = who.value.trim();
    if (!value) return;
    const prefix = KINDS.find(([v]) => v === kind.value)[2];
    showUser(`${prefix}${value}`);
  });

  async function showUser(address) {
    userBox.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    let user;
    try {
      user = (await api.call('GET', path(`/users/${encodeURIComponent(address)}`), { token: app.token })).body;
    } catch (error) {
      userBox.replaceChildren(errorBox(api.describe(error)));
      return;
    }
    const id = String(user.userID);
    const facts = el('dl', { class: 'facts', id: 'ug-user-facts' });
    const shown = [
      ['User ID', user.userID], ['Login name', user.loginName], ['Display name', user.displayName],
      ['Email', user.emailAddress], ['Email verified', user.emailAddressVerified],
      ['Phone', user.phoneNumber], ['Phone verified', user.phoneNumberVerified],
      ['Country', user.country], ['Locale', user.locale], ['Has a password', user._hasPassword],
      ['Disabled', user._disabled],
    ];
    for (const [label, value] of shown) {
      if (value === undefined || value === null) continue;
      facts.append(el('dt', {}, label), el('dd', { 'data-field': label }, String(value)));
    }
    for (const [label, ms] of [['Created', user._created], ['Modified', user._modified]]) {
      const t = formatTime(ms);
      facts.append(el('dt', {}, label), el('dd', { title: `UTC ${t.utc}` }, t.local));
    }
    const groups = el('div', { id: 'ug-user-groups' }, el('p', { class: 'muted' }, 'Loading groups…'));
    userBox.replaceChildren(el('section', { class: 'panel', id: 'ug-user-panel', 'data-user': id },
      el('h2', {}, 'User ', el('code', {}, id)),
      facts,
      el('div', { class: 'actions' },
        el('a', { href: `#/data?user=${encodeURIComponent(id)}`, id: 'ug-user-buckets' }, "This user's buckets")),
      el('h3', {}, 'Groups'), groups,
      el('details', {}, el('summary', {}, 'All fields (JSON)'), el('pre', { class: 'json', id: 'ug-user-json' }, prettyJson(user)))));
    try {
      const q = (param) => api.call('GET', path(`/groups?${param}=${encodeURIComponent(id)}`), { token: app.token });
      const [member, owner] = await Promise.all([q('is_member'), q('owner')]);
      const owned = new Set((owner.body.groups || []).map((g) => g.groupID));
      const all = new Map();
      for (const g of [...(member.body.groups || []), ...(owner.body.groups || [])]) all.set(g.groupID, g);
      groups.replaceChildren(all.size === 0
        ? el('p', { class: 'muted', id: 'ug-user-no-groups' }, 'Neither a member nor the owner of a group.')
        : groupTable([...all.values()], 'ug-user-group-table',
          (g) => (owned.has(g.groupID) ? 'owner' : 'member'), (g) => showGroup(String(g.groupID))));
    } catch (error) {
      groups.replaceChildren(errorBox(api.describe(error)));
    }
  }

  // ---- a group -------------------------------------------------------------------------------
  const groupID = el('input', { type: 'text', id: 'ug-group-id', class: 'wide', autocomplete: 'off' });
  const findGroup = el('form', { id: 'ug-find-group', class: 'log-controls' },
    el('label', {}, 'Group ID', groupID),
    el('button', { type: 'submit', class: 'primary', id: 'ug-open-group' }, 'Open group'));
  findGroup.addEventListener('submit', (event) => {
    event.preventDefault();
    if (groupID.value.trim()) showGroup(groupID.value.trim());
  });

  async function showGroup(id) {
    groupBox.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    const groupPath = path(`/groups/${encodeURIComponent(id)}`);
    let group;
    let members;
    try {
      [group, members] = await Promise.all([
        api.call('GET', groupPath, { token: app.token }).then((r) => r.body),
        api.call('GET', `${groupPath}/members`, { token: app.token }).then((r) => r.body.members || []),
      ]);
    } catch (error) {
      groupBox.replaceChildren(errorBox(api.describe(error)));
      return;
    }
    const created = formatTime(group.createdAt);
    const owner = group.owner ? String(group.owner) : null;
    groupBox.replaceChildren(el('section', { class: 'panel', id: 'ug-group-panel', 'data-group': id },
      el('h2', {}, 'Group ', el('code', {}, id)),
      el('dl', { class: 'facts' },
        el('dt', {}, 'Name'), el('dd', { id: 'ug-group-name' }, String(group.name ?? '')),
        el('dt', {}, 'Owner'), el('dd', { id: 'ug-group-owner' },
          owner ? el('button', { type: 'button', class: 'link', onclick: () => showUser(owner) }, owner) : '—'),
        el('dt', {}, 'Created'), el('dd', { title: `UTC ${created.utc}` }, created.local)),
      el('div', { class: 'actions' },
        el('a', { href: `#/data?group=${encodeURIComponent(id)}`, id: 'ug-group-buckets' }, "This group's buckets")),
      el('h3', {}, `Members (${members.length})`),
      members.length === 0
        ? el('p', { class: 'muted', id: 'ug-no-members' }, 'No members.')
        : el('ul', { id: 'ug-members' }, members.map((m) => el('li', { 'data-user': String(m.userID) },
          el('button', { type: 'button', class: 'link', onclick: () => showUser(String(m.userID)) }, String(m.userID)))))));
    // The member IDs alone say little: add each one's login name (best effort, a page's worth).
    for (const item of groupBox.querySelectorAll('#ug-members li')) {
      api.call('GET', path(`/users/${encodeURIComponent(item.dataset.user)}`), { token: app.token })
        .then((r) => {
          const name = r.body.loginName || r.body.displayName;
          if (name) item.append(' ', el('span', { class: 'muted' }, String(name)));
        })
        .catch(() => {});
    }
  }

  // ---- pages of all users and groups -----------------------------------------------------
  function pagedList(box, listPath, field, idPrefix, render) {
    const keys = [];
    async function show(key) {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (key) query.set('paginationKey', key);
      let res;
      try {
        res = await api.call('GET', path(`${listPath}?${query}`), { token: app.token });
      } catch (error) {
        box.replaceChildren(errorBox(api.describe(error)));
        return;
      }
      const items = Array.isArray(res.body[field]) ? res.body[field] : [];
      const next = res.body.nextPaginationKey || null;
      const prev = el('button', { type: 'button', id: `${idPrefix}-prev`, disabled: keys.length === 0 }, 'Previous page');
      const more = el('button', { type: 'button', id: `${idPrefix}-next`, disabled: !next }, 'Next page');
      prev.addEventListener('click', () => { keys.pop(); show(keys[keys.length - 1] || null); });
      more.addEventListener('click', () => { keys.push(next); show(next); });
      box.replaceChildren(render(items),
        el('div', { class: 'actions pager' }, prev, el('span', { class: 'muted', id: `${idPrefix}-page` }, `Page ${keys.length + 1}`), more));
    }
    return show(null);
  }

  const userTable = (users) => (users.length === 0
    ? el('p', { class: 'muted' }, 'No users yet.')
    : el('table', { id: 'ug-users-table' },
      el('thead', {}, el('tr', {}, el('th', {}, 'User ID'), el('th', {}, 'Login name'), el('th', {}, 'Email'),
        el('th', {}, 'Phone'), el('th', {}, 'Created (local)'), el('th', {}, ''))),
      el('tbody', {}, users.map((u) => {
        const created = formatTime(u._created);
        return el('tr', { 'data-user': String(u.userID) },
          el('td', { class: 'id' }, String(u.userID)),
          el('td', {}, u.loginName ? String(u.loginName) : '—'),
          el('td', {}, u.emailAddress ? String(u.emailAddress) : '—'),
          el('td', {}, u.phoneNumber ? String(u.phoneNumber) : '—'),
          el('td', { title: `UTC ${created.utc}` }, created.local),
          el('td', {}, el('button', { type: 'button', class: 'open', onclick: () => showUser(String(u.userID)) }, 'Open')));
      }))));

  main.append(
    el('h1', {}, 'Users and groups'),
    el('section', { class: 'panel' }, findUser, findGroup),
    userBox,
    groupBox,
    el('section', { class: 'panel' }, el('h2', {}, 'All users (by ID)'), usersList),
    el('section', { class: 'panel' }, el('h2', {}, 'All groups (by ID)'), groupsList),
  );
  await Promise.all([
    pagedList(usersList, '/console/users', 'users', 'ug-users', userTable),
    pagedList(groupsList, '/console/groups', 'groups', 'ug-groups', (groups) => (groups.length === 0
      ? el('p', { class: 'muted' }, 'No groups yet.')
      : groupTable(groups, 'ug-groups-table', null, (g) => showGroup(String(g.groupID))))),
  ]);
}

/** Groups as a table; `role(g)` adds a column (owner/member) when given. */
function groupTable(groups, id, role, onOpen) {
  return el('table', { id },
    el('thead', {}, el('tr', {}, el('th', {}, 'Group ID'), el('th', {}, 'Name'), el('th', {}, 'Owner'),
      role ? el('th', {}, 'Role') : null, el('th', {}, ''))),
    el('tbody', {}, groups.map((g) => el('tr', { 'data-group': String(g.groupID) },
      el('td', { class: 'id' }, String(g.groupID)),
      el('td', {}, String(g.name ?? '')),
      el('td', { class: 'id' }, g.owner ? String(g.owner) : '—'),
      role ? el('td', { class: 'role' }, role(g)) : null,
      el('td', {}, el('button', { type: 'button', class: 'open', onclick: () => onOpen(g) }, 'Open'))))));
}
