// Data: the buckets of the app (or of a user or group), a bucket's objects by query (a simple
// field/operator/value form or a clause as JSON, ordered, paged by the server's
// paginationKey), an object's JSON and ACL, creating, editing and deleting objects. Listing
// buckets is the console's admin call; everything else is Kii's public REST API.

import { el, errorBox, formatTime, prettyJson } from '../dom.js';
import * as api from '../api.js';

const QUERY_TYPE = 'application/vnd.kii.QueryRequest+json';
const BUCKET_NAME = /^[a-zA-Z0-9_-]{2,64}$/;
const OBJECT_ACTIONS = ['READ_EXISTING_OBJECT', 'WRITE_EXISTING_OBJECT'];
const BUCKET_ACTIONS = ['QUERY_OBJECTS_IN_BUCKET', 'CREATE_OBJECTS_IN_BUCKET',
  'READ_OBJECTS_IN_BUCKET', 'DROP_BUCKET_WITH_ALL_CONTENT'];
// The simple form's operators: [value, label].
const OPERATORS = [
  ['eq', '='], ['ne', '≠'], ['gt', '>'], ['ge', '≥'], ['lt', '<'], ['le', '≤'],
  ['prefix', 'starts with'], ['in', 'in (a JSON array)'], ['hasField', 'has field of type'],
];
const PREVIEW_CHARS = 160;

/**
 * The clause the simple form describes. `raw` is read as JSON when it parses (10, true,
 * "text", [1, 2]) and as a string otherwise; no field means every object.
 */
export function formClause(field, op, raw) {
  if (!field) return { type: 'all' };
  let value;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  switch (op) {
    case 'eq': return { type: 'eq', field, value };
    case 'ne': return { type: 'not', clause: { type: 'eq', field, value } };
    case 'gt': return { type: 'range', field, lowerLimit: value, lowerIncluded: false };
    case 'ge': return { type: 'range', field, lowerLimit: value, lowerIncluded: true };
    case 'lt': return { type: 'range', field, upperLimit: value, upperIncluded: false };
    case 'le': return { type: 'range', field, upperLimit: value, upperIncluded: true };
    case 'prefix': return { type: 'prefix', field, prefix: String(value) };
    case 'in':
      if (!Array.isArray(value)) throw new Error('"in" needs a JSON array, e.g. [1, 2] or ["a", "b"].');
      return { type: 'in', field, values: value };
    case 'hasField': return { type: 'hasField', field, fieldType: String(value).toUpperCase() };
    default: throw new Error(`Unknown operator ${op}`);
  }
}

/** The REST path prefix of a scope: '' (app), '/users/{id}' or '/groups/{id}'. */
function scopePath(scope) {
  if (scope.kind === 'user') return `/users/${encodeURIComponent(scope.id)}`;
  if (scope.kind === 'group') return `/groups/${encodeURIComponent(scope.id)}`;
  return '';
}

function scopeLabel(scope) {
  if (scope.kind === 'user') return `user ${scope.id}`;
  if (scope.kind === 'group') return `group ${scope.id}`;
  return 'the app';
}

export async function renderData(main, app, { params } = {}) {
  const status = el('div', { id: 'data-status', 'aria-live': 'polite' });
  const bucketsBox = el('div', { id: 'data-buckets' });
  const bucketBox = el('div', { id: 'data-bucket' });
  const objectBox = el('div', { id: 'data-object' });
  const say = (node) => status.replaceChildren(node || '');
  const path = (rest) => api.appPath(app.appID, rest);
  let scope = { kind: 'app', id: '' };

  // ---- scope and bucket list ------------------------------------------------------------
  const scopeKind = el('select', { id: 'data-scope' },
    el('option', { value: 'app' }, 'App'),
    el('option', { value: 'user' }, 'User'),
    el('option', { value: 'group' }, 'Group'));
  const scopeID = el('input', {
    type: 'text', id: 'data-scope-id', class: 'wide', autocomplete: 'off', hidden: true,
    placeholder: 'user ID or LOGIN_NAME:… / EMAIL:… / PHONE:…',
  });
  scopeKind.addEventListener('change', () => {
    scopeID.hidden = scopeKind.value === 'app';
    scopeID.placeholder = scopeKind.value === 'group' ? 'group ID' : 'user ID or LOGIN_NAME:… / EMAIL:… / PHONE:…';
  });
  const bucketName = el('input', { type: 'text', id: 'data-bucket-name', autocomplete: 'off', placeholder: 'bucket name' });
  const scopeForm = el('form', { id: 'data-scope-form', class: 'log-controls' },
    el('label', {}, 'Buckets of', scopeKind), scopeID,
    el('button', { type: 'submit', class: 'primary', id: 'data-list' }, 'List buckets'),
    el('label', {}, 'or open a bucket by name', bucketName),
    el('button', { type: 'button', id: 'data-open-bucket' }, 'Open'));

  async function chooseScope() {
    const kind = scopeKind.value;
    const id = scopeID.value.trim();
    if (kind === 'app') return { kind, id: '' };
    if (!id) throw new Error(`Give the ${kind}'s ID.`);
    if (kind === 'user' && id.includes(':')) {
      // An address (LOGIN_NAME:…): the REST API finds the user, the listing wants its ID.
      const res = await api.call('GET', path(`/users/${encodeURIComponent(id)}`), { token: app.token });
      return { kind, id: res.body.userID };
    }
    return { kind, id };
  }

  let bucketKeys = [];
  async function listBuckets(key) {
    const query = new URLSearchParams({ limit: '50' });
    if (key) query.set('paginationKey', key);
    if (scope.kind === 'user') query.set('userID', scope.id);
    if (scope.kind === 'group') query.set('groupID', scope.id);
    let res;
    try {
      res = await api.call('GET', path(`/console/buckets?${query}`), { token: app.token });
    } catch (error) {
      bucketsBox.replaceChildren(errorBox(api.describe(error)));
      return;
    }
    const buckets = Array.isArray(res.body.buckets) ? res.body.buckets : [];
    const next = res.body.nextPaginationKey || null;
    const prev = el('button', { type: 'button', id: 'data-buckets-prev', disabled: bucketKeys.length === 0 }, 'Previous page');
    const more = el('button', { type: 'button', id: 'data-buckets-next', disabled: !next }, 'Next page');
    prev.addEventListener('click', () => { bucketKeys.pop(); listBuckets(bucketKeys[bucketKeys.length - 1] || null); });
    more.addEventListener('click', () => { bucketKeys.push(next); listBuckets(next); });
    const table = buckets.length === 0
      ? el('p', { class: 'muted', id: 'data-no-buckets' },
        `No buckets in ${scopeLabel(scope)} yet. A bucket appears with its first object: open one by name and create an object.`)
      : el('table', { id: 'data-bucket-table' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Bucket'), el('th', {}, 'Created (local)'), el('th', {}, 'Creator'), el('th', {}, ''))),
        el('tbody', {}, buckets.map((b) => {
          const created = formatTime(b.createdAt);
          return el('tr', { 'data-bucket': String(b.bucketID) },
            el('td', { class: 'id' }, String(b.bucketID)),
            el('td', { title: `UTC ${created.utc}` }, created.local),
            el('td', { class: 'id' }, b.creator ? String(b.creator) : '—'),
            el('td', {}, el('button', { type: 'button', class: 'open', onclick: () => openBucket(String(b.bucketID)) }, 'Open')));
        })));
    bucketsBox.replaceChildren(
      el('h2', {}, `Buckets of ${scopeLabel(scope)}`), table,
      el('div', { class: 'actions pager' }, prev, el('span', { class: 'muted' }, `Page ${bucketKeys.length + 1}`), more));
  }

  scopeForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    say(null);
    try {
      scope = await chooseScope();
    } catch (error) {
      say(errorBox(api.describe(error)));
      return;
    }
    bucketKeys = [];
    bucketBox.replaceChildren();
    objectBox.replaceChildren();
    await listBuckets(null);
  });
  scopeForm.querySelector('#data-open-bucket').addEventListener('click', async () => {
    say(null);
    const name = bucketName.value.trim();
    if (!BUCKET_NAME.test(name)) {
      say(errorBox('A bucket name has 2 to 64 letters, digits, _ or -.'));
      return;
    }
    try {
      scope = await chooseScope();
    } catch (error) {
      say(errorBox(api.describe(error)));
      return;
    }
    openBucket(name);
  });

  // ---- one bucket: query, results, create ------------------------------------------------
  function openBucket(name) {
    objectBox.replaceChildren();
    const base = `${scopePath(scope)}/buckets/${encodeURIComponent(name)}`;
    const where = { scope: { ...scope }, name, base };
    const field = el('input', { type: 'text', id: 'data-q-field', autocomplete: 'off', placeholder: 'field (empty: all)' });
    const op = el('select', { id: 'data-q-op' }, OPERATORS.map(([v, label]) => el('option', { value: v }, label)));
    const value = el('input', { type: 'text', id: 'data-q-value', autocomplete: 'off', placeholder: '10, true, "text" or text' });
    const clause = el('textarea', { id: 'data-q-clause', spellcheck: 'false' });
    clause.value = '{"type": "all"}';
    const orderBy = el('input', { type: 'text', id: 'data-q-order', autocomplete: 'off', value: '_created', placeholder: 'none' });
    const descending = el('input', { type: 'checkbox', id: 'data-q-desc', checked: true });
    const size = el('input', { type: 'number', id: 'data-q-size', min: '1', max: '200', value: '20' });
    const results = el('div', { id: 'data-results' });
    let keys = [];

    async function runQuery(key) {
      let parsed;
      try {
        parsed = JSON.parse(clause.value);
      } catch (error) {
        results.replaceChildren(errorBox(`The clause is not JSON: ${error.message}`));
        return;
      }
      const bucketQuery = { clause: parsed };
      if (orderBy.value.trim()) {
        bucketQuery.orderBy = orderBy.value.trim();
        bucketQuery.descending = descending.checked;
      }
      const body = { bucketQuery, bestEffortLimit: Math.min(200, Math.max(1, Number(size.value) || 20)) };
      if (key) body.paginationKey = key;
      let res;
      try {
        res = await api.call('POST', path(`${base}/query`), { token: app.token, json: body, contentType: QUERY_TYPE });
      } catch (error) {
        results.replaceChildren(error.body && error.body.errorCode === 'BUCKET_NOT_FOUND'
          ? el('p', { class: 'muted', id: 'data-empty' }, 'This bucket has no object yet: it is made by the first one you create.')
          : errorBox(api.describe(error)));
        return;
      }
      const objects = Array.isArray(res.body.results) ? res.body.results : [];
      const next = res.body.nextPaginationKey || null;
      const prev = el('button', { type: 'button', id: 'data-prev', disabled: keys.length === 0 }, 'Previous page');
      const more = el('button', { type: 'button', id: 'data-next', disabled: !next }, 'Next page');
      prev.addEventListener('click', () => { keys.pop(); runQuery(keys[keys.length - 1] || null); });
      more.addEventListener('click', () => { keys.push(next); runQuery(next); });
      results.replaceChildren(
        objects.length === 0
          ? el('p', { class: 'muted', id: 'data-empty' }, 'No object matches.')
          : objectTable(objects, (o) => openObject(where, String(o._id))),
        el('div', { class: 'actions pager' }, prev, el('span', { class: 'muted', id: 'data-page' }, `Page ${keys.length + 1}`), more));
    }

    const queryForm = el('form', { id: 'data-query-form' },
      el('div', { class: 'log-controls' },
        el('label', {}, 'Field', field), el('label', {}, 'Operator', op), el('label', {}, 'Value', value),
        el('button', { type: 'submit', class: 'primary', id: 'data-q-run-form' }, 'Query')),
      el('p', { class: 'muted' }, 'The form writes its clause below; or edit the clause as JSON and run it.'),
      el('label', { class: 'block' }, 'Clause (JSON)', clause),
      el('div', { class: 'log-controls' },
        el('button', { type: 'button', id: 'data-q-run-json' }, 'Run the JSON clause'),
        el('button', { type: 'button', id: 'data-q-count' }, 'Count matches'),
        el('span', { id: 'data-count', class: 'muted' }),
        el('label', {}, 'Order by', orderBy),
        el('label', { class: 'inline' }, descending, 'descending'),
        el('label', {}, 'Page size', size)));
    queryForm.addEventListener('submit', (event) => {
      event.preventDefault();
      try {
        clause.value = JSON.stringify(formClause(field.value.trim(), op.value, value.value.trim()));
      } catch (error) {
        results.replaceChildren(errorBox(api.describe(error)));
        return;
      }
      keys = [];
      runQuery(null);
    });
    queryForm.querySelector('#data-q-run-json').addEventListener('click', () => { keys = []; runQuery(null); });
    // Counting reads every match, so it is asked for, not done with each query.
    const countBox = queryForm.querySelector('#data-count');
    queryForm.querySelector('#data-q-count').addEventListener('click', async () => {
      countBox.replaceChildren('Counting…');
      try {
        const bucketQuery = {
          clause: JSON.parse(clause.value),
          aggregations: [{ type: 'COUNT', putAggregationInto: 'count' }],
        };
        const res = await api.call('POST', path(`${base}/query`), { token: app.token, json: { bucketQuery }, contentType: QUERY_TYPE });
        const n = res.body && res.body.aggregations ? res.body.aggregations.count : undefined;
        countBox.replaceChildren(`${n} ${n === 1 ? 'object matches' : 'objects match'}`);
      } catch (error) {
        countBox.replaceChildren(error.body && error.body.errorCode === 'BUCKET_NOT_FOUND'
          ? '0 objects match' : errorBox(api.describe(error)));
      }
    });

    const newFields = el('textarea', { id: 'data-new-json', spellcheck: 'false' });
    newFields.value = '{\n  \n}';
    const newType = el('input', { type: 'text', id: 'data-new-type', autocomplete: 'off', placeholder: 'optional, e.g. score' });
    const createStatus = el('div', { id: 'data-create-status' });
    const create = el('button', { type: 'button', class: 'primary', id: 'data-create' }, 'Create object');
    create.addEventListener('click', async () => {
      let fields;
      try {
        fields = JSON.parse(newFields.value);
      } catch (error) {
        createStatus.replaceChildren(errorBox(`Not JSON: ${error.message}`));
        return;
      }
      if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
        createStatus.replaceChildren(errorBox('An object is a JSON object: {"field": value, …}.'));
        return;
      }
      const type = newType.value.trim();
      try {
        const res = await api.call('POST', path(`${base}/objects`), {
          token: app.token, json: fields,
          contentType: type ? `application/vnd.${app.appID}.${type}+json` : undefined,
        });
        createStatus.replaceChildren(el('p', { class: 'ok' }, 'Created object ', el('code', { id: 'data-created-id' }, String(res.body.objectID)), '.'));
        keys = [];
        await runQuery(null);
        await openObject(where, String(res.body.objectID));
        // The first object makes the bucket: show it in the list.
        if (!bucketsBox.querySelector(`tr[data-bucket="${CSS.escape(name)}"]`)) {
          await listBuckets(bucketKeys[bucketKeys.length - 1] || null);
        }
      } catch (error) {
        createStatus.replaceChildren(errorBox(api.describe(error)));
      }
    });

    const aclBox = el('div', { id: 'data-bucket-acl' });
    const showAcl = el('button', { type: 'button', id: 'data-bucket-acl-show' }, 'Bucket ACL');
    showAcl.addEventListener('click', () => aclPanel(app, path(`${base}/acl`), BUCKET_ACTIONS, aclBox, 'data-bucket-acl'));

    bucketBox.replaceChildren(el('section', { class: 'panel', id: 'data-bucket-panel', 'data-bucket': name },
      el('h2', {}, 'Bucket ', el('code', {}, name), ` of ${scopeLabel(scope)}`),
      queryForm, results,
      el('details', { id: 'data-new' }, el('summary', {}, 'New object'),
        el('label', {}, 'Fields (a JSON object)', newFields), el('label', {}, 'Data type', newType), create, createStatus),
      el('div', { class: 'actions' }, showAcl), aclBox));
    runQuery(null);
  }

  // ---- one object: JSON, edit, delete, ACL -----------------------------------------------
  async function openObject(where, id) {
    const objectPath = path(`${where.base}/objects/${encodeURIComponent(id)}`);
    let doc;
    try {
      doc = (await api.call('GET', objectPath, { token: app.token })).body;
    } catch (error) {
      objectBox.replaceChildren(errorBox(api.describe(error)));
      return;
    }
    const created = formatTime(doc._created);
    const modified = formatTime(doc._modified);
    const editStatus = el('div', { id: 'data-edit-status' });
    const editor = el('textarea', { id: 'data-edit-json', spellcheck: 'false', class: 'tall' });
    editor.value = prettyJson(customFields(doc));
    const save = el('button', { type: 'button', class: 'primary', id: 'data-save' }, 'Save (replace the fields)');
    save.addEventListener('click', async () => {
      let fields;
      try {
        fields = JSON.parse(editor.value);
      } catch (error) {
        editStatus.replaceChildren(errorBox(`Not JSON: ${error.message}`));
        return;
      }
      if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
        editStatus.replaceChildren(errorBox('An object is a JSON object: {"field": value, …}.'));
        return;
      }
      try {
        // If-Match: a change made meanwhile is refused (409) instead of overwritten.
        await api.call('PUT', objectPath, {
          token: app.token, json: fields,
          contentType: doc._dataType ? `application/vnd.${app.appID}.${doc._dataType}+json` : undefined,
          headers: { 'If-Match': String(doc._version) },
        });
        await openObject(where, id);
        objectBox.querySelector('#data-edit-status').replaceChildren(el('p', { class: 'ok' }, 'Saved.'));
      } catch (error) {
        editStatus.replaceChildren(errorBox(api.describe(error)));
      }
    });
    const remove = el('button', { type: 'button', class: 'danger', id: 'data-delete' }, 'Delete object');
    remove.addEventListener('click', async () => {
      if (!window.confirm(`Delete object ${id}? This cannot be undone.`)) return;
      try {
        await api.call('DELETE', objectPath, { token: app.token });
        objectBox.replaceChildren(el('p', { class: 'ok', id: 'data-deleted' }, `Object ${id} deleted.`));
        const rerun = document.getElementById('data-q-run-json');
        if (rerun) rerun.click();
      } catch (error) {
        editStatus.replaceChildren(errorBox(api.describe(error)));
      }
    });
    const aclBox = el('div', { id: 'data-acl' });
    objectBox.replaceChildren(el('section', { class: 'panel', id: 'data-object-panel', 'data-object': id },
      el('h2', {}, 'Object ', el('code', {}, id)),
      el('dl', { class: 'facts' },
        el('dt', {}, 'Owner'), el('dd', { id: 'data-owner' }, doc._owner ? String(doc._owner) : '—'),
        el('dt', {}, 'Version'), el('dd', { id: 'data-version' }, String(doc._version ?? '')),
        el('dt', {}, 'Data type'), el('dd', {}, doc._dataType ? String(doc._dataType) : '—'),
        el('dt', {}, 'Created'), el('dd', { title: `UTC ${created.utc}` }, created.local),
        el('dt', {}, 'Modified'), el('dd', { title: `UTC ${modified.utc}` }, modified.local)),
      el('h3', {}, 'JSON'),
      el('pre', { class: 'json', id: 'data-object-json' }, prettyJson(doc)),
      el('details', { id: 'data-edit' }, el('summary', {}, 'Edit'),
        el('p', { class: 'muted' }, 'The object\'s fields become exactly these (fields starting with _ are the server\'s).'),
        editor, el('div', { class: 'actions' }, save)),
      el('div', { class: 'actions' }, remove),
      editStatus,
      el('h3', {}, 'ACL'), aclBox));
    await aclPanel(app, `${objectPath}/acl`, OBJECT_ACTIONS, aclBox, 'data-acl');
    objectBox.scrollIntoView({ block: 'nearest' });
  }

  main.append(
    el('h1', {}, 'Data'),
    el('section', { class: 'panel' }, scopeForm),
    status,
    el('section', { class: 'panel' }, bucketsBox),
    bucketBox,
    objectBox,
  );

  // #/data?bucket=… [&user=… | &group=…]: the Users page links here.
  const user = params && params.get('user');
  const group = params && params.get('group');
  if (user || group) {
    scopeKind.value = user ? 'user' : 'group';
    scopeID.value = user || group;
    scopeID.hidden = false;
    scope = { kind: scopeKind.value, id: scopeID.value };
  }
  await listBuckets(null);
}

/** The object's own fields, without the server's (`_id`, `_version`, …). */
function customFields(doc) {
  const out = {};
  for (const [k, v] of Object.entries(doc || {})) if (!k.startsWith('_')) out[k] = v;
  return out;
}

function objectTable(objects, onOpen) {
  return el('table', { id: 'data-table' },
    el('thead', {}, el('tr', {},
      el('th', {}, 'ID'), el('th', {}, 'Modified (local)'), el('th', {}, 'Version'), el('th', {}, 'Fields'), el('th', {}, ''))),
    el('tbody', {}, objects.map((o) => {
      const modified = formatTime(o._modified);
      let preview = JSON.stringify(customFields(o)) || '';
      if (preview.length > PREVIEW_CHARS) preview = `${preview.slice(0, PREVIEW_CHARS)}…`;
      return el('tr', { 'data-object': String(o._id) },
        el('td', { class: 'id' }, String(o._id)),
        el('td', { title: `UTC ${modified.utc}` }, modified.local),
        el('td', {}, String(o._version ?? '')),
        el('td', { class: 'preview' }, preview),
        el('td', {}, el('button', { type: 'button', class: 'open', onclick: () => onOpen(o) }, 'Open')));
    })));
}

/** `{"userID": "x"}` → `UserID:x`, the form an ACL path takes. */
function subjectOf(entry) {
  if (entry && entry.userID) return `UserID:${entry.userID}`;
  if (entry && entry.groupID) return `GroupID:${entry.groupID}`;
  if (entry && entry.thingID) return `ThingID:${entry.thingID}`;
  return null;
}

/** An ACL (GET `aclPath`) as a table, with revoke per entry and a grant form. */
async function aclPanel(app, aclPath, actions, box, idPrefix) {
  const status = el('div', { id: `${idPrefix}-status` });
  let acl;
  try {
    acl = (await api.call('GET', aclPath, { token: app.token })).body || {};
  } catch (error) {
    box.replaceChildren(errorBox(api.describe(error)));
    return;
  }
  const reload = () => aclPanel(app, aclPath, actions, box, idPrefix);
  const change = async (method, action, subject) => {
    try {
      await api.call(method, `${aclPath}/${encodeURIComponent(action)}/${encodeURIComponent(subject)}`, { token: app.token });
      await reload();
    } catch (error) {
      status.replaceChildren(errorBox(api.describe(error)));
    }
  };
  const rows = [];
  for (const action of Object.keys(acl)) {
    for (const entry of Array.isArray(acl[action]) ? acl[action] : []) {
      const subject = subjectOf(entry);
      if (!subject) continue;
      rows.push(el('tr', { 'data-action': action, 'data-subject': subject },
        el('td', {}, action), el('td', { class: 'id' }, subject),
        el('td', {}, el('button', { type: 'button', class: 'revoke danger', onclick: () => change('DELETE', action, subject) }, 'Revoke'))));
    }
  }
  const action = el('select', { id: `${idPrefix}-action` }, actions.map((a) => el('option', { value: a }, a)));
  const subject = el('input', {
    type: 'text', id: `${idPrefix}-subject`, class: 'wide', autocomplete: 'off',
    placeholder: 'UserID:…, GroupID:…, UserID:ANONYMOUS_USER, UserID:ANY_AUTHENTICATED_USER',
  });
  const grant = el('button', { type: 'button', id: `${idPrefix}-grant` }, 'Grant');
  grant.addEventListener('click', () => {
    const s = subject.value.trim();
    if (!/^(UserID|GroupID|ThingID):.+/.test(s)) {
      status.replaceChildren(errorBox('A subject is UserID:…, GroupID:… or ThingID:….'));
      return;
    }
    change('PUT', action.value, s);
  });
  box.replaceChildren(
    rows.length === 0
      ? el('p', { class: 'muted', id: `${idPrefix}-empty` }, 'No entry: only the admin (and the owner, for an object) may act.')
      : el('table', { id: `${idPrefix}-table` },
        el('thead', {}, el('tr', {}, el('th', {}, 'Action'), el('th', {}, 'Subject'), el('th', {}, ''))),
        el('tbody', {}, rows)),
    el('div', { class: 'log-controls' }, el('label', {}, 'Action', action), el('label', {}, 'Subject', subject), grant),
    status);
}
